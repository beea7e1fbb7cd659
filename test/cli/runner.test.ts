import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runnerState } from '../../src/cli/runner.js';

describe('the runner of a deploy, from its hostname:pid', () => {
  it('is alive while its process runs on this machine', () => {
    expect(runnerState(`${hostname()}:${process.ppid}`)).toBe('alive');
  });

  it('is gone once its process has ended', () => {
    const { pid } = spawnSync(process.execPath, ['-e', '']);
    expect(runnerState(`${hostname()}:${pid}`)).toBe('gone');
  });

  it('is unknown on another machine, or when the record is damaged', () => {
    for (const runner of ['other-host:1', `${hostname()}:-1`, `${hostname()}:0`, `${hostname()}:`, 'garbage']) {
      expect(runnerState(runner), runner).toBe('elsewhere');
    }
  });
});
