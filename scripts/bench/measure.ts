// What a deploy cost, read from the sandbox's own records: the critical path that no tool could
// beat, and the API calls the tool made.
import type { RequestRecord } from '../../src/sandbox/control.js';
import { defaultTiming, type SimHost, type WorldEvent } from '../../src/sandbox/world.js';

/** EC2's launch bucket: `launchBurst` instances at once, then `launchRefillPerSecond` more each second. */
export interface LaunchLimits {
  readonly launchBurst: number;
  readonly launchRefillPerSecond: number;
}

export interface CriticalPath {
  /** The slowest new instance from its launch: boot, then its agent's registration or its health checks passing, whichever comes later. */
  readonly slowestInstanceMs: number;
  /**
   * From the first launch until the last new instance is ready, had each launch gone out the moment
   * the launch bucket held it: the n-th launch no sooner than `(n - launchBurst) / launchRefillPerSecond`,
   * each instance taking as long as it did.
   */
  readonly readyMs: number;
  readonly stableForMs: number;
  /** The deregistration delay the old targets drain for (web mode). */
  readonly drainMs: number;
  /** How long the launch bucket takes to refill for the launches past its burst. */
  readonly refillMs: number;
  readonly totalMs: number;
}

const timesOf = (events: readonly WorldEvent[], type: WorldEvent['type']): Map<string, number> => {
  const times = new Map<string, number>();
  for (const event of events) {
    if (event.type !== type) continue;
    const key = 'instanceId' in event ? event.instanceId : 'hostId' in event ? event.hostId : undefined;
    if (key !== undefined && !times.has(key)) times.set(key, event.t);
  }
  return times;
};

/**
 * The deploy's critical path in real ms: the sandbox's simulated durations times `timeScale`, plus
 * `stableForMs`, which the tool waits by its own (real) clock.
 */
export const criticalPath = (world: {
  readonly events: readonly WorldEvent[];
  readonly hosts: readonly SimHost[];
  /** Simulated ms the role's target groups drain; undefined in worker mode. */
  readonly drainSimMs: number | undefined;
  readonly stableForMs: number;
  readonly timeScale: number;
  readonly limits: LaunchLimits;
}): CriticalPath => {
  const launched = timesOf(world.events, 'instance.launched');
  const running = timesOf(world.events, 'instance.running');
  const hostRegistered = timesOf(world.events, 'host.registered');
  const registered = new Map<string, number>();
  for (const host of world.hosts) {
    const instanceId = host.customIdentifier?.replace(/\.ec2\.amazonaws\.com$/, '');
    const at = hostRegistered.get(host.id);
    if (instanceId !== undefined && at !== undefined) registered.set(instanceId, at);
  }
  const web = world.drainSimMs !== undefined;
  const healthChecks = web ? defaultTiming.healthInterval * defaultTiming.healthyThreshold : 0;
  let slowestSim = 0;
  let readySim = 0;
  const inLaunchOrder = [...launched].sort((a, b) => a[1] - b[1]);
  inLaunchOrder.forEach(([id, launchedAt], index) => {
    const runningAt = running.get(id);
    const registeredAt = registered.get(id);
    if (runningAt === undefined || registeredAt === undefined) return;
    const took = runningAt - launchedAt + Math.max(registeredAt - runningAt, healthChecks);
    const earliestLaunch = (Math.max(0, index + 1 - world.limits.launchBurst) / world.limits.launchRefillPerSecond) * 1000;
    slowestSim = Math.max(slowestSim, took);
    readySim = Math.max(readySim, earliestLaunch + took);
  });
  const pastBurst = Math.max(0, launched.size - world.limits.launchBurst);
  const refillSim = (pastBurst / world.limits.launchRefillPerSecond) * 1000;
  const real = (simMs: number) => simMs * world.timeScale;
  const path = {
    slowestInstanceMs: real(slowestSim),
    readyMs: real(readySim),
    stableForMs: web ? world.stableForMs : 0,
    drainMs: real(world.drainSimMs ?? 0),
    refillMs: real(refillSim),
  };
  return { ...path, totalMs: path.readyMs + path.stableForMs + path.drainMs };
};

export interface Calls {
  readonly total: number;
  /** Operation (EC2/ELBv2 Action, or `METHOD /route` for Mackerel) → calls, most first. */
  readonly byOperation: Readonly<Record<string, number>>;
  /** Poll intervals in the verify phase: from the last launch or registration to the next Mackerel status change. */
  readonly pollCycles: number;
  /** Reads in the verify phase per poll interval, and by operation. */
  readonly perPollCycle: { readonly total: number; readonly byOperation: Readonly<Record<string, number>> };
}

const countByAction = (requests: readonly RequestRecord[]): Record<string, number> => {
  const counts = new Map<string, number>();
  for (const request of requests) counts.set(request.action, (counts.get(request.action) ?? 0) + 1);
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]));
};

const VERIFY_STARTS_AFTER = new Set(['RunInstances', 'RegisterTargets']);
const VERIFY_ENDS_AT = 'POST /api/v0/hosts/bulk-update-statuses';

/** The tool's calls, and those of its verify phase per poll interval (`pollIntervalSimMs`, in the sandbox's time). */
export const countCalls = (requests: readonly RequestRecord[], pollIntervalSimMs: number): Calls => {
  const tool = requests.filter((request) => request.by === 'client');
  const start = Math.max(
    ...tool.filter((request) => request.mutating && VERIFY_STARTS_AFTER.has(request.action)).map((request) => request.t),
  );
  const end = tool.find((request) => request.action === VERIFY_ENDS_AT && request.t > start)?.t ?? Number.POSITIVE_INFINITY;
  const polls = tool.filter((request) => !request.mutating && request.t > start && request.t < end);
  const pollCycles = Number.isFinite(start) && Number.isFinite(end) ? (end - start) / pollIntervalSimMs : 0;
  const perCycle = (n: number) => (pollCycles > 0 ? Math.round((n / pollCycles) * 100) / 100 : 0);
  return {
    total: tool.length,
    byOperation: countByAction(tool),
    pollCycles: Math.round(pollCycles * 10) / 10,
    perPollCycle: {
      total: perCycle(polls.length),
      byOperation: Object.fromEntries(Object.entries(countByAction(polls)).map(([action, n]) => [action, perCycle(n)])),
    },
  };
};
