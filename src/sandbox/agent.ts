import { setMaxListeners } from 'node:events';
import { Pool } from 'undici';
import type { SimClock } from './clock.js';
import { AGENT_USER_AGENT, agentHostBody, customIdentifierOf, type InstanceFacts } from './host-payload.js';
import { startPosting } from './agent-metrics.js';
import { createTimeline } from './timeline.js';
import { type AgentConfig, HOST_STATUSES, type SimHost } from './world.js';

/** Simulated ms from "running" until the agent has started and registered. */
const REGISTER_DELAY = 10_000;
/** Simulated ms from "running" until cloud-final has run the user data: after the agent started. */
const USER_DATA_DELAY = 30_000;
/** Simulated ms from the start of a shutdown until an auto-retiring agent's ExecStopPost has retired its host. */
const RETIRE_DELAY = 1_000;
/** Simulated ms before an agent whose registration failed tries again. */
const RETRY_DELAY = 2_000;
/** Agents talking to the sandbox at once: a fleet that boots together still leaves room for the tool's requests. */
const CONCURRENCY = 32;

export interface AgentOptions {
  /** Base URL of the Mackerel API (`…` in `…/api/v0/hosts`). */
  readonly mackerelBase: string;
  readonly apiKey: string;
  readonly clock: SimClock;
  /** The agent config on an instance's disk once the user data ran: its image's, as the user data rewrote it. */
  readonly configOf: (instanceId: string) => AgentConfig;
  /** The config the agent starts with when the instance boots: the image's. */
  readonly bootConfigOf: (instanceId: string) => AgentConfig;
  /** Whether the user data restarts or reloads the agent (which then reads the config on disk). */
  readonly restartedByUserData: (instanceId: string) => boolean;
  /** What the instance metadata service on an instance tells its agent (undefined: no such instance). */
  readonly metadataOf: (instanceId: string) => InstanceFacts | undefined;
  /** Instances whose agent never starts. */
  readonly isSilent: (instanceId: string) => boolean;
  /** Whether the agent of this instance and host posts its metrics now (faults and edits can stop it). */
  readonly postsMetrics: (instanceId: string, hostId: string) => boolean;
}

/**
 * The agents of every instance. The sandbox's timeline tells them when an instance starts running
 * and when it starts shutting down, as an instance's own boot and shutdown start and stop its
 * agent; each reads its config and its instance metadata locally, as a real agent does, and does
 * everything else through the Mackerel API. No agent calls EC2: a real one never does.
 */
export interface Agent {
  /** The instance started running at simulated `at`, and its agent with it. */
  booted(instanceId: string, at: number): void;
  /** The instance started shutting down at simulated `at`: its agent stops. */
  stopping(instanceId: string, at: number): void;
  stop(): Promise<void>;
}

/** Runs at most `n` tasks at once, the rest in the order they came. */
const limiter = (n: number) => {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active < n) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next task, so a newcomer cannot take it in between.
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
};

/**
 * A mackerel-agent on every running instance, as `prepareHost` in mackerel-agent's
 * command/command.go (v0.87.0) starts it, some seconds after the instance starts running, from the
 * image's config: the user data runs later (cloud-final), and its config takes effect only when it
 * restarts or reloads the agent, which then updates its host (roles, and status per on_start):
 * - no id file: find the host by customIdentifier, else POST /hosts and GET it back. The host keeps
 *   the organization's default status unless `[host_status] on_start` is set and differs.
 * - an id file baked into the image: GET /hosts/<id>, then PUT its specs there. The real agent
 *   (since v0.44.1) refuses to start with "custom identifiers mismatch" when that host has another
 *   non-empty customIdentifier, and claims it silently when it has none (an image built where the
 *   metadata service was not reachable). The sandbox takes the harsher case whatever the host says:
 *   every instance of the image claims the one host, which keeps the builder's customIdentifier
 *   while its meta names whichever instance wrote last. A refusing agent only leaves an instance
 *   without a host, which the tool notices anyway; a host shared by several instances is what it
 *   must not take for a registration.
 * - `AUTO_RETIREMENT=1`: the agent's ExecStopPost retires the host when the instance shuts down.
 * An agent dies with its instance: one that shuts down before its agent registered never does.
 * The fleet already running when the sandbox starts registered long ago, and each of its agents
 * knows its host from the id file it wrote then: the sandbox reads those ids once, from one host
 * listing, and leaves those hosts alone, whatever the tool sets them to.
 */
export const startAgent = (options: AgentOptions): Agent => {
  const { clock } = options;
  const controller = new AbortController();
  const { signal } = controller;
  // Every request in flight listens for it: no limit to warn about.
  setMaxListeners(0, signal);

  // Keep-alive connections, as many as agents at work: undici's fetch costs the sandbox's one thread far more per call.
  const mackerelBase = new URL(options.mackerelBase);
  const connections = new Pool(mackerelBase.origin, { connections: CONCURRENCY });
  const mackerel = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await connections.request({
      method: method as 'GET',
      path: `${mackerelBase.pathname.replace(/\/$/, '')}/api/v0${path}`,
      headers: { 'X-Api-Key': options.apiKey, 'Content-Type': 'application/json', 'User-Agent': AGENT_USER_AGENT },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal,
    });
    const answer = await response.body.json();
    if (response.statusCode >= 300) throw new Error(`Mackerel ${method} ${path} answered ${response.statusCode}`);
    return answer;
  };
  const getHost = async (id: string) => ((await mackerel('GET', `/hosts/${id}`)) as { host: SimHost }).host;

  const allStatuses = HOST_STATUSES.map((status) => ['status', status]);
  const listHosts = async (query: string[][]) =>
    ((await mackerel('GET', `/hosts?${new URLSearchParams(query)}`)) as { hosts: SimHost[] }).hosts;

  // An agent without an id file asks for a host with its customIdentifier before registering one.
  const findHost = async (facts: InstanceFacts): Promise<string | undefined> =>
    (await listHosts([['customIdentifier', customIdentifierOf(facts.id)], ...allStatuses]))[0]?.id;

  const createHost = async (facts: InstanceFacts, config: AgentConfig): Promise<SimHost> => {
    const { id } = (await mackerel('POST', '/hosts', agentHostBody(facts, config.roles))) as { id: string };
    return getHost(id);
  };

  const claimHost = async (id: string, facts: InstanceFacts, config: AgentConfig): Promise<SimHost> => {
    const host = await getHost(id);
    // Without a customIdentifier, which leaves the builder's in place.
    await mackerel('PUT', `/hosts/${id}`, { ...agentHostBody(facts, config.roles), customIdentifier: undefined });
    return host;
  };

  /** The agents' own instants (registrations and retirements), on the sandbox's clock. */
  const agenda = createTimeline();
  /** Wakes the loop when something new is on the agenda. */
  let wake: () => void = () => undefined;
  const run = limiter(CONCURRENCY);
  const working = new Set<Promise<unknown>>();
  const track = (task: Promise<unknown>): void => {
    const settled = task.catch(() => undefined).finally(() => working.delete(settled));
    working.add(settled);
  };

  /** Instances whose agent has started (or will: first seen running). */
  const known = new Set<string>();
  /** Instance id → its host, once its agent has registered. */
  const hosts = new Map<string, string>();
  /** Instances that started shutting down: their agents are gone. */
  const stopped = new Set<string>();
  const retired = new Set<string>();

  /** Instances whose user data restarted the agent: it runs with the config on disk. */
  const restarted = new Set<string>();
  const configNow = (id: string): AgentConfig => (restarted.has(id) ? options.configOf(id) : options.bootConfigOf(id));

  /** The host id, or undefined when the instance shut down before its agent registered. */
  const register = async (facts: InstanceFacts): Promise<string | undefined> => {
    if (stopped.has(facts.id)) return undefined;
    const config = configNow(facts.id);
    const adopted = config.idFileHostId === undefined ? await findHost(facts) : undefined;
    if (adopted !== undefined) return adopted;
    if (stopped.has(facts.id)) return undefined;
    const host = config.idFileHostId === undefined ? await createHost(facts, config) : await claimHost(config.idFileHostId, facts, config);
    if (stopped.has(facts.id)) return host.id;
    if (config.onStart !== undefined && config.onStart !== host.status)
      await mackerel('POST', `/hosts/${host.id}/status`, { status: config.onStart });
    return host.id;
  };

  // Within RETIRE_DELAY of the shutdown starting, an auto-retiring agent retires its host, once: a
  // retirement that fails (the tool retired the host first) is not tried again.
  const retireLater = (id: string, shutdownAt: number): void => {
    const host = hosts.get(id);
    if (host === undefined || retired.has(id) || !options.configOf(id).autoRetirement) return;
    retired.add(id);
    agenda.schedule(shutdownAt + RETIRE_DELAY, () => track(run(() => mackerel('POST', `/hosts/${host}/retire`, {}))));
    wake();
  };

  const post = startPosting({
    agenda,
    wake: () => wake(),
    run: (task) => track(run(task)),
    send: (values) => mackerel('POST', '/tsdb', values),
    hostOf: (instanceId) => (stopped.has(instanceId) ? undefined : hosts.get(instanceId)),
    posts: options.postsMetrics,
    epochSeconds: (at) => Math.floor(clock.epoch(at) / 1000),
  });

  const registerOne = async (facts: InstanceFacts): Promise<void> => {
    try {
      const host = await register(facts);
      if (host === undefined) return;
      hosts.set(facts.id, host);
      post(facts.id, clock.now());
      if (stopped.has(facts.id)) retireLater(facts.id, clock.now());
    } catch {
      // One host failing to register must not hold the others back; its agent tries again.
      if (!signal.aborted) registerAt(facts.id, clock.now() + RETRY_DELAY);
    }
  };

  // The agents due together, a few at a time; one whose instance is shutting down is gone.
  const registerDue = (ids: readonly string[]): void => {
    for (const id of ids) {
      const facts = stopped.has(id) ? undefined : options.metadataOf(id);
      if (facts !== undefined) track(run(() => registerOne(facts)));
    }
  };

  /** Registrations that came due since the loop last looked. */
  let due: string[] = [];
  const registerAt = (id: string, at: number): void => {
    agenda.schedule(at, () => due.push(id));
    wake();
  };

  // The restarted agent reads its id file and updates its host; one not registered yet registers with the new config.
  const restart = async (id: string): Promise<void> => {
    restarted.add(id);
    const host = hosts.get(id);
    const facts = options.metadataOf(id);
    if (host === undefined || facts === undefined || stopped.has(id)) return;
    const config = configNow(id);
    await mackerel('PUT', `/hosts/${host}`, agentHostBody(facts, config.roles));
    if (config.onStart !== undefined && config.onStart !== (await getHost(host)).status)
      await mackerel('POST', `/hosts/${host}/status`, { status: config.onStart });
  };

  const firstSeen = (id: string, at: number): void => {
    if (known.has(id) || options.isSilent(id)) return;
    known.add(id);
    registerAt(id, at + REGISTER_DELAY);
    if (options.restartedByUserData(id)) {
      agenda.schedule(at + USER_DATA_DELAY, () => track(run(() => restart(id))));
      wake();
    }
  };

  // The fleet running before the sandbox started: what the id files on its disks say.
  const readIdFiles = async (): Promise<void> => {
    for (const host of await listHosts(allStatuses)) {
      const instanceId = (host.meta.cloud as { metadata?: Record<string, unknown> } | undefined)?.metadata?.['instance-id'];
      if (typeof instanceId !== 'string' || host.customIdentifier !== customIdentifierOf(instanceId) || known.has(instanceId)) continue;
      known.add(instanceId);
      hosts.set(instanceId, host.id);
      post(instanceId, clock.now());
    }
  };

  const loop = (async () => {
    while (!signal.aborted) {
      try {
        await readIdFiles();
        break;
      } catch {
        await clock.sleep(RETRY_DELAY, signal).catch(() => undefined);
      }
    }
    while (!signal.aborted) {
      agenda.runUntil(clock.now());
      if (due.length > 0) {
        const ids = due;
        due = [];
        registerDue(ids);
      }
      const next = agenda.nextAt();
      const nap = new AbortController();
      await new Promise<void>((resolve) => {
        wake = resolve;
        signal.addEventListener('abort', () => resolve(), { once: true, signal: nap.signal });
        // At least a simulated ms: the clock rounds down, so a timer may wake just before the instant.
        if (next !== undefined) clock.sleep(Math.max(1, next - clock.now()), nap.signal).then(resolve, () => undefined);
      });
      wake = () => undefined;
      nap.abort();
    }
  })();

  return {
    booted: (id, at) => firstSeen(id, at),
    stopping: (id, at) => {
      stopped.add(id);
      retireLater(id, at);
    },
    stop: async () => {
      controller.abort();
      await loop;
      while (working.size > 0) await Promise.allSettled([...working]);
      await connections.destroy();
    },
  };
};
