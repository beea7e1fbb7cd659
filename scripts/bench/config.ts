// The configuration of one bench deploy: a role of `perAz` instances in each of three AZs, its old
// fleet as large as the new one.

import { DEFAULT_TIME_SCALE } from '../../src/sandbox/server.js';

export type Mode = 'web' | 'worker';

export const SUBNETS = ['subnet-0aaa1111', 'subnet-0ccc3333', 'subnet-0ddd4444'];
export const POLL_INTERVAL_MS = 100;
export const STABLE_FOR_MS = 300;
/** ELBv2's default quota of targets per target group. */
const DEFAULT_TARGETS_PER_GROUP = 1000;
/** What the bench asks for when old + new targets would not fit: AWS raises the quota on request. */
export const RAISED_TARGETS_PER_GROUP = 10_000;
const TG_ARN = 'arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/bench-web/0123456789abcdef';

/** The raised quota a web deploy of `instances` (old and new side by side) needs, if any. */
export const targetsPerGroupFor = (mode: Mode, instances: number): number | undefined =>
  mode === 'web' && 2 * instances > DEFAULT_TARGETS_PER_GROUP ? RAISED_TARGETS_PER_GROUP : undefined;

/**
 * The sandbox's launch bucket refills 2 instances per simulated second, and its clock runs 100
 * times faster than the CLI's real one: the tool is told the refill in its own seconds.
 */
const SANDBOX_REFILL_PER_REAL_SECOND = 2 / DEFAULT_TIME_SCALE;

export const benchYaml = (mode: Mode, perAz: number, targetsPerGroup: number | undefined): string => `region: ap-northeast-1
pollInterval: ${POLL_INTERVAL_MS}ms
limits: { launchRefillPerSecond: ${SANDBOX_REFILL_PER_REAL_SECOND}${targetsPerGroup === undefined ? '' : `, targetsPerGroup: ${targetsPerGroup}`} }
environments:
  bench:
    mackerel: { service: bench }
    roles:
      ${mode}:
        ami: { owners: [self], name: "bench-${mode}-*" }
        instanceType: t3.small
        subnets: [${SUBNETS.join(', ')}]
        securityGroupIds: [sg-0123abcd]
        perAz: ${perAz}
        maxInstances: 10000
        stableFor: ${STABLE_FOR_MS}ms
${mode === 'web' ? `        targetGroups: [${TG_ARN}]\n` : ''}`;
