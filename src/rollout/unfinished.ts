// `recover --env E --role R`: the role's deploys that are not finished, found in the journal or,
// when it lacks them, through their instances' tags in AWS, and the safe thing to do with each.
import type { Deps } from './context.js';
import { UsageError } from './errors.js';
import type { Call } from './ports.js';
import { type DeployRecord, isOpen } from './record.js';
import { recoverRecord } from './recovery.js';
import type { RoleSpec } from './spec.js';
import { HELD, IN_FLIGHT, KEPT, TAG_DEPLOY, TAG_OWNER, TAG_REPLACED_BY, TAG_STATE, ownerValue } from './tags.js';

/** What `recover` does to an unfinished deploy: roll it back, resume it to the end, or leave it as it is. */
export type Recovery = { readonly act: 'rollback' | 'resume'; readonly why: string } | { readonly act: 'leave'; readonly why: string };

/**
 * The safe thing for a deploy in the state its record gives: before cutover its new side is
 * undone (the old fleet still serves); once cutover has begun it is carried to the end; a held
 * deploy is undone unless it is to be kept; a kept one waits for a person's `finish` or `rollback`.
 */
export const chooseRecovery = (
  record: Pick<DeployRecord, 'deployId' | 'status' | 'step' | 'cutoverBegun' | 'terminated'>,
  { keepHeld }: { readonly keepHeld: boolean },
): Recovery => {
  const { deployId, status, step } = record;
  switch (status) {
    case 'replaced':
    case 'rolled-back':
    case 'abandoned':
      return { act: 'leave', why: `${status}: nothing to do` };
    case 'kept':
      return { act: 'leave', why: `kept: left as it is; end its window with mackerel-replacer finish ${deployId}` };
    case 'held':
      return keepHeld
        ? { act: 'leave', why: `held: left as it is (--keep-held); switch it with mackerel-replacer cutover ${deployId}` }
        : { act: 'rollback', why: 'held before cutover: rolling it back (the old fleet still serves)' };
    case 'rolling-back':
      return { act: 'rollback', why: `rolling back at ${step}: finishing its rollback` };
    case 'running':
    case 'interrupted':
    case 'incomplete':
      return record.cutoverBegun || record.terminated.length > 0
        ? { act: 'resume', why: `${status} at ${step}, past cutover: resuming it to the end` }
        : { act: 'rollback', why: `${status} at ${step}, before cutover: rolling it back (the old fleet still serves)` };
  }
};

/**
 * The role's deploys that are not finished (open, or kept), by id: the journal's records, and for
 * each deploy whose instances in AWS say it is in flight, held or kept, or whose old instances
 * still name it as their replacement, the record rebuilt from those tags when the journal lacks it.
 */
export const findUnfinished = async (spec: RoleSpec, deps: Deps, call: Call): Promise<DeployRecord[]> => {
  const records = (await deps.journal.list()).filter((record) => record.env === spec.env && record.role === spec.role);
  const known = new Set(records.map((record) => record.deployId));
  const [launched, owned] = await Promise.all([
    deps.fleet.findByTag(TAG_STATE, [IN_FLIGHT, HELD, KEPT], call),
    deps.fleet.findByTag(spec.ownership.tag, spec.ownership.value, call),
  ]);
  const seen = new Set([
    ...launched.filter((i) => i.tags[TAG_OWNER] === ownerValue(spec)).map((i) => i.tags[TAG_DEPLOY]),
    ...owned.map((i) => i.tags[TAG_REPLACED_BY]),
  ]);
  const rebuilt: DeployRecord[] = [];
  for (const deployId of [...seen].sort()) {
    if (deployId === undefined || known.has(deployId)) continue;
    const record = await recoverRecord(spec, deployId, deps, deps.clock.now(), call);
    if (record) rebuilt.push(record);
  }
  return [...records, ...rebuilt]
    .filter((record) => isOpen(record) || record.status === 'kept')
    .sort((a, b) => (a.deployId < b.deployId ? -1 : 1));
};

/** The role's unfinished deploys, what recover makes of each, and the one it acts on (if any). */
export interface RoleRecovery {
  readonly choices: readonly { readonly record: DeployRecord; readonly recovery: Recovery }[];
  readonly act?: { readonly deployId: string; readonly act: 'rollback' | 'resume' };
}

/** Finds the role's unfinished deploys and chooses for each; two to act on are for a person to order. */
export const planRecovery = async (
  spec: RoleSpec,
  deps: Deps,
  call: Call,
  options: { readonly keepHeld: boolean },
): Promise<RoleRecovery> => {
  const choices = (await findUnfinished(spec, deps, call)).map((record) => ({ record, recovery: chooseRecovery(record, options) }));
  const acts = choices.flatMap(({ record, recovery }) =>
    recovery.act === 'leave' ? [] : [{ deployId: record.deployId, act: recovery.act }],
  );
  if (acts.length > 1) {
    const ids = acts.map(({ deployId }) => deployId);
    throw new UsageError(
      `${ids.length} deploys of ${spec.env}/${spec.role} are unfinished (${ids.join(', ')}): which to undo or finish first is for a person`,
      `mackerel-replacer status ${ids[0]} says where each stands; then rollback or resume each by its id`,
    );
  }
  return { choices, ...(acts[0] && { act: acts[0] }) };
};
