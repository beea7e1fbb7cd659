// One chaos run against the fakes: the world the sandbox would seed, the schedule's faults, the
// engine's `replace` (its process killed at the crash point, if any, then `resume` or `rollback`
// in a new one), all on a fake clock; and the same evidence as a sandbox run, for the same
// invariants. The commands' output and exit codes are the CLI's, from its own renderers.
import { renderEvent, renderFailure, renderSummary } from '../../src/cli/render.js';
import { EXIT, reportError } from '../../src/cli/io.js';
import { type Config, resolveRole } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { parseYaml } from '../../src/config/yaml.js';
import { replace } from '../../src/rollout/deploy.js';
import type { Outcome } from '../../src/rollout/deploy.js';
import { UsageError } from '../../src/rollout/errors.js';
import { type Finished, resumeDeploy, rollbackDeploy } from '../../src/rollout/resume.js';
import type { RoleSpec } from '../../src/rollout/spec.js';
import { TIME_SCALE, chaosYaml } from './config.js';
import type { CommandRun, Evidence } from './evidence.js';
import { type Fakes, addImage, addSubnet, addTargetGroup, createFakes, seedFleet } from './fakes/index.js';
import { checkInvariants } from './invariants.js';
import type { RunReport } from './run.js';
import { TG_ARN } from './sandbox-world.js';
import { AZS, CRASH_POINTS, type Role, type Schedule } from './schedule.js';

const SERVICE = 'reactio-staging';
const SUBNETS = [
  ['subnet-0aaa1111', AZS[0]],
  ['subnet-0ccc3333', AZS[1]],
] as const;

const specs = new Map<string, Promise<RoleSpec>>();

/** The role as the CLI resolves it from the chaos config: the very spec a sandbox run deploys. */
export const chaosSpec = (role: Role, perAz: number, batch?: number): Promise<RoleSpec> => {
  const key = `${role}/${perAz}/${batch}`;
  let spec = specs.get(key);
  if (!spec) {
    const parsed = parseYaml(chaosYaml(perAz, batch));
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

type Command = CommandRun['command'];
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

const act = async (
  command: Command,
  spec: RoleSpec,
  deployId: string,
  fakes: Fakes,
  deps: ReturnType<Fakes['start']>['deps'],
): Promise<AnyOutcome> => {
  const signal = new AbortController().signal;
  if (command === 'replace') {
    const outcome = await replace(spec, { deployId, dryRun: false }, deps, signal);
    if (outcome.kind === 'planned') throw new Error('a dry run was not asked for');
    return outcome;
  }
  // Without --role, the CLI finds the deploy in the journal or refuses.
  if (!fakes.disk.has(deployId)) throw new UsageError(`deploy ${deployId} is not in the journal`);
  const outcome = await (command === 'resume' ? resumeDeploy : rollbackDeploy)(spec, deployId, deps, signal);
  if (command === 'rollback' && outcome.kind === 'finished' && outcome.status === 'replaced') {
    throw new UsageError(`deploy ${deployId} already replaced the fleet and terminated the old instances; it cannot be rolled back`);
  }
  return outcome;
};

/** Runs one command in a new process; with `kill`, the process dies once its output matches the pattern. */
const runCommand = async (
  fakes: Fakes,
  command: Command,
  spec: RoleSpec,
  deployId: string,
  kill?: { readonly pattern: RegExp; readonly lag: number },
): Promise<CommandRun> => {
  const out: string[] = [];
  const err: string[] = [];
  let signalled = false;
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
  const work = act(command, spec, deployId, fakes, deps).then(
    (outcome) => report(outcome, out, err),
    (error: unknown) => reportError(error, io),
  );
  const code = await fakes.run(Promise.race([work, process.died.then(() => 137)]));
  return { command, code, stdout: out.join('\n'), stderr: err.join('\n'), killed: !process.alive() };
};

/** After a kill: the schedule's recovery (a refused rollback is followed by resume). After exit 4: faults lifted, the command named. */
const recover = async (fakes: Fakes, schedule: Schedule, spec: RoleSpec, deployId: string, commands: CommandRun[]): Promise<void> => {
  const run = async (command: 'resume' | 'rollback') => {
    const result = await runCommand(fakes, command, spec, deployId);
    commands.push(result);
    return result;
  };
  let last = commands.at(-1)!;
  if (last.killed) {
    const { recover: command, faults = [] } = schedule.crash!;
    fakes.world.inject(...faults);
    last = await run(command);
    if (last.command === 'rollback' && last.code === 2 && /can no longer be rolled back/.test(last.stderr)) last = await run('resume');
  }
  if (last.code === 4) {
    fakes.world.faults.clear();
    await run(last.stderr.includes(`mackerel-replacer resume ${deployId}`) ? 'resume' : 'rollback');
  }
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
  const spec = await chaosSpec(schedule.role, schedule.perAz, schedule.batch);
  const deployId = `20261123-063600-${(seedOf(schedule) & 0xffff).toString(16).padStart(4, '0')}`;
  const before = fakes.state();
  fakes.world.inject(...schedule.faults);
  const point = schedule.crash && CRASH_POINTS.find((p) => p.name === schedule.crash?.at);
  const kill = point && { pattern: point.pattern, lag: schedule.crash?.lag ?? 0 };
  const commands = [await runCommand(fakes, 'replace', spec, deployId, kill)];
  await recover(fakes, schedule, spec, deployId, commands);
  const record = fakes.disk.get(deployId);
  const evidence: Evidence = {
    role: schedule.role,
    planned: schedule.perAz * AZS.length,
    before,
    after: fakes.state(),
    events: fakes.world.events,
    commands,
    deployId,
    status: record === undefined ? undefined : (JSON.parse(record) as { status: string }).status,
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
