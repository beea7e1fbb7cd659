// Staged cutover (`replace --hold`): the new fleet is launched and verified beside the old one,
// which keeps serving; `cutover <id>` goes on from there, from any machine.
import { type Deployment, setStatus } from './context.js';
import { STEP_MS } from './deadlines.js';
import { message } from './errors.js';
import type { Outcome } from './outcome.js';
import { type DeployRecord, type HoldPolicy, type KeepPolicy, launchedIds } from './record.js';
import type { RoleSpec } from './spec.js';
import { HELD, TAG_STATE } from './tags.js';

/** The record's keep and hold policies: the options over the role's config. */
export const keepAndHold = (
  spec: RoleSpec,
  options: { readonly keepOld?: KeepPolicy; readonly hold?: boolean },
): { keep?: KeepPolicy; hold?: HoldPolicy } => {
  const keep = options.keepOld ?? spec.keepOld;
  return { ...(keep && { keep }), ...(options.hold && { hold: spec.hold ?? { register: false } }) };
};

/** Whether the new targets are registered before cutover: always, except in a hold that registers only at cutover. */
export const registersNow = (record: Pick<DeployRecord, 'hold'>): boolean => record.hold === undefined || record.hold.register;

/**
 * What verification checks. A target that is not registered has no health, so a hold that does
 * not register verifies the Mackerel gate alone; `cutover` then registers and verifies both
 * gates before the old fleet is touched.
 */
export const verifiedSpec = (spec: RoleSpec, record: Pick<DeployRecord, 'hold'>): RoleSpec =>
  registersNow(record) ? spec : { ...spec, targetGroups: [] };

/**
 * The new fleet is verified: the deploy stops here, the old fleet untouched and serving. The new
 * instances are tagged held, so a machine without this journal rebuilds the deploy as held, not
 * as one that stopped before cutover (which `resume` would carry through the cutover).
 */
export const holdNewFleet = async (run: Deployment): Promise<Outcome> => {
  const { record, deps } = run;
  const ids = launchedIds(record);
  await deps.fleet.tag(ids, { [TAG_STATE]: HELD }, { signal: deps.clock.deadline(STEP_MS) }).catch((error: unknown) =>
    deps.emit({
      type: 'warning',
      message: `could not tag the new instances held (${message(error)}); without this journal the deploy reads as stopped before cutover: aws ec2 create-tags --resources ${ids.join(' ')} --tags Key=${TAG_STATE},Value=${HELD}`,
    }),
  );
  await setStatus(run, 'held');
  return { kind: 'held', deployId: record.deployId, registered: registersNow(record), held: launchedIds(record) };
};
