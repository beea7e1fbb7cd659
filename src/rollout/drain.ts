import type { Emit, Phase } from './events.js';
import { marker } from './marks.js';
import type { Balancer, Call, Clock } from './ports.js';
import type { RoleSpec } from './spec.js';
import { drainVerdict } from './verdicts.js';
import { observeGroups } from './verify.js';
import { waitFor } from './wait.js';

/** Waits until `ids` have left every target group of the role (deregistration delay served). */
export const awaitDrained = (
  spec: RoleSpec,
  ids: readonly string[],
  deps: { balancer: Balancer; clock: Clock; emit: Emit },
  call: Call,
  phase: Phase,
  timeout: number,
): Promise<void> => {
  const markDrained = marker(deps.emit, 'drained');
  return waitFor(
    async () => {
      const groups = await observeGroups(deps.balancer, spec.targetGroups, call);
      // A target absent from a group, or `unused` in it, has left it.
      const inGroups = groups.map(
        (group) => new Set(group.targets.filter((target) => target.state !== 'unused').map((target) => target.id)),
      );
      markDrained(ids.filter((id) => inGroups.every((inGroup) => !inGroup.has(id))));
      return drainVerdict(ids, groups);
    },
    {
      clock: deps.clock,
      interval: spec.pollInterval,
      timeout,
      signal: call.signal,
      what: 'targets drained',
      report: { emit: deps.emit, phase },
    },
  );
};
