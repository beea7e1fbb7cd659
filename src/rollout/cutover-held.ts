// `cutover <id>`: a held deploy goes on. The new fleet is registered (if the hold did not) and
// verified again, both gates, before the old fleet is touched; from the journal, or from the
// instances' tags when this machine has none.
import type { Deps } from './context.js';
import { STEP_MS } from './deadlines.js';
import { UsageError } from './errors.js';
import type { Outcome } from './outcome.js';
import { launchedIds } from './record.js';
import { type Finished, finishedAlready, load, proceed } from './resume.js';
import type { RoleSpec } from './spec.js';
import { IN_FLIGHT, TAG_STATE } from './tags.js';

export const cutoverHeld = async (spec: RoleSpec, deployId: string, deps: Deps, signal: AbortSignal): Promise<Outcome | Finished> => {
  const run = await load('cutover', spec, deployId, deps, signal);
  const { record } = run;
  const finished = finishedAlready(record);
  if (finished) return finished;
  // A held deploy whose tag was never written (recovery.ts) reads as interrupted before cutover.
  const held = record.status === 'held' || (record.status === 'interrupted' && record.step === 'launch');
  if (!held) {
    throw new UsageError(
      `deploy ${deployId} is not held before cutover: it is ${record.status} at ${record.step}`,
      `mackerel-replacer status ${deployId} says what it needs`,
    );
  }
  // No longer held: a crash from here on is resumed (and rebuilt from AWS as interrupted), not cut over again.
  await deps.fleet.tag(launchedIds(record), { [TAG_STATE]: IN_FLIGHT }, { signal: deps.clock.deadline(STEP_MS) });
  delete record.hold;
  record.step = 'launch';
  return proceed(run);
};
