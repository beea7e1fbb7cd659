// The rollback window (`--keep-old`): after cutover the old fleet is deregistered and its hosts
// set to standby, but kept running, until `finish`, `shrink` or `rollback` (finish.ts).
import { type Deployment, save, timed } from './context.js';
import { STEP_MS } from './deadlines.js';
import type { Emit } from './events.js';
import { type Leftover, orLeftover } from './leftovers.js';
import { type Outcome, recordOutcome } from './outcome.js';
import { type DeployRecord, launchedIds, oldIds } from './record.js';
import type { RoleSpec } from './spec.js';
import { KEPT, TAG_STATE } from './tags.js';

/** When the window ends (epoch ms); undefined when unknown (a record rebuilt from AWS). */
export const keptUntil = (record: Pick<DeployRecord, 'keep' | 'keptSince'>): number | undefined =>
  record.keep && record.keptSince !== undefined ? record.keptSince + record.keep.forMs : undefined;

/** The old instances a kept deploy still has running. */
export const keptIds = (record: DeployRecord): string[] => oldIds(record).filter((id) => !record.terminated.includes(id));

/**
 * After cutover: the old hosts to standby (monitored, no notifications) and the new instances
 * tagged kept, so a deploy started on another machine sees the kept fleet. Idempotent.
 */
export const keepOldFleet = async (run: Deployment): Promise<Outcome> => {
  const { deps, record } = run;
  const call = { signal: deps.clock.deadline(STEP_MS) };
  const leftovers: Leftover[] = [];
  const fix = `mackerel-replacer resume ${record.deployId}`;
  record.step = 'terminate';
  record.keptSince ??= deps.clock.now();
  await save(run);
  await timed(run, 'keep', async () => {
    const hostIds = record.snapshot.filter((member) => keptIds(record).includes(member.instanceId)).map((member) => member.hostId);
    await orLeftover(leftovers, 'could not set the old hosts to standby', fix, () => deps.monitor.setStatus(hostIds, 'standby', call));
    await orLeftover(leftovers, 'could not tag the new instances kept', fix, () =>
      deps.fleet.tag(launchedIds(record), { [TAG_STATE]: KEPT }, call),
    );
    deps.emit({
      type: 'step.done',
      phase: 'keep',
      what: 'kept the old instances running, deregistered, hosts in standby',
      ids: keptIds(record),
    });
  });
  record.reason = leftovers.length > 0 ? 'the new fleet is serving, but the old one was not fully set aside' : undefined;
  return recordOutcome(run, leftovers, {
    kind: 'kept',
    deployId: record.deployId,
    keptUntil: keptUntil(record) ?? deps.clock.now(),
    kept: keptIds(record),
  });
};

/** The kept deploys of the role in the journal whose window has ended. */
export const endedWindows = (records: readonly DeployRecord[], spec: Pick<RoleSpec, 'env' | 'role'>, now: number): DeployRecord[] =>
  records.filter((record) => {
    if (record.status !== 'kept' || record.env !== spec.env || record.role !== spec.role) return false;
    const until = keptUntil(record);
    return until !== undefined && until <= now;
  });

/** Says, for every kept deploy of the role whose window has ended, since when and how to finish it. */
export const reportEndedWindows = (
  records: readonly DeployRecord[],
  spec: Pick<RoleSpec, 'env' | 'role'>,
  deps: { readonly clock: { now(): number }; readonly emit: Emit },
): void => {
  for (const record of endedWindows(records, spec, deps.clock.now())) {
    deps.emit({
      type: 'warning',
      message: `deploy ${record.deployId}'s rollback window ended at ${new Date(keptUntil(record)!).toISOString()}; its old instances ${keptIds(record).join(', ')} still run: mackerel-replacer finish ${record.deployId}`,
    });
  }
};
