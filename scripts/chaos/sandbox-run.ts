// One chaos run against the sandbox over HTTP: a fresh sandbox, the schedule's faults, the real CLI
// running `replace` (as a child process killed at the crash point, if any, then `resume` or
// `rollback`), what the operator runs after it (operator.ts), and the evidence every invariant is judged from.
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type RequestRecord, type World, startWorld } from './sandbox-world.js';
import type { CommandRun, Event, Evidence } from './evidence.js';
import { checkInvariants } from './invariants.js';
import { HOOKS_FIXED, TIME_SCALE, chaosYaml } from './config.js';
import { nextCommand } from './operator.js';
import type { RunReport } from './run.js';
import { AZS, CRASH_POINTS, type Command, type Schedule, optionsOf } from './schedule.js';

const API_KEY = 'mkr-chaos-KEY-5e1d0c2b9a77';
const AWS_SECRET = 'aws-chaos-SECRET-0b8e4f1d6c33';

const deployIdOf = (stdout: string): string | undefined => /deploy (\d{8}-\d{6}-[0-9a-f]{4})/.exec(stdout)?.[1];

const filesUnder = async (dir: string): Promise<{ path: string; text: string }[]> => {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => {
        const path = join(entry.parentPath, entry.name);
        return { path, text: await readFile(path, 'utf8') };
      }),
  );
};

const statusOf = async (world: World, deployId: string | undefined): Promise<string | undefined> => {
  if (!deployId) return undefined;
  const text = await readFile(join(world.dir, 'journal', `${deployId}.json`), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as { status: string }).status;
};

/** The command line of `command` for this run. */
const argsOf = (world: World, schedule: Schedule, command: Command, deployId: string | undefined): string[] => {
  if (command === 'replace')
    return ['replace', '--config', world.configPath, '--role', schedule.role, ...(schedule.hold ? ['--hold'] : [])];
  if (command === 'recover') return ['recover', '--config', world.configPath, '--env', 'staging', '--role', schedule.role];
  // Without the journal, env and role come from the command line (the deploy from its tags).
  const elsewhere = schedule.journalLost ? ['--env', 'staging', '--role', schedule.role] : [];
  return [command, deployId!, ...(command === 'shrink' ? ['--to', '50%'] : []), '--config', world.configPath, ...elsewhere];
};

/** Runs one command; until the crash point has been met, as a child process killed there. */
const runCommand = async (world: World, schedule: Schedule, command: Command, deployId: string | undefined, crashed: boolean) => {
  const args = argsOf(world, schedule, command, deployId);
  const from = (await world.events()).length;
  if (!schedule.crash || crashed) return { command, from, ...(await world.cli(...args)), killed: false };
  const point = CRASH_POINTS.find((p) => p.name === schedule.crash?.at)!;
  const run = await world.spawnUntil(point.pattern, 'SIGKILL', ...args);
  return { command, from, code: run.code, stdout: run.stdout, stderr: run.stderr, killed: run.signalled && run.code === 137 };
};

/** `replace`, then what the operator runs next (operator.ts) until the deploy needs nothing more. */
const runCommands = async (world: World, schedule: Schedule): Promise<{ commands: CommandRun[]; deployId?: string }> => {
  const commands: CommandRun[] = [await runCommand(world, schedule, 'replace', undefined, false)];
  const deployId = deployIdOf(commands[0]!.stdout);
  if (!deployId) return { commands };
  let status = await statusOf(world, deployId);
  for (let next = nextCommand(schedule, commands, status); next; ) {
    if (next.inject && schedule.crash?.faults) await world.inject(...schedule.crash.faults);
    if (next.fix) {
      await fetch(`${world.sandbox.url}/_sandbox/faults`, { method: 'DELETE' });
      await writeFile(join(world.dir, HOOKS_FIXED), '');
    }
    if (next.loseJournal) await rm(join(world.dir, 'journal', `${deployId}.json`), { force: true });
    commands.push(
      await runCommand(
        world,
        schedule,
        next.command,
        deployId,
        commands.some((run) => run.killed),
      ),
    );
    status = (await statusOf(world, deployId)) ?? status;
    next = nextCommand(schedule, commands, status);
  }
  return { commands, deployId };
};

/** Runs the schedule and gathers what it left; `faultsMet` counts requests that met a fault, by type. */
export const collectEvidence = async (
  schedule: Schedule,
): Promise<{ evidence: Evidence; faultsMet: Record<string, number>; lostLaunches: number }> => {
  const world = await startWorld((dir) => chaosYaml(schedule.perAz, schedule.batch, schedule, dir), {
    apiKey: API_KEY,
    timeScale: TIME_SCALE,
    env: { AWS_SECRET_ACCESS_KEY: AWS_SECRET },
  });
  try {
    const before = await world.state();
    if (schedule.faults.length > 0) await world.inject(...schedule.faults);
    const { commands, deployId } = await runCommands(world, schedule);
    const [after, events, requests, files, status] = await Promise.all([
      world.state(),
      world.events() as Promise<Event[]>,
      world.requests() as Promise<(RequestRecord & { fault?: string })[]>,
      filesUnder(world.dir),
      statusOf(world, deployId),
    ]);
    const faultsMet: Record<string, number> = {};
    for (const request of requests) if (request.fault) faultsMet[request.fault] = (faultsMet[request.fault] ?? 0) + 1;
    const lostLaunches = requests.filter((r) => r.action === 'RunInstances' && r.fault === 'drop-after' && r.status === 200).length;
    const evidence: Evidence = {
      role: schedule.role,
      options: optionsOf(schedule),
      planned: schedule.perAz * AZS.length,
      before,
      after,
      events,
      commands,
      deployId,
      status,
      secrets: [API_KEY, AWS_SECRET],
      files,
    };
    return { evidence, faultsMet, lostLaunches };
  } finally {
    await world.close();
    await rm(world.dir, { recursive: true, force: true });
  }
};

export const runOnSandbox = async (schedule: Schedule): Promise<RunReport> => {
  const { evidence, faultsMet, lostLaunches } = await collectEvidence(schedule);
  const { deployId, status, commands } = evidence;
  return { schedule, deployId, status, commands, faultsMet, lostLaunches, violations: checkInvariants(evidence) };
};
