// Hooks without child processes: each run is recorded with its environment and the fake time it
// started, and answers as the test says (by default it passes, printing one line).
import type { HookName, HookRun, Hooks } from '../../../src/rollout/ports.js';
import type { Conduit } from './transport.js';

export interface HookLog {
  /** Every hook run, across processes, in order. */
  readonly runs: { readonly hook: HookRun; readonly at: number }[];
  /** Hooks that fail, with the failure they report (`exited 1`). */
  readonly failing: Map<HookName, string>;
}

export const createHookLog = (): HookLog => ({ runs: [], failing: new Map() });

export const createHooks = (log: HookLog, conduit: Conduit): Hooks => ({
  run: async (hook, onLine, call) => {
    call.signal.throwIfAborted();
    await conduit.process.pass();
    log.runs.push({ hook, at: conduit.clock.now() });
    onLine(`${hook.name} ran: ${hook.command}`);
    return log.failing.get(hook.name);
  },
});
