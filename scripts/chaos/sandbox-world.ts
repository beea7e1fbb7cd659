// A sandbox on loopback for one chaos run: the config written to a fresh folder, the CLI run in
// this process (or as the built child process, to be killed), faults injected and the world read
// through the sandbox's control endpoint. (test/integration/harness.ts does the same for the tests.)
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import { sandboxEnv } from '../../src/cli/sandbox.js';
import { loadConfig } from '../../src/config/load.js';
import type { Fault } from '../../src/sandbox/faults.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';

export const TG_ARN = 'arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/reactio-web/0123456789abcdef';

// The built CLI, whether this module runs from source (vitest) or from dist/ (the chaos script).
const here = import.meta.url;
const BIN = fileURLToPath(new URL(here.endsWith('.ts') ? '../../dist/src/cli/bin.js' : '../../src/cli/bin.js', here));

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface SimInstance {
  id: string;
  imageId: string;
  /** Absent in the in-memory fakes. */
  instanceType?: string;
  az: string;
  state: string;
  tags: Record<string, string>;
  launchTemplate?: { id: string; version: number };
  volumes?: { deviceName: string; volumeSize: number; volumeType: string; encrypted: boolean }[];
}
export interface SimHost {
  id: string;
  status: string;
  isRetired: boolean;
  customIdentifier?: string;
  roles: Record<string, string[]>;
}
export interface SimGroup {
  arn: string;
  healthy: number;
  minHealthy: number;
  targets: { id: string; state: string }[];
}
/** The world as GET /_sandbox/state shows it; the fakes show theirs in the same shape. */
export interface State {
  instances: SimInstance[];
  hosts: SimHost[];
  targetGroups: SimGroup[];
  images: { id: string; name: string; creationDate?: string; createdAt?: string }[];
  annotations: Record<string, unknown>[];
}
export interface RequestRecord {
  t: number;
  api: 'mackerel' | 'ec2' | 'elbv2' | 'servicequotas';
  action: string;
  status: number;
  mutating: boolean;
  by: 'client' | 'agent';
}
export interface WorldEvent {
  t: number;
  type: string;
  instanceId?: string;
  hostId?: string;
  status?: string;
}

export interface World {
  readonly sandbox: Sandbox;
  /** The run's own folder: config, and the journal under journal/. */
  readonly dir: string;
  readonly configPath: string;
  /** Runs the CLI in this process. */
  cli(...args: string[]): Promise<Run>;
  /** Runs the built CLI as a child process and sends it `signal` when its stdout first matches `when`. */
  spawnUntil(when: RegExp, signal: NodeJS.Signals, ...args: string[]): Promise<Run & { signalled: boolean }>;
  inject(...faults: Fault[]): Promise<void>;
  state(): Promise<State>;
  requests(): Promise<RequestRecord[]>;
  events(): Promise<WorldEvent[]>;
  close(): Promise<void>;
}

export interface WorldOptions {
  readonly apiKey: string;
  /** Added to the tool's environment, in process and as a child. */
  readonly env?: Readonly<Record<string, string>>;
  /** The sandbox's real ms per simulated ms. */
  readonly timeScale?: number;
}

/** Writes `yaml` (given the folder, when a function) to a fresh folder and starts a sandbox seeded from it. */
export const startWorld = async (yaml: string | ((dir: string) => string), options: WorldOptions): Promise<World> => {
  const { apiKey } = options;
  const dir = await mkdtemp(join(tmpdir(), 'mr-chaos-'));
  const configPath = join(dir, 'replacer.yml');
  await writeFile(configPath, typeof yaml === 'string' ? yaml : yaml(dir));
  const config = await loadConfig(configPath);
  const region = config.region ?? 'ap-northeast-1';
  const sandbox = await startSandbox({ config: { ...config, region }, apiKey, timeScale: options.timeScale });
  const env = { ...sandboxEnv(sandbox.url, apiKey, region), MACKEREL_REPLACER_JOURNAL_DIR: join(dir, 'journal'), ...options.env };
  // The AWS SDK reads its endpoint and credentials from process.env; each worker thread has its own.
  Object.assign(process.env, env);
  const control = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const response = await fetch(`${sandbox.url}/_sandbox/${path}`, init);
    if (!response.ok) throw new Error(`sandbox ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  return {
    sandbox,
    dir,
    configPath,
    cli: (...args) => runInProcess(args),
    spawnUntil: (when, signal, ...args) => runChildUntil(args, env, when, signal),
    inject: async (...faults) => {
      await control('faults', { method: 'POST', body: JSON.stringify(faults) });
    },
    state: () => control<State>('state'),
    requests: async () => (await control<{ requests: RequestRecord[] }>('requests')).requests,
    events: async () => (await control<{ events: WorldEvent[] }>('events')).events,
    close: async () => {
      await sandbox.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
};

/** Runs the CLI in this process. */
export const runInProcess = async (args: string[]): Promise<Run> => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    env: process.env,
    signal: new AbortController().signal,
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
};

/** Runs the built CLI as a child process and sends it `signal` (or runs it) when its stdout first matches `when`. */
export const runChildUntil = (args: string[], env: Record<string, string>, when: RegExp, signal: NodeJS.Signals | (() => void)) =>
  new Promise<Run & { signalled: boolean }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', ...env } });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!signalled && when.test(stdout)) {
        signalled = true;
        if (typeof signal === 'function') signal();
        else child.kill(signal);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code, killedBy) => resolve({ code: code ?? (killedBy === 'SIGKILL' ? 137 : 1), stdout, stderr, signalled }));
  });
