// One chaos run against the fakes: the world the sandbox would seed, the schedule's faults, the
// engine's `replace` (its process killed at the crash point, if any, then `resume` or `rollback`
// in a new one) and what the operator runs next (operator.ts), all on a fake clock; and the same evidence as a sandbox run, for the same
// invariants. The commands' output and exit codes are the CLI's, from its own renderers.
import { renderEvent, renderFailure, renderSummary } from '../../src/cli/render.js';
import { EXIT, reportError } from '../../src/cli/io.js';
import { type Config, resolveRole } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { parseYaml } from '../../src/config/yaml.js';
import { replace } from '../../src/rollout/deploy.js';
import type { Outcome } from '../../src/rollout/deploy.js';
import { UsageError } from '../../src/rollout/errors.js';
import { holdDeploy } from '../../src/rollout/lock.js';
import { cutoverHeld } from '../../src/rollout/cutover-held.js';
import { finishKept, shrinkKept } from '../../src/rollout/finish.js';
import { type Finished, resumeDeploy, rollbackDeploy } from '../../src/rollout/resume.js';
import type { RoleSpec } from '../../src/rollout/spec.js';
import { planRecovery } from '../../src/rollout/unfinished.js';
import { TIME_SCALE, chaosYaml } from './config.js';
import type { CommandRun, Evidence } from './evidence.js';
import { type Fakes, addImage, addSubnet, addTargetGroup, createFakes, seedFleet } from './fakes/index.js';
import { checkInvariants } from './invariants.js';
import type { RunReport } from './run.js';
import { TG_ARN } from './sandbox-world.js';
import { nextCommand } from './operator.js';
import {
  AZS,
  CRASH_POINTS,
  type Command,
  type HookName,
  type Options,
  type Recovery,
  type Role,
  type Schedule,
  optionsOf,
  otherRecovery,
} from './schedule.js';

const SERVICE = 'reactio-staging';
const SUBNETS = [
  ['subnet-0aaa1111', AZS[0]],
  ['subnet-0ccc3333', AZS[1]],
] as const;

const specs = new Map<string, Promise<RoleSpec>>();

/** The role as the CLI resolves it from the chaos config: the very spec a sandbox run deploys. */
export const chaosSpec = (role: Role, perAz: number, batch?: number, options: Options = {}): Promise<RoleSpec> => {
  const key = `${role}/${perAz}/${batch}/${JSON.stringify(options)}`;
  let spec = specs.get(key);
  if (!spec) {
    const parsed = parseYaml(chaosYaml(perAz, batch, options));
    if (!('value' in parsed)) throw new Error('the chaos config does not parse');
    const config: Config = { file: 'chaos.yml', ...configSchema.parse(parsed.value) };
    spec = resolveRole(config, { role });
    specs.set(key, spec);
  }
  return spec;
};

/** What the sandbox seeds from the chaos config: both roles' images and old fleets, the web role behind its load balancer. */
export const seedChaosWorld = (fakes: Fakes, perAz: number): void => {
  const { world } = fakes;
  for (const [id, az] of SUBNETS) addSubnet(world, id, az);
  addTargetGroup(world, TG_ARN, AZS);
  for (const role of ['web', 'worker'] as const) {
    const agent = { roles: [`${SERVICE}:${role}`] };
    const old = addImage(world, { name: `reactio-${role}-2026-10-01`, createdAt: '2026-10-01T00:00:00.000Z', agent });
    addImage(world, { name: `reactio-${role}-2026-11-01`, createdAt: '2026-11-01T00:00:00.000Z', agent });
    seedFleet(world, {
      env: 'staging',
      service: SERVICE,
      role,
      image: old,
      subnetIds: SUBNETS.map(([id]) => id),
      perAz,
      targetGroups: role === 'web' ? [TG_ARN] : [],
    });
  }
};

type AnyOutcome = Outcome | Finished;

/** The exit code and lines the CLI (src/cli/run-deploy.ts, recover.ts) gives an outcome. */
const report = (outcome: AnyOutcome, out: string[], err: string[]): number => {
  switch (outcome.kind) {
    case 'replaced':
      out.push(...renderSummary(outcome.summary));
      return EXIT.ok;
    case 'finished':
      out.push(`deploy ${outcome.deployId} is already ${outcome.status}; nothing to do`);
      return EXIT.ok;
    case 'rolled-back':
      (outcome.requested ? out : err).push(...renderFailure(outcome));
      return outcome.requested ? EXIT.ok : outcome.aborted ? 130 : EXIT.rolledBack;
    case 'incomplete':
      err.push(...renderFailure(outcome));
      return EXIT.incomplete;
    case 'interrupted':
      err.push(`interrupted before ${outcome.step}: the new fleet is verified and serving; the old one is not yet fully retired`);
      return 130;
    case 'kept':
    case 'held':
      return EXIT.ok;
  }
};

/** What each command taking a deploy id does to it, as src/cli/recover.ts wires them. */
const ACTS = { resume: resumeDeploy, rollback: rollbackDeploy, finish: finishKept, cutover: cutoverHeld } as const;

const act = async (
  command: Command,
  schedule: Schedule,
  spec: RoleSpec,
  deployId: string,
  fakes: Fakes,
  deps: ReturnType<Fakes['start']>['deps'],
): Promise<AnyOutcome> => {
  const signal = new AbortController().signal;
  if (command === 'replace') {
    const outcome = await replace(spec, { deployId, dryRun: false, ...(schedule.hold && { hold: true }) }, deps, signal);
    if (outcome.kind === 'planned') throw new Error('a dry run was not asked for');
    return outcome;
  }
  if (command === 'recover') {
    // As src/cli/recover-role.ts: the choice, then the act through the same path as the command by id.
    const { choices, act } = await planRecovery(spec, deps, { signal }, { keepHeld: false });
    if (!act) return { kind: 'finished', deployId, status: choices[0]?.record.status ?? 'replaced' };
    return ACTS[act.act](spec, act.deployId, deps, signal);
  }
  // Without --role (given only when the journal is lost), the CLI finds the deploy in the journal or refuses.
  if (!schedule.journalLost && !fakes.disk.has(deployId)) throw new UsageError(`deploy ${deployId} is not in the journal`);
  const outcome = await holdDeploy(command, deployId, deps, signal, () =>
    command === 'shrink' ? shrinkKept(spec, deployId, { percent: 50 }, deps, signal) : ACTS[command](spec, deployId, deps, signal),
  );
  if (command === 'rollback' && outcome.kind === 'finished' && outcome.status === 'replaced') {
    throw new UsageError(`deploy ${deployId} already replaced the fleet and terminated the old instances; it cannot be rolled back`);
  }
  return outcome;
};

/** Runs one command in a new process (under `fakes.run`); with `kill`, the process dies once its output matches the pattern. */
const startCommand = async (
  fakes: Fakes,
  command: Command,
  schedule: Schedule,
  spec: RoleSpec,
  deployId: string,
  kill?: { readonly pattern: RegExp; readonly lag: number },
): Promise<CommandRun> => {
  const out: string[] = [];
  const err: string[] = [];
  let signalled = false;
  const from = fakes.world.events.length;
  const { process, deps } = fakes.start({
    emit: (event) => {
      const text = renderEvent(event);
      if (text === undefined) return;
      for (const line of text.split('\n')) {
        out.push(`[00:00:00] ${line}`);
        if (kill && !signalled && kill.pattern.test(out.at(-1)!)) {
          signalled = true;
          process.kill(kill.lag);
        }
      }
    },
  });
  const io = {
    out: (line: string) => out.push(line),
    err: (line: string) => err.push(line),
    env: {},
    signal: new AbortController().signal,
  };
  const work = act(command, schedule, spec, deployId, fakes, deps).then(
    (outcome) => report(outcome, out, err),
    (error: unknown) => reportError(error, io),
  );
  const code = await Promise.race([work, process.died.then(() => 137)]);
  const killed = !process.alive();
  // The process exits: a lock it left names a process gone.
  process.kill();
  return { command, from, code, stdout: out.join('\n'), stderr: err.join('\n'), killed };
};

/** The failing hooks of the schedule fail until the operator fixes them. */
const failHooks = (fakes: Fakes, schedule: Schedule): void => {
  for (const [name, behaviour] of Object.entries(schedule.hooks ?? {}))
    if (behaviour === 'fail') fakes.hooks.failing.set(name as HookName, 'exited 1');
};

const statusOf = (fakes: Fakes, deployId: string): string | undefined => {
  const record = fakes.disk.get(deployId);
  return record === undefined ? undefined : (JSON.parse(record) as { status: string }).status;
};

/**
 * The recovery after a kill and, `afterMs` later, the other one by a second operator. A refusal
 * comes first in the list: the command that did the work is the one the operator goes on from.
 */
const twoAtOnce = async (
  fakes: Fakes,
  first: Recovery,
  afterMs: number,
  schedule: Schedule,
  spec: RoleSpec,
  deployId: string,
): Promise<CommandRun[]> => {
  const later = fakes.clock.sleep(afterMs, new AbortController().signal);
  const runs = await fakes.run(
    Promise.all([
      startCommand(fakes, first, schedule, spec, deployId),
      later.then(() => startCommand(fakes, otherRecovery(first), schedule, spec, deployId)),
    ]),
  );
  return runs.map((run) => ({ ...run, concurrent: true as const })).sort((a, b) => Number(b.code === 2) - Number(a.code === 2));
};

/** `replace`, killed at the crash point if the schedule has one, then what the operator runs next (operator.ts). */
const runCommands = async (fakes: Fakes, schedule: Schedule, spec: RoleSpec, deployId: string): Promise<CommandRun[]> => {
  const point = schedule.crash && CRASH_POINTS.find((p) => p.name === schedule.crash?.at);
  const kill = point && { pattern: point.pattern, lag: schedule.crash?.lag ?? 0 };
  const commands = [await fakes.run(startCommand(fakes, 'replace', schedule, spec, deployId, kill))];
  let status = statusOf(fakes, deployId);
  for (let next = nextCommand(schedule, commands, status); next; ) {
    if (next.inject) fakes.world.inject(...(schedule.crash?.faults ?? []));
    if (next.fix) {
      fakes.world.faults.clear();
      fakes.hooks.failing.clear();
    }
    if (next.loseJournal) fakes.disk.delete(deployId);
    const crashed = commands.some((run) => run.killed);
    const crash = next.inject ? schedule.crash : undefined;
    if (crash?.alsoAfter === undefined) {
      commands.push(await fakes.run(startCommand(fakes, next.command, schedule, spec, deployId, crashed ? undefined : kill)));
    } else {
      commands.push(...(await twoAtOnce(fakes, crash.recover, crash.alsoAfter, schedule, spec, deployId)));
    }
    status = statusOf(fakes, deployId) ?? status;
    next = nextCommand(schedule, commands, status);
  }
  return commands;
};

/** A stable number from the schedule: the retry jitter of a run replays exactly. */
const seedOf = (schedule: Schedule): number => {
  let hash = 2166136261;
  for (const char of JSON.stringify(schedule)) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619);
  return hash >>> 0;
};

export const collectFakeEvidence = async (
  schedule: Schedule,
): Promise<{ evidence: Evidence; faultsMet: Record<string, number>; lostLaunches: number }> => {
  const fakes = createFakes({ timeScale: TIME_SCALE, seed: seedOf(schedule) });
  seedChaosWorld(fakes, schedule.perAz);
  const spec = await chaosSpec(schedule.role, schedule.perAz, schedule.batch, optionsOf(schedule));
  const deployId = `20261123-063600-${(seedOf(schedule) & 0xffff).toString(16).padStart(4, '0')}`;
  const before = fakes.state();
  fakes.world.inject(...schedule.faults);
  failHooks(fakes, schedule);
  const commands = await runCommands(fakes, schedule, spec, deployId);
  const evidence: Evidence = {
    role: schedule.role,
    options: optionsOf(schedule),
    planned: schedule.perAz * AZS.length,
    before,
    after: fakes.state(),
    events: fakes.world.events,
    commands,
    deployId,
    status: statusOf(fakes, deployId),
    secrets: [],
    files: [...fakes.disk].map(([id, text]) => ({ path: `journal/${id}.json`, text })),
  };
  return { evidence, faultsMet: { ...fakes.world.stats.faultsMet }, lostLaunches: fakes.world.stats.lostLaunches };
};

export const runOnFakes = async (schedule: Schedule): Promise<RunReport> => {
  const { evidence, faultsMet, lostLaunches } = await collectFakeEvidence(schedule);
  const { deployId, status, commands } = evidence;
  return { schedule, deployId, status, commands, faultsMet, lostLaunches, violations: checkInvariants(evidence) };
};
