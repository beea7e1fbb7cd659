// One chaos run against the sandbox over HTTP: a fresh sandbox, the schedule's faults, the real CLI
// running `replace` (as a child process killed at the crash point, if any, then `resume` or
// `rollback`), and the evidence every invariant is judged from.
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type RequestRecord, type World, startWorld } from './sandbox-world.js';
import type { CommandRun, Event, Evidence } from './evidence.js';
import { checkInvariants } from './invariants.js';
import { TIME_SCALE, chaosYaml } from './config.js';
import type { RunReport } from './run.js';
import { AZS, CRASH_POINTS, type Schedule } from './schedule.js';

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

/** `replace`, killed at the crash point when the schedule has one. */
const start = async (world: World, schedule: Schedule): Promise<CommandRun> => {
  const args = ['replace', '--config', world.configPath, '--role', schedule.role];
  if (!schedule.crash) return { command: 'replace', ...(await world.cli(...args)), killed: false };
  const point = CRASH_POINTS.find((p) => p.name === schedule.crash?.at)!;
  const run = await world.spawnUntil(point.pattern, 'SIGKILL', ...args);
  return { command: 'replace', code: run.code, stdout: run.stdout, stderr: run.stderr, killed: run.signalled && run.code === 137 };
};

/**
 * After a kill: the schedule's recovery (a refused rollback is followed by resume). After exit 4:
 * the faults are lifted and the command the output names is run, which must finish the deploy.
 */
const recover = async (world: World, schedule: Schedule, deployId: string, commands: CommandRun[]): Promise<void> => {
  const run = async (command: 'resume' | 'rollback') => {
    const result = { command, ...(await world.cli(command, deployId, '--config', world.configPath)), killed: false };
    commands.push(result);
    return result;
  };
  let last = commands.at(-1)!;
  if (last.killed) {
    const { recover: command, faults = [] } = schedule.crash!;
    if (faults.length > 0) await world.inject(...faults);
    last = await run(command);
    if (last.command === 'rollback' && last.code === 2 && /can no longer be rolled back/.test(last.stderr)) last = await run('resume');
  }
  if (last.code === 4) {
    await fetch(`${world.sandbox.url}/_sandbox/faults`, { method: 'DELETE' });
    await run(last.stderr.includes(`mackerel-replacer resume ${deployId}`) ? 'resume' : 'rollback');
  }
};

/** Runs the schedule and gathers what it left; `faultsMet` counts requests that met a fault, by type. */
export const collectEvidence = async (
  schedule: Schedule,
): Promise<{ evidence: Evidence; faultsMet: Record<string, number>; lostLaunches: number }> => {
  const world = await startWorld(chaosYaml(schedule.perAz, schedule.batch), {
    apiKey: API_KEY,
    timeScale: TIME_SCALE,
    env: { AWS_SECRET_ACCESS_KEY: AWS_SECRET },
  });
  try {
    const before = await world.state();
    if (schedule.faults.length > 0) await world.inject(...schedule.faults);
    const commands = [await start(world, schedule)];
    const deployId = deployIdOf(commands[0]!.stdout);
    if (deployId) await recover(world, schedule, deployId, commands);
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
