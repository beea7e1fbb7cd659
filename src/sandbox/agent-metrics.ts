import { createHash } from 'node:crypto';
import type { PostedValue } from './metrics.js';
import type { Timeline } from './timeline.js';

const MINUTE = 60_000;
/**
 * mackerel-agent posts at second 0 of every minute plus a per-host delay of 0 to 59 s (from the
 * SHA-1 of the host id). The sandbox rounds the delay down to 10 s steps, so the agents of a whole
 * fleet post in at most 6 requests a simulated minute.
 */
const DELAY_STEP = 10_000;

export const postDelayOf = (hostId: string): number => (createHash('sha1').update(hostId).digest()[0]! % 6) * DELAY_STEP;

/** The instant after `at` when the host's agent posts next. */
const nextPostAt = (hostId: string, at: number): number => (Math.floor(at / MINUTE) + 1) * MINUTE + postDelayOf(hostId);

/** The load averages a quiet host reports, told apart by host. */
const loadValues = (hostId: string, time: number): PostedValue[] => {
  const load = (createHash('sha1').update(hostId).digest()[1]! % 50) / 100;
  return [
    { hostId, name: 'loadavg1', time, value: load },
    { hostId, name: 'loadavg5', time, value: load },
    { hostId, name: 'loadavg15', time, value: load },
  ];
};

export interface PostingOptions {
  readonly agenda: Timeline;
  /** Tells the agents' loop that the agenda changed. */
  readonly wake: () => void;
  readonly run: (task: () => Promise<unknown>) => void;
  /** POST /api/v0/tsdb with these values. */
  readonly send: (values: readonly PostedValue[]) => Promise<unknown>;
  /** The host of the instance's running agent; undefined once the agent stopped. */
  readonly hostOf: (instanceId: string) => string | undefined;
  readonly posts: (instanceId: string, hostId: string) => boolean;
  readonly epochSeconds: (at: number) => number;
}

/**
 * The agents' metric posts (mackerel-agent's loop: the first collection at start, then once a
 * minute): returns what starts an instance's agent posting at `at`. The agents due at one instant
 * post in one request, as POST /api/v0/tsdb takes values of many hosts. An agent that stopped
 * posts no more; a muted one skips its posts until it is not.
 */
export const startPosting = (options: PostingOptions) => {
  const due = new Map<number, Set<string>>();
  const postAt = (instanceId: string, at: number): void => {
    const batch = due.get(at);
    if (batch) {
      batch.add(instanceId);
      return;
    }
    due.set(at, new Set([instanceId]));
    options.agenda.schedule(at, () => postDue(at));
    options.wake();
  };
  const postDue = (at: number): void => {
    const instanceIds = due.get(at) ?? new Set<string>();
    due.delete(at);
    const values: PostedValue[] = [];
    for (const instanceId of instanceIds) {
      const hostId = options.hostOf(instanceId);
      if (hostId === undefined) continue;
      postAt(instanceId, nextPostAt(hostId, at));
      if (options.posts(instanceId, hostId)) values.push(...loadValues(hostId, options.epochSeconds(at)));
    }
    if (values.length > 0) options.run(() => postBatch(values));
  };
  // One request for the lot; when it fails (a host of it retired meanwhile fails it whole), each
  // host's own request, as each real agent posts alone.
  const postBatch = async (values: readonly PostedValue[]): Promise<void> => {
    try {
      await options.send(values);
    } catch {
      const byHost = new Map<string, PostedValue[]>();
      for (const value of values) byHost.set(value.hostId, [...(byHost.get(value.hostId) ?? []), value]);
      for (const own of byHost.values()) await options.send(own).catch(() => undefined);
    }
  };
  return postAt;
};
