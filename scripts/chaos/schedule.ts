// What a chaos run does to the world: faults injected into the sandbox (or the fakes) before the
// deploy, the blue/green options it deploys with (a rollback window, a hold, a worker drain, hooks)
// and what the operator does after, and optionally a kill -9 of the CLI at a step boundary,
// followed by `resume`, `rollback`, or `recover` (the supervisor's choice made by the tool).
import fc from 'fast-check';
import type { Fault } from '../../src/sandbox/faults.js';

export type Role = 'web' | 'worker';
/** After a kill: the operator's own choice, or `recover --env --role`, which chooses as a supervisor would need. */
export type Recovery = 'resume' | 'rollback' | 'recover';
/** Every command a chaos run may run, in the order a person would. */
export type Command = 'replace' | Recovery | 'finish' | 'shrink' | 'cutover';
/** Where a run goes: the in-memory fakes on a fake clock, or the sandbox over HTTP in scaled real time. */
export type Via = 'fakes' | 'sandbox';
export type HookName = 'beforeCutover' | 'beforeTerminate' | 'onRollback';
/** A hook passes, or fails until the operator fixes it (before running the command an exit 4 names). */
export type HookBehaviour = 'pass' | 'fail';

/** The blue/green options of a schedule; each ends in what the operator does once the deploy stops there. */
export interface Options {
  /** `keepOld` in the config; once the old fleet is kept, the operator finishes, shrinks to 50% then finishes, or rolls back. */
  readonly keep?: 'finish' | 'shrink' | 'rollback';
  /** `replace --hold`; once held, the operator cuts over or rolls back. */
  readonly hold?: 'cutover' | 'rollback';
  /** With `hold`: the journal is lost once the deploy is held, so its cutover or rollback runs as on another machine. */
  readonly journalLost?: true;
  /** Worker: `workerDrain` in the config. */
  readonly workerDrain?: true;
  readonly hooks?: Partial<Record<HookName, HookBehaviour>>;
}

export interface CrashPoint {
  readonly name: string;
  /** The CLI is killed when its stdout first matches (in whichever command of the run prints it first). */
  readonly pattern: RegExp;
  /** Worker roles have no register step and no target to deregister. */
  readonly webOnly: boolean;
  /** Only a deploy in waves has a second wave. */
  readonly wavesOnly?: boolean;
  /** Only worker roles wait workerDrain. */
  readonly workerOnly?: boolean;
  /** Whether a schedule with these options prints the pattern; absent: every schedule. */
  readonly needs?: (options: Options) => boolean;
  /** Options that reach the point, for the pinned runs. */
  readonly setup?: Options;
  /** Met in a rollback the operator chose: whatever the recovery, the deploy ends rolled back. */
  readonly rollsBack?: true;
  /** Its one pinned run in the sandbox (the fakes pin both roles and both recoveries): the case that shows it best. */
  readonly sandboxPin?: { readonly role: Role; readonly recover: Recovery };
}

const keeps = (options: Options) => options.keep !== undefined;
const finishes = (options: Options) => options.keep === 'finish' || options.keep === 'shrink';

/** Every step boundary the CLI prints, in flow order; then those of the blue/green options. */
export const CRASH_POINTS: readonly CrashPoint[] = [
  { name: 'launch', pattern: /\] launch \.\.\./, webOnly: false },
  { name: 'register', pattern: /\] register \.\.\./, webOnly: true },
  { name: 'verify', pattern: /\] verify \.\.\./, webOnly: false },
  { name: 'cutover', pattern: /\] cutover \.\.\./, webOnly: false },
  { name: 'deregistered', pattern: /deregistered the old targets/, webOnly: true },
  { name: 'terminate', pattern: /\] terminate \.\.\./, webOnly: false },
  { name: 'terminated', pattern: /terminated the old instances/, webOnly: false },
  { name: 'retire', pattern: /\] retire \.\.\./, webOnly: false },
  { name: 'wave 2', pattern: /\] wave 2 of \d+:/, webOnly: false, wavesOnly: true },
  {
    name: 'beforeCutover ran',
    pattern: /hook beforeCutover passed/,
    webOnly: false,
    needs: (o) => o.hooks?.beforeCutover === 'pass',
    setup: { hooks: { beforeCutover: 'pass' } },
    sandboxPin: { role: 'worker', recover: 'resume' },
  },
  {
    name: 'held cutover',
    pattern: /set the old hosts maintenance/,
    webOnly: false,
    needs: (o) => o.hold === 'cutover',
    setup: { hold: 'cutover' },
    sandboxPin: { role: 'web', recover: 'rollback' },
  },
  {
    name: 'worker drain',
    pattern: /set the old hosts maintenance/,
    webOnly: false,
    workerOnly: true,
    needs: (o) => o.workerDrain === true,
    setup: { workerDrain: true },
    sandboxPin: { role: 'worker', recover: 'resume' },
  },
  {
    name: 'kept',
    pattern: /\] keep \.\.\./,
    webOnly: false,
    needs: keeps,
    setup: { keep: 'finish' },
    sandboxPin: { role: 'worker', recover: 'rollback' },
  },
  {
    name: 'shrink',
    pattern: /\] shrink \.\.\./,
    webOnly: false,
    needs: (o) => o.keep === 'shrink',
    setup: { keep: 'shrink' },
    sandboxPin: { role: 'worker', recover: 'resume' },
  },
  {
    name: 'finish',
    pattern: /\] terminate \.\.\./,
    webOnly: false,
    needs: finishes,
    setup: { keep: 'finish' },
    sandboxPin: { role: 'worker', recover: 'rollback' },
  },
  {
    name: 'beforeTerminate ran',
    pattern: /hook beforeTerminate passed/,
    webOnly: false,
    needs: (o) => o.hooks?.beforeTerminate === 'pass' && (o.keep === undefined || finishes(o)),
    setup: { hooks: { beforeTerminate: 'pass' } },
    sandboxPin: { role: 'worker', recover: 'rollback' },
  },
  {
    name: 'restore',
    pattern: /\] restore \.\.\./,
    webOnly: false,
    needs: (o) => o.keep === 'rollback',
    setup: { keep: 'rollback' },
    rollsBack: true,
    sandboxPin: { role: 'web', recover: 'resume' },
  },
];

/** The schedule's blue/green options alone. */
export const optionsOf = ({ keep, hold, journalLost, workerDrain, hooks }: Options): Options => ({
  ...(keep && { keep }),
  ...(hold && { hold }),
  ...(journalLost && { journalLost }),
  ...(workerDrain && { workerDrain }),
  ...(hooks && { hooks }),
});

/** The points a role reaches; with `options`, only those a schedule with them reaches. */
export const crashPointsOf = (role: Role, waves = false, options?: Options): CrashPoint[] =>
  CRASH_POINTS.filter(
    (point) =>
      (role === 'web' || !point.webOnly) &&
      (role === 'worker' || !point.workerOnly) &&
      (waves || !point.wavesOnly) &&
      (options === undefined || point.needs === undefined || point.needs(options)),
  );

export interface Crash {
  /** A CRASH_POINTS name. */
  readonly at: string;
  readonly recover: Recovery;
  /** Injected after the kill: they meet the recovery (and what is left of the first faults). */
  readonly faults?: readonly Fault[];
  /**
   * Fakes only: port calls the killed process still makes after its output matched (a signal lands
   * a little later than what triggered it). In the sandbox the real process races its kill.
   */
  readonly lag?: number;
  /**
   * Fakes only: the operator also runs the other recovery command this many ms after the first
   * (two operators, a re-triggered job): one of them must refuse while the other works.
   */
  readonly alsoAfter?: number;
}

/** The recovery command that is not `recover`. */
export const otherRecovery = (recover: Recovery): Recovery => (recover === 'resume' ? 'rollback' : 'resume');

export interface Schedule extends Options {
  /** @default 'sandbox' */
  readonly via?: Via;
  readonly role: Role;
  /** New (and seeded old) instances per AZ; the config has two AZs. */
  readonly perAz: 1 | 2;
  /** `batch:` in the config, instances per wave; absent: one wave. */
  readonly batch?: 1 | 2;
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

const mackerel429 = fc.tuple(fc.constantFrom(undefined, 0, 1), count, actionOf('mackerel')).map(
  ([retryAfter, n, action]): Fault => ({
    type: 'api-error',
    api: 'mackerel',
    status: 429,
    count: n,
    ...(retryAfter === undefined ? {} : { retryAfter }),
    ...action,
  }),
);

const mackerel5xx = fc
  .tuple(fc.constantFrom(500, 502, 503), count, actionOf('mackerel'))
  .map(([status, n, action]): Fault => ({ type: 'api-error', api: 'mackerel', status, count: n, ...action }));

const awsError = (api: 'ec2' | 'elbv2', errors: readonly (readonly [number, string])[]) =>
  fc.tuple(fc.constantFrom(...errors), count, actionOf(api)).map(
    ([[status, code], n, action]): Fault => ({
      type: 'api-error',
      api,
      status,
      code,
      count: n,
      ...action,
    }),
  );

const connection = (type: 'drop' | 'drop-after') =>
  anyApi.chain((api) => fc.tuple(count, actionOf(api)).map(([n, action]): Fault => ({ type, api, count: n, ...action })));

const stall = anyApi.chain((api) =>
  fc
    .tuple(count, actionOf(api), fc.integer({ min: 5, max: 200 }))
    .map(([n, action, ms]): Fault => ({ type: 'stall', api, count: n, ms, ...action })),
);

const world = (type: 'die-while-booting' | 'agent-silent' | 'never-boot' | 'health-fail' | 'health-flap') =>
  count.map((n): Fault => ({ type, count: n }));

export const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  mackerel429,
  mackerel5xx,
  awsError('ec2', [[503, 'RequestLimitExceeded']]),
  awsError('elbv2', [[400, 'Throttling']]),
  awsError('ec2', [
    [500, 'InternalError'],
    [503, 'Unavailable'],
  ]),
  awsError('elbv2', [
    [500, 'InternalFailure'],
    [503, 'ServiceUnavailable'],
  ]),
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

const crashArb = (role: Role, via: Via, waves: boolean, options: Options): fc.Arbitrary<Crash> =>
  fc
    .record({
      at: fc.constantFrom(...crashPointsOf(role, waves, options).map((point) => point.name)),
      recover: fc.constantFrom<Recovery>('resume', 'rollback', 'recover'),
      faults: fc.array(faultArb, { maxLength: 2 }),
      lag: via === 'fakes' ? fc.integer({ min: 0, max: 3 }) : fc.constant(0),
      // Three recoveries in seven of the fakes' have a second operator.
      alsoAfter: via === 'fakes' ? fc.constantFrom(undefined, undefined, undefined, undefined, 0, 2_000, 20_000) : fc.constant(undefined),
    })
    .map(({ faults, lag, alsoAfter, ...crash }) => ({
      ...crash,
      ...(faults.length > 0 ? { faults } : {}),
      ...(lag > 0 ? { lag } : {}),
      ...(alsoAfter !== undefined ? { alsoAfter } : {}),
    }));

/** Faults that only a real socket shows in full: the SDK's and undici's own handling of them. */
const overTheWire = (fault: Fault): boolean => fault.type === 'drop' || fault.type === 'drop-after' || fault.type === 'stall';

/**
 * Most schedules run against the fakes: the same faults, the adapters' retries modelled, on a fake
 * clock. A share runs against the sandbox over HTTP: one in SANDBOX_WIRE_SHARE of those with drops
 * or stalls, one in SANDBOX_SHARE of the rest.
 */
export const SANDBOX_WIRE_SHARE = 12;
export const SANDBOX_SHARE = 150;

const viaArb = (faults: readonly Fault[]): fc.Arbitrary<Via> => {
  const share = faults.some(overTheWire) ? SANDBOX_WIRE_SHARE : SANDBOX_SHARE;
  return fc.oneof({ weight: 1, arbitrary: fc.constant<Via>('sandbox') }, { weight: share - 1, arbitrary: fc.constant<Via>('fakes') });
};

const hookArb = fc.option(fc.constantFrom<HookBehaviour>('pass', 'pass', 'fail'), { nil: undefined });

/** One schedule in three has hooks, each passing or failing; one in three of a worker's waits workerDrain. */
const extrasArb = (role: Role): fc.Arbitrary<Options> =>
  fc
    .record({
      workerDrain: role === 'worker' ? fc.constantFrom<true | undefined>(undefined, undefined, true) : fc.constant(undefined),
      hooks: fc.oneof(
        { weight: 2, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.record({ beforeCutover: hookArb, beforeTerminate: hookArb, onRollback: hookArb }) },
      ),
    })
    .map(({ workerDrain, hooks }) => {
      const set = hooks && Object.fromEntries(Object.entries(hooks).filter(([, behaviour]) => behaviour !== undefined));
      return { ...(workerDrain && { workerDrain }), ...(set && Object.keys(set).length > 0 && { hooks: set }) };
    });

/**
 * Two in five of the schedules in one wave keep the old fleet or hold (waves refuse both), each
 * with what the operator does then; half the holds lose their journal.
 */
const windowArb: fc.Arbitrary<Options> = fc.oneof(
  { weight: 10, arbitrary: fc.constant({}) },
  ...(['finish', 'shrink', 'rollback'] as const).map((keep) => ({ weight: 1, arbitrary: fc.constant({ keep }) })),
  ...(['cutover', 'rollback'] as const).map((hold) => ({ weight: 1, arbitrary: fc.constant({ hold }) })),
  ...(['cutover', 'rollback'] as const).map((hold) => ({ weight: 1, arbitrary: fc.constant({ hold, journalLost: true as const }) })),
);

/** One in ten schedules also kills the CLI (a child process, in the sandbox: it costs more than a whole in-process run). */
export const scheduleArb: fc.Arbitrary<Schedule> = fc
  .record({
    role: fc.constantFrom<Role>('web', 'worker'),
    perAz: fc.constantFrom<1 | 2>(1, 1, 2),
    // One schedule in four runs in waves (of one or two instances: two to four waves).
    batch: fc.constantFrom<1 | 2 | undefined>(undefined, undefined, undefined, undefined, undefined, undefined, 1, 2),
    faults: fc.array(faultArb, { minLength: 0, maxLength: 3 }),
  })
  .chain((drawn) =>
    fc.tuple(extrasArb(drawn.role), drawn.batch === undefined ? windowArb : fc.constant({})).map(([extras, window]) => ({
      ...drawn,
      options: { ...extras, ...window },
    })),
  )
  .chain(({ role, perAz, batch, faults, options }) =>
    viaArb(faults).chain((via) =>
      fc
        .oneof(
          { weight: 9, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: crashArb(role, via, batch !== undefined, options) },
        )
        .map((crash): Schedule => ({ via, role, perAz, ...(batch ? { batch } : {}), ...options, faults, ...(crash ? { crash } : {}) })),
    ),
  );
