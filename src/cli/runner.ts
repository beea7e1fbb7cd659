import { hostname } from 'node:os';
import type { RunnerState } from '../rollout/ports.js';

/**
 * What is known of the process that ran a deploy, from its `hostname:pid`: alive or gone when it
 * ran on this machine, unknown when it ran elsewhere.
 */
export const runnerState = (runner: string): RunnerState => {
  const separator = runner.lastIndexOf(':');
  const pid = runner.slice(separator + 1);
  if (separator < 0 || runner.slice(0, separator) !== hostname() || !/^[1-9]\d*$/.test(pid)) return 'elsewhere';
  // This very process only reuses the number of a runner that ended.
  if (Number(pid) === process.pid) return 'gone';
  try {
    process.kill(Number(pid), 0);
    return 'alive';
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'gone';
  }
};
