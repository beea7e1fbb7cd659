// What a chaos run does to the world: faults injected into the sandbox before the deploy, and
// optionally a kill -9 of the CLI at a step boundary, followed by `resume` or `rollback`.
import fc from 'fast-check';
import type { Fault } from '../../src/sandbox/faults.js';

export type Role = 'web' | 'worker';
export type Recovery = 'resume' | 'rollback';

export interface CrashPoint {
  readonly name: string;
  /** The CLI is killed when its stdout first matches. */
  readonly pattern: RegExp;
  /** Worker roles have no register step and no target to deregister. */
  readonly webOnly: boolean;
}

/** Every step boundary the CLI prints, in flow order. */
export const CRASH_POINTS: readonly CrashPoint[] = [
  { name: 'launch', pattern: /\] launch \.\.\./, webOnly: false },
  { name: 'register', pattern: /\] register \.\.\./, webOnly: true },
  { name: 'verify', pattern: /\] verify \.\.\./, webOnly: false },
  { name: 'cutover', pattern: /\] cutover \.\.\./, webOnly: false },
  { name: 'deregistered', pattern: /deregistered the old targets/, webOnly: true },
  { name: 'terminate', pattern: /\] terminate \.\.\./, webOnly: false },
  { name: 'terminated', pattern: /terminated the old instances/, webOnly: false },
  { name: 'retire', pattern: /\] retire \.\.\./, webOnly: false },
];

export const crashPointsOf = (role: Role): CrashPoint[] => CRASH_POINTS.filter((point) => role === 'web' || !point.webOnly);

export interface Crash {
  /** A CRASH_POINTS name. */
  readonly at: string;
  readonly recover: Recovery;
  /** Injected after the kill: they meet the recovery (and what is left of the first faults). */
  readonly faults?: readonly Fault[];
}

export interface Schedule {
  readonly role: Role;
  /** New (and seeded old) instances per AZ; the config has two AZs. */
  readonly perAz: 1 | 2;
  readonly faults: readonly Fault[];
  readonly crash?: Crash;
}

export const AZS = ['ap-northeast-1a', 'ap-northeast-1c'] as const;

/** A label for the figures: the fault's type, refined by API and error where that tells more. */
export const kindOf = (fault: Fault): string => {
  switch (fault.type) {
    case 'api-error':
      if (fault.api === 'mackerel') {
        if (fault.status !== 429) return 'mackerel-5xx';
        return fault.retryAfter === undefined ? 'mackerel-429' : 'mackerel-429-retry-after';
      }
      return fault.code === 'RequestLimitExceeded' || fault.code === 'Throttling' ? `${fault.api}-${fault.code}` : 'aws-5xx';
    case 'drop':
    case 'drop-after':
    case 'stall':
      return `${fault.type}-${fault.api}`;
    default:
      return fault.type;
  }
};

const count = fc.integer({ min: 1, max: 3 });

/** An optional `action` filter; absent, the fault meets the next request to its API. */
const actions = {
  mackerel: ['GET /api/v0/hosts', 'POST /api/v0/hosts/bulk-update-statuses', 'POST /api/v0/hosts/bulk-retire'],
  ec2: ['RunInstances', 'DescribeInstances', 'TerminateInstances', 'CreateTags'],
  elbv2: ['RegisterTargets', 'DeregisterTargets', 'DescribeTargetHealth'],
} as const;
type Api = keyof typeof actions;

const actionOf = (api: Api) =>
  fc.option(fc.constantFrom(...actions[api]), { nil: undefined }).map((action) => (action === undefined ? {} : { action }));

const anyApi = fc.constantFrom<Api>('mackerel', 'ec2', 'elbv2');

const mackerel429 = fc
  .tuple(fc.constantFrom(undefined, 0, 1), count, actionOf('mackerel'))
  .map(([retryAfter, n, action]): Fault => ({
    type: 'api-error',
    api: 'mackerel',
    status: 429,
    count: n,
    ...(retryAfter === undefined ? {} : { retryAfter }),
    ...action,
  }));

const mackerel5xx = fc
  .tuple(fc.constantFrom(500, 502, 503), count, actionOf('mackerel'))
  .map(([status, n, action]): Fault => ({ type: 'api-error', api: 'mackerel', status, count: n, ...action }));

const awsError = (api: 'ec2' | 'elbv2', errors: readonly (readonly [number, string])[]) =>
  fc.tuple(fc.constantFrom(...errors), count, actionOf(api)).map(([[status, code], n, action]): Fault => ({
    type: 'api-error',
    api,
    status,
    code,
    count: n,
    ...action,
  }));

const connection = (type: 'drop' | 'drop-after') =>
  anyApi.chain((api) => fc.tuple(count, actionOf(api)).map(([n, action]): Fault => ({ type, api, count: n, ...action })));

const stall = anyApi.chain((api) =>
  fc.tuple(count, actionOf(api), fc.integer({ min: 5, max: 200 })).map(([n, action, ms]): Fault => ({ type: 'stall', api, count: n, ms, ...action })),
);

const world = (type: 'die-while-booting' | 'agent-silent' | 'never-boot' | 'health-fail' | 'health-flap') =>
  count.map((n): Fault => ({ type, count: n }));

export const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  mackerel429,
  mackerel5xx,
  awsError('ec2', [[503, 'RequestLimitExceeded']]),
  awsError('elbv2', [[400, 'Throttling']]),
  awsError('ec2', [[500, 'InternalError'], [503, 'Unavailable']]),
  awsError('elbv2', [[500, 'InternalFailure'], [503, 'ServiceUnavailable']]),
  connection('drop'),
  connection('drop-after'),
  stall,
  fc.constantFrom(...AZS).map((az): Fault => ({ type: 'capacity', az })),
  world('die-while-booting'),
  world('agent-silent'),
  world('never-boot'),
  world('health-fail'),
  world('health-flap'),
  fc.integer({ min: 2, max: 4 }).map((factor): Fault => ({ type: 'slow-drain', factor })),
);

const crashArb = (role: Role): fc.Arbitrary<Crash> =>
  fc
    .record({
      at: fc.constantFrom(...crashPointsOf(role).map((point) => point.name)),
      recover: fc.constantFrom<Recovery>('resume', 'rollback'),
      faults: fc.array(faultArb, { maxLength: 2 }),
    })
    .map(({ faults, ...crash }) => (faults.length > 0 ? { ...crash, faults } : crash));

/** One in ten schedules also kills the CLI: a child process costs more than a whole in-process run. */
export const scheduleArb: fc.Arbitrary<Schedule> = fc.constantFrom<Role>('web', 'worker').chain((role) =>
  fc
    .record({
      perAz: fc.constantFrom<1 | 2>(1, 1, 2),
      faults: fc.array(faultArb, { minLength: 0, maxLength: 3 }),
      crash: fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: crashArb(role) }),
    })
    .map(({ crash, ...rest }): Schedule => ({ role, ...rest, ...(crash ? { crash } : {}) })),
);
