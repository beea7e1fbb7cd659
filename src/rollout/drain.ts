import type { Emit, Phase } from './events.js';
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
): Promise<void> =>
  waitFor(async () => drainVerdict(ids, await observeGroups(deps.balancer, spec.targetGroups, call)), {
    clock: deps.clock,
    interval: spec.pollInterval,
    timeout,
    signal: call.signal,
    what: 'targets drained',
    report: { emit: deps.emit, phase },
  });
