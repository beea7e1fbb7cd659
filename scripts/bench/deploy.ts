// One measured deploy: a fresh sandbox process seeded with the old fleet, the CLI's `replace` run
// against it as a user would, then the sandbox's records read back.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandboxEnv } from '../../src/cli/sandbox.js';
import type { RequestRecord, SandboxState } from '../../src/sandbox/control.js';
import { DEFAULT_TIME_SCALE } from '../../src/sandbox/server.js';
import type { WorldEvent } from '../../src/sandbox/world.js';
import { benchYaml, type Mode, POLL_INTERVAL_MS, STABLE_FOR_MS, SUBNETS, targetsPerGroupFor } from './config.js';
import { type Calls, type CriticalPath, countCalls, criticalPath, type LaunchLimits } from './measure.js';
import { runCli, SANDBOX_API_KEY, type SandboxProcess, startSandboxProcess } from './processes.js';

/** The sandbox's launch bucket, AWS's defaults, in simulated seconds. */
const SANDBOX_LAUNCH_LIMITS: LaunchLimits = { launchBurst: 1000, launchRefillPerSecond: 2 };

export interface DeployResult {
  readonly mode: Mode;
  readonly instances: number;
  readonly exitCode: number;
  readonly wallMs: number;
  readonly criticalPath: CriticalPath;
  /** wall ÷ critical path. */
  readonly ratio: number;
  readonly calls: Calls;
  readonly cli: { readonly cpuSeconds: number; readonly peakRssMb: number };
  readonly sandbox: { readonly cpuSeconds: number };
  /** The raised ELBv2 quota this run's config and sandbox used, if it needed one. */
  readonly targetsPerGroup?: number;
  /** The end of the CLI's stderr when it failed. */
  readonly error?: string;
}

/** A folder with the config of a `mode` role of `perAz` instances per AZ. */
export const writeBenchConfig = async (mode: Mode, perAz: number, targetsPerGroup?: number) => {
  const dir = await mkdtemp(join(tmpdir(), 'mr-bench-'));
  const file = join(dir, 'replacer.yml');
  await writeFile(file, benchYaml(mode, perAz, targetsPerGroup));
  return { dir, file };
};

export const cliEnv = (sandbox: SandboxProcess, dir: string): Record<string, string> => ({
  ...sandboxEnv(sandbox.url, SANDBOX_API_KEY, 'ap-northeast-1'),
  MACKEREL_REPLACER_JOURNAL_DIR: join(dir, 'journal'),
});

const control = async <T>(sandbox: SandboxProcess, path: string, init?: RequestInit): Promise<T> => {
  const response = await fetch(`${sandbox.url}/_sandbox/${path}`, init);
  if (!response.ok) throw new Error(`sandbox ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
};

/** The bench's instance type, t3.small, has 2 vCPUs. */
const T3_SMALL_VCPUS = 2;

/** Replaces a `mode` role of about `size` instances (a multiple of the AZs) and measures it. */
export const benchDeploy = async (mode: Mode, size: number): Promise<DeployResult> => {
  const perAz = Math.max(1, Math.floor(size / SUBNETS.length));
  const instances = perAz * SUBNETS.length;
  const targetsPerGroup = targetsPerGroupFor(mode, instances);
  const { dir, file } = await writeBenchConfig(mode, perAz, targetsPerGroup);
  const sandbox = await startSandboxProcess(file);
  try {
    // The raised quotas old and new side by side need, as AWS grants them on request.
    const edits = [
      { op: 'vcpu-quota', limit: 2 * instances * T3_SMALL_VCPUS },
      ...(targetsPerGroup === undefined ? [] : [{ op: 'targets-per-group', limit: targetsPerGroup }]),
    ];
    await control(sandbox, 'world', { method: 'POST', body: JSON.stringify(edits) });
    const cpuBefore = await sandbox.cpuSeconds();
    const run = await runCli(['replace', '--config', file, '--role', mode], cliEnv(sandbox, dir));
    const sandboxCpu = (await sandbox.cpuSeconds()) - cpuBefore;
    const { requests } = await control<{ requests: RequestRecord[] }>(sandbox, 'requests');
    const { events } = await control<{ events: WorldEvent[] }>(sandbox, 'events');
    const state = await control<SandboxState>(sandbox, 'state');
    const path = criticalPath({
      events,
      hosts: state.hosts,
      drainSimMs: mode === 'web' ? Math.max(...state.targetGroups.map((group) => group.deregistrationDelay)) : undefined,
      stableForMs: STABLE_FOR_MS,
      timeScale: DEFAULT_TIME_SCALE,
      limits: SANDBOX_LAUNCH_LIMITS,
    });
    return {
      mode,
      instances,
      exitCode: run.code,
      wallMs: Math.round(run.wallMs),
      criticalPath: path,
      ratio: Math.round((run.wallMs / path.totalMs) * 100) / 100,
      calls: countCalls(requests, POLL_INTERVAL_MS / DEFAULT_TIME_SCALE),
      cli: { cpuSeconds: run.cpuSeconds, peakRssMb: Math.round(run.peakRssMb) },
      sandbox: { cpuSeconds: Math.round(sandboxCpu * 100) / 100 },
      ...(targetsPerGroup !== undefined && { targetsPerGroup }),
      ...(run.code !== 0 && { error: run.stderr.trim().split('\n').slice(-5).join('\n') }),
    };
  } finally {
    await sandbox.stop();
  }
};
