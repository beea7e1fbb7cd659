import type { Emit } from './events.js';
import { TAG_DEPLOY, TAG_ENV, TAG_MANAGED_BY, TAG_OWNER, ownerValue } from './ownership.js';
import type { Plan } from './plan.js';
import type { Call, Clock, Fleet } from './ports.js';
import type { RoleSpec } from './spec.js';
import { bootVerdict } from './verdicts.js';
import { waitFor } from './wait.js';

export const launchTags = (spec: RoleSpec, deployId: string): Record<string, string> => ({
  ...spec.tags,
  Name: `${spec.service}-${spec.role}`,
  [TAG_ENV]: spec.env,
  [TAG_OWNER]: ownerValue(spec),
  [TAG_DEPLOY]: deployId,
  [TAG_MANAGED_BY]: 'mackerel-replacer',
});

/**
 * Launches every AZ at once and waits until all new instances run. `record` learns each id as
 * soon as EC2 returns it, so a failure anywhere still rolls back everything launched.
 */
export const launchAll = async (
  spec: RoleSpec,
  plan: Plan,
  deps: { fleet: Fleet; clock: Clock; emit: Emit },
  call: Call,
  record: (ids: readonly string[]) => void,
): Promise<Map<string, string[]>> => {
  const tags = launchTags(spec, plan.deployId);
  const results = await Promise.allSettled(
    plan.launches.map(async (launch) => {
      const instances = await deps.fleet.launch(
        {
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
        },
        call,
      );
      const ids = instances.map((instance) => instance.id);
      record(ids);
      deps.emit({ type: 'launch.done', launch, instanceIds: ids });
      return [launch.az, ids] as const;
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
  const byAz = new Map(results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])));
  const ids = [...byAz.values()].flat();
  await waitFor(async () => bootVerdict(ids, await deps.fleet.describe(ids, call)), {
    clock: deps.clock,
    interval: spec.pollInterval,
    timeout: spec.timeouts.launch,
    signal: call.signal,
    what: 'new instances running',
    onPending: (verdict) => deps.emit({ type: 'waiting', phase: 'launch', what: 'instances running', ...pick(verdict) }),
  });
  return byAz;
};

export const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export const pick = (verdict: { done: number; total: number; waitingFor: readonly string[] }) => ({
  done: verdict.done,
  total: verdict.total,
  pending: verdict.waitingFor,
});
