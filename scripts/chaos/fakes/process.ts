// One run of the tool, as a process that can be killed: once dead, none of its calls reach the
// world, none of its timers fire and none of its events are seen; what it had in flight never
// answers. The next process starts over from the journal and the world, as after a kill -9.
import type { Clock } from '../../../src/rollout/ports.js';

const NEVER: Promise<never> = new Promise(() => undefined);

export interface FakeProcess {
  readonly name: string;
  alive(): boolean;
  /** Resolves when the process may make its next call to a port; never, once it is dead. */
  pass(): Promise<void>;
  /** Dies at once, or after `lag` more port calls (a kill lands a little after what triggered it). */
  kill(lag?: number): void;
  /** Settles when it dies. */
  readonly died: Promise<void>;
  /** Its clock: the fake clock's timers, dropped once it is dead. */
  readonly clock: Clock;
}

export const createProcess = (name: string, clockOf: (alive: () => boolean) => Clock): FakeProcess => {
  let alive = true;
  let callsLeft: number | undefined;
  let onDeath: () => void = () => undefined;
  const died = new Promise<void>((resolve) => {
    onDeath = resolve;
  });
  const die = () => {
    if (!alive) return;
    alive = false;
    onDeath();
  };
  return {
    name,
    alive: () => alive,
    pass: () => {
      if (alive && callsLeft !== undefined) {
        if (callsLeft === 0) die();
        else callsLeft--;
      }
      return alive ? Promise.resolve() : NEVER;
    },
    kill: (lag = 0) => {
      if (lag <= 0) die();
      else callsLeft = Math.min(callsLeft ?? lag, lag);
    },
    died,
    clock: clockOf(() => alive),
  };
};

/** A process that never dies. */
export const immortal = (clock: Clock): FakeProcess => createProcess('fake', () => clock);
