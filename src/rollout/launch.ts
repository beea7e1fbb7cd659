import { message } from './errors.js';
import type { Emit } from './events.js';
import { TAG_DEPLOY, TAG_ENV, TAG_MANAGED_BY, TAG_OWNER, ownerValue } from './ownership.js';
import type { AzLaunch, Plan } from './plan.js';
import type { Call, Clock, Fleet, LaunchRequest } from './ports.js';
import type { RoleSpec } from './spec.js';
import { bootVerdict } from './verdicts.js';
import { waitFor } from './wait.js';

// The tool's role tag stays even when ownership names another tag: it marks what the tool launched.
export const launchTags = (spec: RoleSpec, deployId: string): Record<string, string> => ({
  ...spec.tags,
  Name: `${spec.service}-${spec.role}`,
  [TAG_ENV]: spec.env,
  [TAG_OWNER]: ownerValue(spec),
  [spec.ownership.tag]: spec.ownership.value,
  [TAG_DEPLOY]: deployId,
  [TAG_MANAGED_BY]: 'mackerel-replacer',
});

/** The RunInstances request for one AZ of the plan; preflight's DryRun sends the same. */
export const launchRequest = (
  spec: RoleSpec,
  plan: Pick<Plan, 'image'>,
  launch: AzLaunch,
  tags: Readonly<Record<string, string>>,
): LaunchRequest => ({
  imageId: plan.image.id,
  instanceType: spec.instanceType,
  subnetId: launch.subnetId,
  count: launch.count,
  securityGroupIds: spec.securityGroupIds,
  iamInstanceProfile: spec.iamInstanceProfile,
  keyName: spec.keyName,
  userData: spec.userData,
  tags,
  clientToken: launch.clientToken,
});

/**
 * Launches every AZ at once and waits until all new instances run. `record` persists each AZ's
 * ids as soon as EC2 returns them, so a failure or a crash anywhere still rolls back everything.
 * The ClientTokens make a repeated call (resume) return the same instances.
 */
export const launchAll = async (
  spec: RoleSpec,
  plan: Pick<Plan, 'deployId' | 'image' | 'launches'>,
  lifecycleTags: Readonly<Record<string, string>>,
  deps: { fleet: Fleet; clock: Clock; emit: Emit },
  call: Call,
  record: (az: string, ids: string[]) => Promise<void>,
): Promise<string[]> => {
  const tags = { ...launchTags(spec, plan.deployId), ...lifecycleTags };
  const results = await Promise.allSettled(
    plan.launches.map(async (launch) => {
      const instances = await deps.fleet.launch(launchRequest(spec, plan, launch, tags), call);
      const ids = instances.map((instance) => instance.id);
      await record(launch.az, ids);
      deps.emit({ type: 'launch.done', launch, instanceIds: ids });
      return ids;
    }),
  );
  const failures = results.flatMap((result, index) => {
    if (result.status === 'fulfilled') return [];
    const launch = plan.launches[index]!;
    const error = message(result.reason);
    deps.emit({ type: 'launch.failed', launch, error });
    return [`${launch.az}: ${error}`];
  });
  if (failures.length > 0) throw new Error(`launch failed in ${failures.join('; ')}`);
  const ids = results.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
  await waitFor(async () => bootVerdict(ids, await deps.fleet.describe(ids, call)), {
    clock: deps.clock,
    interval: spec.pollInterval,
    timeout: spec.timeouts.launch,
    signal: call.signal,
    what: 'new instances running',
    report: { emit: deps.emit, phase: 'launch' },
  });
  return ids;
};
