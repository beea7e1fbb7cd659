// The runs that are never left to chance, against the sandbox and against the fakes: a kill -9 at
// every step boundary × resume/rollback × web/worker (in the fakes also landing two calls late),
// the blue/green options' among them (in the sandbox for one role each), RunInstances answers lost
// while a resume launches again, an exit 4, and failing hooks. Each comes with what its
// end must look like, beyond the invariants every run keeps.
import type { Fault } from '../../src/sandbox/faults.js';
import type { RunReport } from './run.js';
import {
  CRASH_POINTS,
  type CrashPoint,
  type Options,
  type Recovery,
  type Role,
  type Schedule,
  type Via,
  crashPointsOf,
  otherRecovery,
} from './schedule.js';

/** `keep then finish`, `hooks beforeTerminate pass`: the options of a pinned run, for its name. */
const describeOptions = (options: Options): string =>
  Object.entries(options)
    .map(
      ([key, value]) =>
        `${key} ${
          typeof value === 'object'
            ? Object.entries(value as object)
                .flat()
                .join(' ')
            : value
        }`,
    )
    .join(', ');

export interface Pinned {
  readonly name: string;
  readonly schedule: Schedule;
  /** Empty when the run ended as it must. */
  readonly problems: (report: RunReport) => string[];
}

const broken = (report: RunReport) => report.violations.map((v) => `invariant ${v.invariant}: ${v.detail}`);

// Once old instances are terminated a rollback is refused and resume finishes; at `terminate ...`
// (also a finish's), after beforeTerminate passed or in a shrink the kill may land before or after
// TerminateInstances went out.
const mayBeRefused = new Set(['terminate', 'terminated', 'retire', 'finish', 'shrink', 'beforeTerminate ran']);
const mustBeRefused = new Set(['terminated', 'retire']);
// Before verification has passed, recover can only roll back.
const unverified = new Set(['launch', 'register', 'verify']);

/** How a recovery after a kill at `point` must end; `recover` may end either way where the kill may land before or after cutover began. */
const expectedEnds = (point: CrashPoint, recover: Recovery, refused: boolean): string[] => {
  if (point.rollsBack) return ['rolled-back'];
  if (recover === 'recover') {
    if (unverified.has(point.name)) return ['rolled-back'];
    return mustBeRefused.has(point.name) ? ['replaced'] : ['replaced', 'rolled-back'];
  }
  return [recover === 'resume' || refused ? 'replaced' : 'rolled-back'];
};

/** Killed at its point, and the recovery ended as it promises: resume replaces, rollback restores unless refused. */
const crashProblems = (report: RunReport): string[] => {
  const crash = report.schedule.crash!;
  const point = CRASH_POINTS.find((p) => p.name === crash.at)!;
  const problems = broken(report);
  const killed = report.commands.findIndex((run) => run.killed);
  if (killed < 0) problems.push(`the CLI was not killed at ${crash.at}: it exited ${report.commands.map((run) => run.code).join(', ')}`);
  const refused = report.commands.some((run, i) => i > killed && run.command === 'rollback' && run.code === 2);
  if (refused && !mayBeRefused.has(crash.at)) problems.push(`rollback after a kill at ${crash.at} was refused`);
  if (!refused && crash.recover === 'rollback' && mustBeRefused.has(crash.at))
    problems.push(`rollback after a kill at ${crash.at} was not refused`);
  const expected = expectedEnds(point, crash.recover, refused);
  if (!expected.includes(report.status ?? '')) problems.push(`${crash.recover} ended ${report.status}, not ${expected.join(' or ')}`);
  return problems;
};

const crashes = (via: Via, lag = 0): Pinned[] =>
  (['web', 'worker'] as const satisfies readonly Role[]).flatMap((role) =>
    crashPointsOf(role).flatMap((point) =>
      // `recover` is pinned in the fakes only: in the sandbox, the generated schedules and test/integration/recover.test.ts meet it.
      (via === 'fakes' ? (['resume', 'rollback', 'recover'] as const) : (['resume', 'rollback'] as const))
        .filter(
          (recover) => via === 'fakes' || !point.sandboxPin || (point.sandboxPin.role === role && point.sandboxPin.recover === recover),
        )
        .map((recover) => ({
          name: `${via} ${role}${point.setup ? ` (${describeOptions(point.setup)})` : ''}: kill -9 at ${point.name}${lag > 0 ? ` (${lag} calls late)` : ''}, then ${recover}`,
          schedule: { via, role, perAz: 1, ...point.setup, faults: [], crash: { at: point.name, recover, ...(lag > 0 ? { lag } : {}) } },
          problems: crashProblems,
        })),
    ),
  );

/** A deploy in two waves killed as its second wave starts: resume finishes it, rollback undoes the second wave only. */
const waveCrashes = (via: Via): Pinned[] =>
  (['web', 'worker'] as const satisfies readonly Role[]).flatMap((role) =>
    (['resume', 'rollback'] as const satisfies readonly Recovery[]).map((recover) => ({
      name: `${via} ${role} in waves of 1: kill -9 at wave 2, then ${recover}`,
      schedule: { via, role, perAz: 1, batch: 1, faults: [], crash: { at: 'wave 2', recover } },
      problems: crashProblems,
    })),
  );

// Injected after the kill: before the first run they would meet preflight's DryRun launch instead.
const lostAnswers = (count: number): Fault[] => [{ type: 'drop-after', api: 'ec2', action: 'RunInstances', count }];

/** The SDK's retries and the resume itself send the same ClientTokens: processed launches whose answers were lost launch nothing more. */
const lostLaunchProblems = (report: RunReport): string[] => [
  ...broken(report),
  ...(report.lostLaunches === 0 ? ['no RunInstances that launched lost its answer'] : []),
  ...(report.status === 'replaced' ? [] : [`ended ${report.status}, not replaced`]),
];

const lostLaunches = (via: Via): Pinned[] =>
  (
    [
      // A kill at launch: a chunk the journal holds is never sent again, so only then does a resume launch.
      ['web', 2, 'launch', 2],
      ['worker', 2, 'launch', 3],
    ] as const
  ).map(([role, perAz, at, count]) => ({
    name: `${via} ${role}: RunInstances answers lost while resuming after a kill at ${at}`,
    schedule: { via, role, perAz, faults: [], crash: { at, recover: 'resume', faults: lostAnswers(count) } },
    problems: lostLaunchProblems,
  }));

/** Exited 4, and the command its output pointed to (faults lifted) finished the deploy. */
const incompleteProblems = (report: RunReport): string[] => [
  ...broken(report),
  ...(report.commands[0]?.code === 4 ? [] : [`replace exited ${report.commands[0]?.code}, not 4`]),
  ...(report.commands.length > 1 ? [] : ['nothing was run to finish the deploy']),
];

const incomplete = (via: Via): Pinned => ({
  name: `${via} web: exit 4 when the old targets cannot be deregistered (six failures outlast the SDK five attempts)`,
  schedule: {
    via,
    role: 'web',
    perAz: 1,
    faults: [
      { type: 'api-error', api: 'elbv2', action: 'DeregisterTargets', status: 400, code: 'Throttling', count: 3 },
      { type: 'api-error', api: 'elbv2', action: 'DeregisterTargets', status: 500, code: 'InternalFailure', count: 3 },
    ],
  },
  problems: incompleteProblems,
});

/** Ended as `expected`, the first command exiting `code`. */
const endedProblems =
  (code: number, expected: string) =>
  (report: RunReport): string[] => [
    ...broken(report),
    ...(report.commands[0]?.code === code ? [] : [`replace exited ${report.commands[0]?.code}, not ${code}`]),
    ...(report.status === expected ? [] : [`ended ${report.status}, not ${expected}`]),
  ];

/**
 * A failing beforeTerminate leaves the old workers running and exits 4; fixed, resume finishes. A
 * failing beforeCutover of a held deploy rolls back (exit 3) with the old fleet serving throughout.
 */
const hookFailures = (via: Via): Pinned[] => [
  {
    name: `${via} worker: beforeTerminate fails (exit 4, the old fleet running), then fixed and resumed`,
    schedule: { via, role: 'worker', perAz: 1, hooks: { beforeTerminate: 'fail' }, faults: [] },
    problems: endedProblems(4, 'replaced'),
  },
  {
    name: `${via} web (hold): beforeCutover fails, the held fleet is rolled back`,
    schedule: { via, role: 'web', perAz: 1, hold: 'cutover', hooks: { beforeCutover: 'fail', onRollback: 'pass' }, faults: [] },
    problems: endedProblems(3, 'rolled-back'),
  },
];

/** A held deploy whose journal is lost: resume refuses, then it is cut over or rolled back from its tags alone. */
const journalLost = (via: Via): Pinned[] =>
  (['cutover', 'rollback'] as const).map((hold) => ({
    name: `${via} web (hold, journal lost): resume refuses, ${hold} from the tags`,
    schedule: { via, role: 'web', perAz: 1, hold, journalLost: true, faults: [] },
    problems: endedProblems(0, hold === 'cutover' ? 'replaced' : 'rolled-back'),
  }));

/**
 * A resume meeting more transient EC2 failures than the SDK's attempts (issue 19's counterexample):
 * it retries as a deploy does, or says what is left and exits 4; never "nothing was changed".
 */
const throttledResume: Pinned = {
  name: 'fakes web: resume after a kill at launch meets 2 throttles and 3 dropped connections',
  schedule: {
    via: 'fakes',
    role: 'web',
    perAz: 2,
    faults: [],
    crash: {
      at: 'launch',
      recover: 'resume',
      faults: [
        { type: 'api-error', api: 'ec2', status: 503, code: 'RequestLimitExceeded', count: 2 },
        { type: 'drop', api: 'ec2', count: 3 },
      ],
    },
  },
  problems: (report) => [...broken(report), ...(report.status === 'replaced' ? [] : [`ended ${report.status}, not replaced`])],
};

/** Issue 19's first row, both ways round: a second operator's recovery started 0.5 s after the first is refused, and the role serves. */
const twoOperators: Pinned[] = (
  [
    ['deregistered', 'rollback'],
    ['cutover', 'resume'],
  ] as const
).map(([at, recover]) => ({
  name: `fakes web: kill -9 at ${at}, then ${recover} and, 0.5 s later, ${otherRecovery(recover)}`,
  schedule: {
    via: 'fakes',
    role: 'web',
    perAz: 1,
    faults: [],
    crash: { at, recover, alsoAfter: 500 },
  },
  problems: (report) => [
    ...broken(report),
    ...(report.commands.some((run) => run.code === 2 && /is being worked on by/.test(run.stderr)) ? [] : ['no command was refused']),
  ],
}));

export const PINNED: readonly Pinned[] = [
  ...crashes('sandbox'),
  ...waveCrashes('sandbox'),
  ...lostLaunches('sandbox'),
  incomplete('sandbox'),
  ...hookFailures('sandbox'),
  ...journalLost('sandbox').slice(0, 1),
  ...crashes('fakes'),
  ...crashes('fakes', 2),
  ...waveCrashes('fakes'),
  ...lostLaunches('fakes'),
  incomplete('fakes'),
  ...hookFailures('fakes'),
  ...journalLost('fakes'),
  throttledResume,
  ...twoOperators,
];
