// The Hooks adapter runs real shell commands: their lines reach the progress, the deploy's facts
// are in their environment beside the inherited one, a non-zero exit or a timeout is a failure.
import { describe, expect, it } from 'vitest';
import { createHooks } from '../../src/cli/hooks.js';
import type { HookRun } from '../../src/rollout/ports.js';

const run = async (command: string, options: { timeout?: number; signal?: AbortSignal } = {}) => {
  const lines: string[] = [];
  const hook: HookRun = { name: 'beforeTerminate', command, timeout: options.timeout ?? 10_000, env: { MR_DEPLOY_ID: 'd-1' } };
  const failure = await createHooks({ PATH: process.env.PATH, INHERITED: 'yes' }).run(hook, (line) => lines.push(line), {
    signal: options.signal ?? new AbortController().signal,
  });
  return { failure, lines };
};

describe('the hooks adapter', () => {
  it('passes the facts and the inherited environment, and reports stdout and stderr lines', async () => {
    const { failure, lines } = await run('echo "deploy $MR_DEPLOY_ID"; echo "inherited $INHERITED" >&2');
    expect(failure).toBeUndefined();
    expect(lines.sort()).toEqual(['deploy d-1', 'inherited yes']);
  });

  it('a non-zero exit is a failure naming the code', async () => {
    expect((await run('echo partial; exit 3')).failure).toBe('exited 3');
  });

  it('a command that outlives its timeout is killed, with whatever it started', async () => {
    const { failure } = await run('sleep 30 & sleep 30; echo never', { timeout: 200 });
    expect(failure).toBe('timed out after 200ms and was killed');
  });

  it('an interrupt kills it', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    expect((await run('sleep 30', { signal: controller.signal })).failure).toBe('interrupted, and was killed');
  });
});
