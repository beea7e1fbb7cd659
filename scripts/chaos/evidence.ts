// What a chaos run leaves to judge it by: the sandbox's state before and after, its event log, the
// commands run with their output, the deploy's final journal status and every file written.
import type { State, WorldEvent } from './sandbox-world.js';
import type { Command, Options, Role } from './schedule.js';

export type Event = WorldEvent & { readonly targetGroupArn?: string; readonly status?: string };

export interface CommandRun {
  readonly command: Command;
  /** How many of the world's events had happened when it started: its own begin there. */
  readonly from: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Killed with SIGKILL at its crash point. */
  readonly killed: boolean;
  /** Run while another recovery command of the same deploy ran (schedule.ts, alsoAfter). */
  readonly concurrent?: true;
}

export interface Evidence {
  readonly role: Role;
  /** The blue/green options the deploy ran with. */
  readonly options: Options;
  /** New instances the plan launches. */
  readonly planned: number;
  readonly before: State;
  readonly after: State;
  readonly events: readonly Event[];
  readonly commands: readonly CommandRun[];
  readonly deployId?: string;
  /** The deploy record's final status; absent when the deploy was refused before it had one. */
  readonly status?: string;
  /** Values that must appear nowhere. */
  readonly secrets: readonly string[];
  readonly files: readonly { readonly path: string; readonly text: string }[];
}

export interface Violation {
  /**
   * 1-6 as numbered in DESIGN.md's invariants, `exit` for an exit code that contradicts the outcome,
   * `serving` for a role left serving less than it did (end-state.ts), or one of the blue/green options'
   * (window-invariants.ts): `kept`, `held`, `restored`, `beforeTerminate`.
   */
  readonly invariant: string;
  readonly detail: string;
}

const ROLE_TAG = 'mackerel-replacer:role';

/** The role's instances before the run: the snapshot the deploy may replace. */
export const oldIds = (ev: Evidence): string[] =>
  ev.before.instances.filter((instance) => instance.tags[ROLE_TAG] === `staging/${ev.role}`).map((instance) => instance.id);

/** Every instance that exists now and did not before: the deploy's launches (one deploy per run). */
export const newIds = (ev: Evidence): string[] => {
  const existed = new Set(ev.before.instances.map((instance) => instance.id));
  return ev.after.instances.filter((instance) => !existed.has(instance.id)).map((instance) => instance.id);
};

/** The world's events while command `i` ran. */
export const eventsOf = (ev: Evidence, i: number): readonly Event[] =>
  ev.events.slice(ev.commands[i]!.from, ev.commands[i + 1]?.from ?? ev.events.length);

export const hostsOf = (state: State, instanceId: string) =>
  state.hosts.filter((host) => host.customIdentifier?.split('.')[0] === instanceId);

interface WaveFacts {
  readonly waves?: readonly { readonly old: readonly string[] }[];
  readonly wave?: number;
  readonly served?: Record<string, string[]>;
}

const recordOf = (ev: Evidence): WaveFacts | undefined => {
  const file = ev.files.find((f) => ev.deployId !== undefined && f.path.endsWith(`${ev.deployId}.json`));
  return file && (JSON.parse(file.text) as WaveFacts);
};

/** The deploy ran in waves, as its journal record says. */
export const inWaves = (ev: Evidence): boolean => recordOf(ev)?.waves !== undefined;

/**
 * A deploy in waves that rolled back a later wave: the new instances of the waves completed (they
 * stay in service) and the old instances those waves replaced, as its journal record says.
 */
export const completedWaves = (ev: Evidence): { readonly served: string[]; readonly replaced: string[] } | undefined => {
  const record = recordOf(ev);
  if (!record?.waves || !record.wave) return undefined;
  return { served: Object.values(record.served ?? {}).flat(), replaced: record.waves.slice(0, record.wave).flatMap((wave) => wave.old) };
};
