import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import type { SimClock } from './clock.js';
import { AGENT_USER_AGENT, agentHostBody, type InstanceFacts } from './host-payload.js';
import { type AgentConfig, HOST_STATUSES, type SimHost } from './world.js';

/** Simulated ms between two looks at EC2. */
const POLL_INTERVAL = 2_000;
/** Simulated ms from "running" until the agent has started and registered. */
const REGISTER_DELAY = 10_000;

export interface AgentOptions {
  /** Any EC2 endpoint: the agent finds instances only through the API. */
  readonly ec2Endpoint: string;
  readonly region: string;
  /** Base URL of the Mackerel API (`…` in `…/api/v0/hosts`). */
  readonly mackerelBase: string;
  readonly apiKey: string;
  readonly clock: SimClock;
  /** The agent config on an instance's disk: its image's, as its user data rewrote it. */
  readonly configOf: (instanceId: string) => AgentConfig;
  /** Instances whose agent never starts. */
  readonly isSilent: (instanceId: string) => boolean;
}

export interface Agent {
  stop(): Promise<void>;
}

const factsOf = (instance: Instance, reservationId: string): InstanceFacts => ({
  id: instance.InstanceId ?? '',
  instanceType: instance.InstanceType ?? '',
  az: instance.Placement?.AvailabilityZone ?? '',
  securityGroups: (instance.SecurityGroups ?? []).map((group) => group.GroupName ?? group.GroupId ?? ''),
  imageId: instance.ImageId ?? '',
  privateIp: instance.PrivateIpAddress ?? '',
  privateDns: instance.PrivateDnsName ?? '',
  reservationId,
});

const instancesOf = (answer: { Reservations?: { ReservationId?: string; Instances?: Instance[] }[] }) =>
  (answer.Reservations ?? []).flatMap((reservation) => (reservation.Instances ?? []).map((instance) => ({ instance, reservation })));

/**
 * A mackerel-agent on every running instance, as `prepareHost` in mackerel-agent's
 * command/command.go (v0.87.0) starts it, some seconds after the instance is first seen running:
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
 */
export const startAgent = (options: AgentOptions): Agent => {
  const ec2 = new EC2Client({
    endpoint: options.ec2Endpoint,
    region: options.region,
    credentials: { accessKeyId: 'sandbox-agent', secretAccessKey: 'sandbox-agent' },
    maxAttempts: 1,
    customUserAgent: AGENT_USER_AGENT,
  });
  const controller = new AbortController();
  const { signal } = controller;

  const mackerel = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${options.mackerelBase}/api/v0${path}`, {
      method,
      headers: { 'X-Api-Key': options.apiKey, 'Content-Type': 'application/json', 'User-Agent': AGENT_USER_AGENT },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal,
    });
    if (!response.ok) throw new Error(`Mackerel ${method} ${path} answered ${response.status}`);
    return response.json();
  };
  const getHost = async (id: string) => ((await mackerel('GET', `/hosts/${id}`)) as { host: SimHost }).host;

  const describe = (filters: Record<string, string[]>) =>
    ec2.send(new DescribeInstancesCommand({ Filters: Object.entries(filters).map(([Name, Values]) => ({ Name, Values })) }), { abortSignal: signal });

  // A host that exists already belongs to an agent that started long ago (the seeded fleet):
  // adopt it and leave its status alone, whatever the tool has set it to.
  const findHost = async (facts: InstanceFacts): Promise<string | undefined> => {
    const customIdentifier = `${facts.id}.ec2.amazonaws.com`;
    const query = new URLSearchParams([['customIdentifier', customIdentifier], ...HOST_STATUSES.map((s) => ['status', s])]);
    const found = (await mackerel('GET', `/hosts?${query}`)) as { hosts: SimHost[] };
    return found.hosts[0]?.id;
  };

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

  /** The host id, or undefined when the instance stopped before its agent came up. */
  const register = async (facts: InstanceFacts): Promise<string | undefined> => {
    const config = options.configOf(facts.id);
    const adopted = config.idFileHostId === undefined ? await findHost(facts) : undefined;
    if (adopted !== undefined) return adopted;
    // A real agent dies with its instance: one terminated since the last poll never registers.
    const still = await describe({ 'instance-id': [facts.id], 'instance-state-name': ['running'] });
    if (instancesOf(still).length === 0) return undefined;
    const host = config.idFileHostId === undefined ? await createHost(facts, config) : await claimHost(config.idFileHostId, facts, config);
    if (config.onStart !== undefined && config.onStart !== host.status) await mackerel('POST', `/hosts/${host.id}/status`, { status: config.onStart });
    return host.id;
  };

  /** Instance id → its host, once its agent has started (undefined: it never will). */
  const hosts = new Map<string, string | undefined>();
  const firstSeenRunning = new Map<string, number>();
  const retired = new Set<string>();

  const registerDue = async (): Promise<void> => {
    const now = options.clock.now();
    const due = instancesOf(await describe({ 'instance-state-name': ['running'] })).flatMap(({ instance, reservation }) => {
      const id = instance.InstanceId ?? '';
      if (hosts.has(id) || options.isSilent(id)) return [];
      const seen = firstSeenRunning.get(id) ?? now;
      firstSeenRunning.set(id, seen);
      return now - seen >= REGISTER_DELAY ? [factsOf(instance, reservation.ReservationId ?? '')] : [];
    });
    // One host failing to register must not hold the others back; it is retried next poll.
    await Promise.allSettled(due.map(async (facts) => hosts.set(facts.id, await register(facts))));
  };

  // Within a poll of the shutdown starting, an auto-retiring agent retires its host, once: a
  // retirement that fails (the tool retired the host first) is not tried again.
  const retireStopped = async (): Promise<void> => {
    const watched = [...hosts].filter(([id, host]) => host !== undefined && !retired.has(id) && options.configOf(id).autoRetirement);
    if (watched.length === 0) return;
    const stopping = await describe({ 'instance-id': watched.map(([id]) => id), 'instance-state-name': ['shutting-down', 'terminated'] });
    const ids = instancesOf(stopping).map(({ instance }) => instance.InstanceId ?? '');
    for (const id of ids) retired.add(id);
    await Promise.allSettled(ids.map((id) => mackerel('POST', `/hosts/${hosts.get(id)}/retire`, {})));
  };

  const loop = (async () => {
    while (!signal.aborted) {
      const started = options.clock.now();
      // A failed poll is retried at the next one, as the agent retries its API calls.
      await registerDue().catch(() => undefined);
      await retireStopped().catch(() => undefined);
      // Every agent of a large fleet shares the sandbox's one thread with the tool: rest at least
      // three times as long as the poll took, so the agents never take more than a quarter of it.
      const rest = Math.max(POLL_INTERVAL, 3 * (options.clock.now() - started));
      await options.clock.sleep(rest, signal).catch(() => undefined);
    }
  })();

  return {
    stop: async () => {
      controller.abort();
      await loop;
      ec2.destroy();
    },
  };
};
