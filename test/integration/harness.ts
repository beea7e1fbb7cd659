// Whole deploys against a real sandbox on loopback: the CLI either in-process (main) or as the
// real child process, with the standard environment switches pointing at the sandbox.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, writeFile, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sandboxEnv } from '../../src/cli/sandbox.js';
import { loadConfig } from '../../src/config/load.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import type { Fault } from '../../src/sandbox/faults.js';
import {
  type RequestRecord,
  type Run,
  type SimHost,
  type State,
  TG_ARN,
  type WorldEvent,
  runChildUntil,
  runInProcess,
} from '../../scripts/chaos/sandbox-world.js';

export const API_KEY = 'sk-sandbox-SECRET-7f3a91';
// The built CLI, whether this module runs from source (vitest) or from dist/ (the chaos script).
const here = import.meta.url;
export const BIN = fileURLToPath(new URL(here.endsWith('.ts') ? '../../dist/src/cli/bin.js' : '../../src/cli/bin.js', here));

// The shapes of the sandbox's control endpoint, shared with the chaos runner.
export type { RequestRecord, Run, SimGroup, SimHost, SimInstance, State, WorldEvent } from '../../scripts/chaos/sandbox-world.js';
export { TG_ARN };

export interface World {
  readonly sandbox: Sandbox;
  /** The test's own folder: config, user data, and the journal under journal/. */
  readonly dir: string;
  readonly configPath: string;
  readonly env: Record<string, string>;
  /** Runs the CLI in this process. */
  cli(...args: string[]): Promise<Run>;
  /** Runs the built CLI as a child process. */
  spawn(...args: string[]): Promise<Run>;
  /** Starts the built CLI as a child process; `printed` settles once its stdout matches. */
  start(...args: string[]): { printed(pattern: RegExp): Promise<void>; readonly done: Promise<Run> };
  /** Runs the built CLI as a child process and sends it `signal` (or runs it) when its stdout first matches `when`. */
  spawnUntil(when: RegExp, signal: NodeJS.Signals | (() => void), ...args: string[]): Promise<Run & { signalled: boolean }>;
  inject(...faults: Fault[]): Promise<void>;
  state(): Promise<State>;
  requests(): Promise<RequestRecord[]>;
  events(): Promise<WorldEvent[]>;
  close(): Promise<void>;
}

export interface WorldOptions {
  /** The Mackerel API key the sandbox accepts and the tool is given. @default API_KEY */
  readonly apiKey?: string;
  /** The contents of user_data/boot.sh. */
  readonly userData?: string;
  /** Added to the tool's environment, in process and as a child. */
  readonly env?: Readonly<Record<string, string>>;
  /** The sandbox's real ms per simulated ms. @default the sandbox's own (0.01) */
  readonly timeScale?: number;
}

/** Writes `yaml` (and a user data file beside it) to a fresh folder and starts a sandbox seeded from it. */
export const startWorld = async (yaml: string, options: WorldOptions = {}): Promise<World> => {
  const apiKey = options.apiKey ?? API_KEY;
  const dir = await mkdtemp(join(tmpdir(), 'mr-it-'));
  await mkdir(join(dir, 'user_data'));
  await writeFile(join(dir, 'user_data', 'boot.sh'), options.userData ?? '#!/bin/sh\necho pull the app\n');
  const configPath = join(dir, 'replacer.yml');
  await writeFile(configPath, yaml);
  const config = await loadConfig(configPath);
  const region = config.region ?? 'ap-northeast-1';
  const sandbox = await startSandbox({ config: { ...config, region }, apiKey, timeScale: options.timeScale });
  const env = { ...sandboxEnv(sandbox.url, apiKey, region), MACKEREL_REPLACER_JOURNAL_DIR: join(dir, 'journal'), ...options.env };
  // The AWS SDK reads its endpoint and credentials from process.env; each test file has its own process.
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
    env,
    cli: (...args) => runInProcess(args),
    spawn: (...args) => runChild(args, env),
    start: (...args) => startChild(args, env),
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

const runChild = (args: string[], env: Record<string, string>): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });

const startChild = (args: string[], env: Record<string, string>) => {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr })));
  const printed = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const look = () => {
        if (!pattern.test(stdout)) return;
        child.stdout.off('data', look);
        resolve();
      };
      child.stdout.on('data', look);
      look();
      void done.then((run) => reject(new Error(`exited ${run.code} before printing ${pattern}: ${run.stdout}${run.stderr}`)));
    });
  return { printed, done };
};

/** A config with one web and one worker role; `web` and `worker` override their fields; `environments` adds environments after staging. */
export const configYaml = (
  options: { subnets?: string[]; perAz?: number | 'match'; web?: string; worker?: string; environments?: string } = {},
): string => {
  const subnets = `[${(options.subnets ?? ['subnet-0aaa1111', 'subnet-0ccc3333']).join(', ')}]`;
  const perAz = options.perAz ?? 1;
  return `region: ap-northeast-1
pollInterval: 50ms
environments:
  staging:
    mackerel: { service: reactio-staging }
    roles:
      web:
        ami: { owners: [self], name: "reactio-web-*" }
        instanceType: t3.small
        subnets: ${subnets}
        securityGroupIds: [sg-0123abcd]
        userDataFile: user_data/boot.sh
        perAz: ${perAz}
        targetGroups: [${TG_ARN}]
        stableFor: 150ms
        timeouts: { launch: 20s, verify: 3s, unhealthy: 1s }
${options.web ?? ''}
      worker:
        ami: { owners: [self], name: "reactio-worker-*" }
        instanceType: t3.small
        subnets: ${subnets}
        securityGroupIds: [sg-0123abcd]
        perAz: ${perAz}
        timeouts: { launch: 20s, verify: 3s, unhealthy: 1s }
${options.worker ?? ''}
${options.environments ?? ''}
`;
};

/** The instance a Mackerel host stands for, from its customIdentifier. */
export const instanceOf = (host: SimHost): string | undefined => host.customIdentifier?.split('.')[0];

export const newestImage = (state: State, prefix: string): string => {
  const images = state.images.filter((image) => image.name.startsWith(prefix));
  images.sort((a, b) => (a.name < b.name ? 1 : -1));
  return images[0]!.id;
};
