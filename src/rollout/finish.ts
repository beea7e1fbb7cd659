// Ending a rollback window: `finish <id>` terminates and retires the kept old fleet, `shrink <id>`
// terminates part of it, and a new deploy of the role first settles what an earlier one keeps.
import { type Deployment, type Deps, save, timed } from './context.js';
import { retireOld, terminateOld } from './cutover.js';
import { putBackOld } from './deploy.js';
import type { Leftover } from './leftovers.js';
import { UsageError } from './errors.js';
import { endedWindows, keptIds, keptUntil, reportEndedWindows } from './keep.js';
import type { Outcome } from './outcome.js';
import { recordOutcome } from './outcome.js';
import type { Call } from './ports.js';
import type { DeployRecord } from './record.js';
import { type Finished, finishedAlready, load, proceed } from './resume.js';
import { NotServing } from './serving.js';
import type { Member } from './snapshot.js';
import type { RoleSpec } from './spec.js';
import { KEPT, TAG_DEPLOY, TAG_OWNER, TAG_STATE, ownerValue } from './tags.js';

/** `shrink --to`: how many old instances stay running. */
export type ShrinkTarget = { readonly count: number } | { readonly percent: number };

const keptRun = async (action: 'finish' | 'shrink', spec: RoleSpec, deployId: string, deps: Deps, signal: AbortSignal) => {
  const run = await load(action, spec, deployId, deps, signal);
  const finished = finishedAlready(run.record);
  if (!finished && run.record.status !== 'kept') {
    throw new UsageError(
      `deploy ${deployId} keeps no old fleet: it is ${run.record.status} at ${run.record.step}`,
      `mackerel-replacer status ${deployId} says what it needs`,
    );
  }
  return { run, finished };
};

/** Ends the window: the rest of the flow (terminate with the ownership re-check, retire, mark done). */
const finishRun = (run: Deployment): Promise<Outcome> => {
  delete run.record.keep;
  return proceed(run);
};

/** `finish <id>`. */
export const finishKept = async (spec: RoleSpec, deployId: string, deps: Deps, signal: AbortSignal): Promise<Outcome | Finished> => {
  const { run, finished } = await keptRun('finish', spec, deployId, deps, signal);
  return finished ?? finishRun(run);
};

/** How many of `total` old instances `--to` leaves running. */
export const shrinkCount = (to: ShrinkTarget, total: number): number => ('count' in to ? to.count : Math.ceil((total * to.percent) / 100));

/**
 * Which running old instances to terminate so that `keep` stay, AZs balanced: each one taken
 * from the AZ that has the most left (ties: the AZ first by name, the highest instance id).
 */
export const chooseShrink = (running: readonly Member[], keep: number): string[] => {
  const byAz = new Map<string, string[]>();
  for (const member of running) byAz.set(member.az, [...(byAz.get(member.az) ?? []), member.instanceId].sort());
  const chosen: string[] = [];
  for (let left = running.length; left > keep; left--) {
    const [az] = [...byAz.entries()].sort(([a, x], [b, y]) => y.length - x.length || (a < b ? -1 : 1))[0]!;
    chosen.push(byAz.get(az)!.pop()!);
  }
  return chosen.sort();
};

/** `shrink <id> --to N|P%`: terminates part of the kept fleet, AZs balanced; the rest stays kept. */
export const shrinkKept = async (
  spec: RoleSpec,
  deployId: string,
  to: ShrinkTarget,
  deps: Deps,
  signal: AbortSignal,
): Promise<Outcome | Finished> => {
  const { run, finished } = await keptRun('shrink', spec, deployId, deps, signal);
  if (finished) return finished;
  const { record } = run;
  const running = record.snapshot.filter((member) => keptIds(record).includes(member.instanceId));
  const keep = shrinkCount(to, record.snapshot.length);
  if (keep >= running.length) {
    throw new UsageError(
      `deploy ${deployId} keeps ${running.length} old instances; --to leaves ${keep}: nothing to terminate`,
      `give a smaller --to, or end the window with mackerel-replacer finish ${deployId}`,
    );
  }
  if (keep === 0) throw new UsageError('--to leaves no old instance', `end the window with mackerel-replacer finish ${deployId}`);
  const chosen = chooseShrink(running, keep);
  let leftovers: Leftover[];
  try {
    leftovers = await timed(run, 'shrink', async () => [...(await terminateOld(run, chosen)), ...(await retireOld(run))]);
  } catch (error) {
    if (error instanceof NotServing) return putBackOld(run, error.message);
    throw error;
  }
  await save(run);
  return recordOutcome(run, leftovers, { kind: 'kept', deployId, keptUntil: keptUntil(record) ?? deps.clock.now(), kept: keptIds(record) });
};

/** Kept deploys of the role: in the journal, and as the kept tag on instances in AWS (a deploy of another machine). */
const keptDeploys = async (spec: RoleSpec, deps: Deps, call: Call): Promise<{ records: DeployRecord[]; ids: string[] }> => {
  const records = (await deps.journal.list()).filter((r) => r.env === spec.env && r.role === spec.role);
  const ids = new Set(records.filter((record) => record.status === 'kept').map((record) => record.deployId));
  for (const instance of await deps.fleet.findByTag(TAG_STATE, KEPT, call)) {
    const deployId = instance.tags[TAG_DEPLOY];
    if (deployId && instance.tags[TAG_OWNER] === ownerValue(spec) && !records.some((r) => r.deployId === deployId && r.status !== 'kept')) {
      ids.add(deployId);
    }
  }
  return { records, ids: [...ids].sort() };
};

/**
 * Before a new deploy of the role (or its plan): an earlier deploy that keeps an old fleet refuses
 * it, unless `finishPrevious` or its window ended with `then: finish`. Returns the deploys to finish
 * first; changes nothing.
 */
export const keptToFinish = async (
  spec: RoleSpec,
  deps: Deps,
  call: Call,
  { finishPrevious }: { readonly finishPrevious: boolean },
): Promise<string[]> => {
  const { records, ids } = await keptDeploys(spec, deps, call);
  reportEndedWindows(records, spec, deps);
  const due = new Set(
    endedWindows(records, spec, deps.clock.now())
      .filter((record) => record.keep?.finishWhenOver === true)
      .map((record) => record.deployId),
  );
  const refused = ids.filter((id) => !finishPrevious && !due.has(id));
  if (refused.length > 0) {
    throw new UsageError(
      `deploy ${refused.join(', ')} of ${spec.env}/${spec.role} still keeps its old fleet; a new deploy would replace a fleet that may be rolled back to`,
      `end its window first: mackerel-replacer finish ${refused[0]} (or roll it back: mackerel-replacer rollback ${refused[0]}); or pass --finish-previous`,
    );
  }
  return ids;
};

/** Finishes the deploys keptToFinish named. Returns the outcome of a finish that did not end replaced (the new deploy must not start then). */
export const finishAll = async (
  spec: RoleSpec,
  deployIds: readonly string[],
  deps: Deps,
  signal: AbortSignal,
): Promise<Outcome | undefined> => {
  for (const deployId of deployIds) {
    const outcome = await finishKept(spec, deployId, deps, signal);
    if (outcome.kind !== 'replaced' && outcome.kind !== 'finished') return outcome;
  }
  return undefined;
};
