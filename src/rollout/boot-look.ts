// The boot wait's look at the new instances. Until every one of them has shown up, a look lists the
// deploy's instances in every state; from then on, only those not running. EC2 may leave an instance
// out of DescribeInstances right after RunInstances, but one it has listed stays listed, so one
// missing from the not-running answer runs. At 2,000 booted instances a look is one short page
// instead of two of 1,000.
import { type Call, type Fleet, type Instance, type InstanceState, LOST_STATES } from './ports.js';
import { TAG_DEPLOY } from './tags.js';

const NOT_RUNNING: readonly InstanceState[] = ['pending', ...LOST_STATES];

/** A look at the deploy's instances `ids`: each one's latest known state. */
export const bootLook = (fleet: Fleet, deployId: string, ids: readonly string[], call: Call): (() => Promise<Instance[]>) => {
  const latest = new Map<string, Instance>();
  return async () => {
    if (ids.every((id) => latest.has(id))) {
      const notRunning = await fleet.findByTag(TAG_DEPLOY, deployId, call, { states: NOT_RUNNING });
      const byId = new Map(notRunning.map((instance) => [instance.id, instance]));
      for (const [id, instance] of latest) latest.set(id, byId.get(id) ?? { ...instance, state: 'running' });
    } else {
      for (const instance of await fleet.findByTag(TAG_DEPLOY, deployId, call, { withTerminated: true })) latest.set(instance.id, instance);
    }
    return [...latest.values()];
  };
};
