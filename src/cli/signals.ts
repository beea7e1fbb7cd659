/** A second signal this soon after the first is the same one, delivered again to the process group. */
export const SAME_SIGNAL_MS = 2_000;

/** The signals that stop a run safely, and the exit code each ends it with (128 + its number). */
export const STOP_SIGNALS = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

export type StopSignal = keyof typeof STOP_SIGNALS;

/** `stop`: roll back or finish the step, safely. `repeat`: the first signal again. `exit`: at once. */
export type SignalVerdict = 'stop' | 'repeat' | 'exit';

/**
 * Decides what each stopping signal means. Supervisors (`timeout`, CI agents) signal the process and
 * then its process group, so one intent can arrive twice in quick succession: a second signal within
 * SAME_SIGNAL_MS of the first changes nothing. A later second one, or any third, exits at once.
 */
export const signalPolicy = (now: () => number = Date.now) => {
  let first: number | undefined;
  let count = 0;
  return (): SignalVerdict => {
    count += 1;
    if (first === undefined) {
      first = now();
      return 'stop';
    }
    return count === 2 && now() - first < SAME_SIGNAL_MS ? 'repeat' : 'exit';
  };
};
