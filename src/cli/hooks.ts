// The Hooks port: each hook is a shell command run as a child process, in its own process group
// so a timeout or an interrupt kills whatever it started too.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { HookFailure, HookRun, Hooks } from '../rollout/ports.js';
import { formatDuration } from '../config/duration.js';

/** How long a killed hook's group gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5_000;

/** The child inherits this process's environment (MACKEREL_APIKEY included, when set) plus the hook's facts. */
export const createHooks = (inherited: NodeJS.ProcessEnv): Hooks => ({
  run: (hook, onLine, call) => runCommand(hook, inherited, onLine, call.signal),
});

const runCommand = (hook: HookRun, inherited: NodeJS.ProcessEnv, onLine: (line: string) => void, signal: AbortSignal) =>
  new Promise<HookFailure>((resolve, reject) => {
    signal.throwIfAborted();
    const child = spawn(hook.command, {
      shell: true,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...inherited, ...hook.env },
    });
    let stopped: string | undefined;
    let finalKill: NodeJS.Timeout | undefined;
    const kill = (why: string) => {
      stopped ??= why;
      killGroup(child.pid, 'SIGTERM');
      finalKill ??= setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
    };
    const timer = setTimeout(() => kill(`timed out after ${formatDuration(hook.timeout)} and was killed`), hook.timeout);
    const onAbort = () => kill('interrupted, and was killed');
    signal.addEventListener('abort', onAbort, { once: true });
    const streams = [child.stdout, child.stderr].map((stream) => {
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      lines.on('line', onLine);
      return new Promise((done) => lines.once('close', done));
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.once('close', async (code, killedBy) => {
      clearTimeout(timer);
      clearTimeout(finalKill);
      signal.removeEventListener('abort', onAbort);
      await Promise.all(streams);
      if (stopped) resolve(stopped);
      else if (code === 0) resolve(undefined);
      else resolve(code === null ? `killed by ${killedBy}` : `exited ${code}`);
    });
  });

const killGroup = (pid: number | undefined, how: NodeJS.Signals): void => {
  if (pid === undefined) return;
  try {
    process.kill(-pid, how);
  } catch {
    // The group is gone already.
  }
};
