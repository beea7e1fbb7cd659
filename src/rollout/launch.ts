import { bootLook } from './boot-look.js';
import { launchInAz, preferredType } from './capacity.js';
import { message } from './errors.js';
import type { Emit } from './events.js';
import type { AzLaunch, Plan } from './plan.js';
import type { Call, Clock, Fleet, LaunchRequest } from './ports.js';
import type { RoleSpec } from './spec.js';
import { marker } from './marks.js';
import { type LaunchFacts, instanceTags } from './tags.js';
import { bootVerdict } from './verdicts.js';
import { waitFor } from './wait.js';
import { launchPaced } from './paced-launch.js';
import type { DeployRecord } from './record.js';

/**
 * The RunInstances request for one AZ of the plan; preflight's DryRun sends the same. With a launch
 * template, its pinned version, under what the tool owns (image, subnet, tags) and what the role sets.
 */
export const launchRequest = (
  spec: RoleSpec,
  plan: Pick<Plan, 'image'>,
  launch: AzLaunch,
  tags: Readonly<Record<string, string>>,
): LaunchRequest => ({
  imageId: plan.image.id,
  instanceType: preferredType(spec),
  subnetId: launch.subnetId,
  count: launch.count,
  securityGroupIds: spec.securityGroupIds,
  ...(spec.pinnedTemplate && { launchTemplate: { id: spec.pinnedTemplate.id, version: spec.pinnedTemplate.version } }),
  ...(spec.metadataOptions && { metadataOptions: spec.metadataOptions }),
  ...(spec.blockDevices && { blockDevices: spec.blockDevices }),
  iamInstanceProfile: spec.iamInstanceProfile,
  keyName: spec.keyName,
  userData: spec.userData,
  tags,
  clientToken: launch.clientToken,
});

/**
 * Launches the plan in rounds the launch bucket allows (one round, every AZ at once, when it holds
 * the whole plan) and waits until all new instances run. `keep` persists each chunk's ids as soon
 * as EC2 returns them, so a failure or a crash anywhere still rolls back everything; a chunk whose
 * instances the record holds is not sent again. The ClientTokens make a chunk sent again (its answer
 * lost before the journal kept it) return the same instances.
 */
export const launchAll = async (
  spec: RoleSpec,
  deploy: LaunchFacts &
    Pick<Plan, 'image'> &
    Pick<DeployRecord, 'launchBucket' | 'launched' | 'launchedChunks'> & { readonly launchTypes?: Readonly<Record<string, string>> },
  deps: { fleet: Fleet; clock: Clock; emit: Emit },
  call: Call,
  keep: (chunk: AzLaunch, ids: string[]) => Promise<void>,
  trying: (az: string, instanceType: string) => Promise<void> = async () => undefined,
): Promise<string[]> => {
  const tags = instanceTags(spec, deploy);
  const launchChunks = async (chunks: readonly AzLaunch[]): Promise<Record<string, string[]>> => {
    const results = await Promise.allSettled(
      chunks.map(async (launch) => {
        const { instances, instanceType } = await launchInAz(spec, launch, launchRequest(spec, deploy, launch, tags), deps, call, {
          triedBefore: deploy.launchTypes?.[launch.az],
          trying: (type) => trying(launch.az, type),
        });
        const ids = instances.map((instance) => instance.id);
        await keep(launch, ids);
        deps.emit({ type: 'launch.done', launch, instanceIds: ids, instanceType });
        return [launch.clientToken, ids] as const;
      }),
    );
    const failures = results.flatMap((result, index) => {
      if (result.status === 'fulfilled') return [];
      const launch = chunks[index]!;
      const error = message(result.reason);
      deps.emit({ type: 'launch.failed', launch, error });
      return [`${launch.az}: ${error}`];
    });
    if (failures.length > 0) throw new Error(`launch failed in ${failures.join('; ')}`);
    return Object.fromEntries(results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])));
  };
  const ids = await launchPaced(deploy, spec.launchBucket, launchChunks, deps, call);
  const launched = bootLook(deps.fleet, deploy.deployId, ids, call);
  const markRunning = marker(deps.emit, 'running');
  await waitFor(
    async () => {
      const instances = await launched();
      markRunning(instances.filter((instance) => instance.state === 'running').map((instance) => instance.id));
      return bootVerdict(ids, instances);
    },
    {
      clock: deps.clock,
      interval: spec.pollInterval,
      timeout: spec.timeouts.launch,
      signal: call.signal,
      what: 'new instances running',
      report: { emit: deps.emit, phase: 'launch' },
    },
  );
  return ids;
};
