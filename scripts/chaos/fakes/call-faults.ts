// Fault hooks at the port itself, below any retry: a call that throws once or always, or hangs
// until its deadline. What the services' own faults cannot express: an adapter giving up, a bug.
import type { Call } from '../../../src/rollout/ports.js';
import type { FakeProcess } from './process.js';
import type { PortName, World } from './world.js';

const aborted = (signal: AbortSignal): Promise<never> =>
  new Promise((_, reject) => {
    const fail = () => reject(Object.assign(new Error('Request aborted', { cause: signal.reason }), { name: 'AbortError' }));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });

const defaultError = (port: PortName, method: string) => () => new Error(`injected failure of ${port}.${method}`);

/** Wraps every method of `port`: a matching CallFault answers instead of the world. */
export const withCallFaults = <T extends object>(world: World, process: FakeProcess, name: PortName, port: T): T => {
  const wrapped: Record<string, unknown> = {};
  for (const [method, impl] of Object.entries(port)) {
    if (typeof impl !== 'function') continue;
    wrapped[method] = async (...args: unknown[]) => {
      const fault = world.callFaults.find((f) => f.port === name && f.method === method && f.times > 0 && (f.when?.(args) ?? true));
      if (!fault) return (impl as (...a: unknown[]) => Promise<unknown>)(...args);
      fault.times--;
      await process.pass();
      if (fault.hang) {
        const call = args.find((arg): arg is Call => typeof arg === 'object' && arg !== null && 'signal' in arg);
        return call ? aborted(call.signal) : new Promise(() => undefined);
      }
      throw (fault.error ?? defaultError(name, method))();
    };
  }
  return wrapped as T;
};
