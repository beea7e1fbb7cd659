import type { Emit, Phase } from './events.js';
import { pick } from './launch.js';
import type { Balancer, Call, Clock, Monitor } from './ports.js';
import type { RoleSpec } from './spec.js';
import { type GroupHealth, healthVerdict, registrationVerdict } from './verdicts.js';
import { type Verdict, waitFor } from './wait.js';

export interface VerifyDeps {
  readonly balancer: Balancer;
  readonly monitor: Monitor;
  readonly clock: Clock;
  readonly emit: Emit;
}

/** One DescribeTargetHealth per target group, all groups at once. */
export const observeGroups = (balancer: Balancer, arns: readonly string[], call: Call): Promise<GroupHealth[]> =>
  Promise.all(arns.map(async (arn) => ({ arn, targets: await balancer.health(arn, call) })));

/**
 * Both gates at once: every new instance working in Mackerel and (web mode) healthy in every
 * target group. Each poll is one call for all instances. The first gate to fail stops the other.
 */
export const verifyAll = async (spec: RoleSpec, ids: readonly string[], deps: VerifyDeps, call: Call): Promise<void> => {
  const bothGates = new AbortController();
  const signal = AbortSignal.any([call.signal, bothGates.signal]);
  let firstFailure: unknown;
  const gate = (what: string, look: () => Promise<Verdict>) =>
    waitFor(look, {
      clock: deps.clock,
      interval: spec.pollInterval,
      timeout: spec.timeouts.verify,
      signal,
      what,
      onPending: (verdict) => deps.emit({ type: 'waiting', phase: 'verify' satisfies Phase, what, ...pick(verdict) }),
    }).catch((error: unknown) => {
      firstFailure ??= error;
      bothGates.abort();
      throw error;
    });
  const gates = [
    gate('registered in Mackerel', async () =>
      registrationVerdict(ids, await deps.monitor.hosts(spec.service, spec.role, { signal })),
    ),
  ];
  if (spec.targetGroups.length > 0) {
    gates.push(
      gate('healthy in the target groups', async () =>
        healthVerdict(ids, await observeGroups(deps.balancer, spec.targetGroups, { signal })),
      ),
    );
  }
  await Promise.allSettled(gates);
  if (firstFailure !== undefined) throw firstFailure;
};
