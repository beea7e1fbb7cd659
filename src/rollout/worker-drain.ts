// Worker mode's drain: the old hosts are in `maintenance` (a worker watching its own host status
// stops taking jobs) and stay running for `workerDrain` before they are terminated.
import { type Deployment, save } from './context.js';
import { waitFor } from './wait.js';

/**
 * Waits until the drain recorded in the journal ends. The end is recorded once, when the drain
 * starts, so a resume after a crash waits only what is left of it. An interrupt stops the wait
 * (the deploy stays at cutover, and resume waits out the rest).
 */
export const awaitWorkerDrain = async (run: Deployment): Promise<void> => {
  const { spec, deps, record } = run;
  const drainMs = spec.workerDrain ?? 0;
  if (drainMs === 0 || record.snapshot.length === 0) return;
  if (record.workerDrainUntil === undefined) {
    record.workerDrainUntil = deps.clock.now() + drainMs;
    await save(run);
  }
  const until = record.workerDrainUntil;
  const hostIds = record.snapshot.map((member) => member.hostId);
  const waitingFor = [`old hosts ${hostIds.join(', ')} in maintenance until ${new Date(until).toISOString()} (workerDrain)`];
  try {
    await waitFor(
      async () => (deps.clock.now() >= until ? { kind: 'passed' } : { kind: 'pending', done: 0, total: hostIds.length, waitingFor }),
      {
        clock: deps.clock,
        interval: Math.min(spec.pollInterval, drainMs),
        timeout: Infinity,
        signal: run.signal,
        what: 'old workers drained',
        report: { emit: deps.emit, phase: 'cutover' },
      },
    );
  } catch (error) {
    if (run.signal.aborted) return;
    throw error;
  }
  deps.emit({ type: 'step.done', phase: 'cutover', what: 'waited workerDrain for the old workers', ids: hostIds });
};
