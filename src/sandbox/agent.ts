import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import type { SimClock } from './clock.js';
import { AGENT_USER_AGENT, agentHostBody, type InstanceFacts, roleFullnamesFromTags } from './host-payload.js';

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
  /** Mackerel service of an environment: with the instance's tags, gives the host's role. */
  readonly serviceOf: (env: string) => string | undefined;
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

const tagsOf = (instance: Instance): Record<string, string> =>
  Object.fromEntries((instance.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));

/**
 * A mackerel-agent on every running instance: some seconds after an instance is first seen
 * running, it registers the host and sets it `working`, as `on_start = "working"` would; like
 * the real agent, it adopts an existing host with the same customIdentifier instead.
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

  const register = async (facts: InstanceFacts, tags: Record<string, string>): Promise<void> => {
    const customIdentifier = `${facts.id}.ec2.amazonaws.com`;
    const query = new URLSearchParams([['customIdentifier', customIdentifier], ...['working', 'standby', 'maintenance', 'poweroff'].map((s) => ['status', s])]);
    // A host that exists already belongs to an agent that started long ago (the seeded fleet):
    // adopt it and leave its status alone, whatever the tool has set it to.
    const found = (await mackerel('GET', `/hosts?${query}`)) as { hosts: unknown[] };
    if (found.hosts.length > 0) return;
    // A real agent dies with its instance: one terminated since the last poll never registers.
    const still = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [facts.id] }, { Name: 'instance-state-name', Values: ['running'] }] }),
      { abortSignal: signal },
    );
    if (!still.Reservations?.some((reservation) => reservation.Instances?.length)) return;
    const body = agentHostBody(facts, roleFullnamesFromTags(tags, options.serviceOf));
    const { id } = (await mackerel('POST', '/hosts', body)) as { id: string };
    await mackerel('POST', `/hosts/${id}/status`, { status: 'working' });
  };

  const registered = new Set<string>();
  const firstSeenRunning = new Map<string, number>();

  const poll = async (): Promise<void> => {
    const answer = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['running'] }] }), {
      abortSignal: signal,
    });
    const now = options.clock.now();
    const due = (answer.Reservations ?? []).flatMap((reservation) =>
      (reservation.Instances ?? []).flatMap((instance) => {
        const id = instance.InstanceId ?? '';
        if (registered.has(id) || options.isSilent(id)) return [];
        const seen = firstSeenRunning.get(id) ?? now;
        firstSeenRunning.set(id, seen);
        return now - seen >= REGISTER_DELAY ? [{ facts: factsOf(instance, reservation.ReservationId ?? ''), tags: tagsOf(instance) }] : [];
      }),
    );
    // One host failing to register must not hold the others back; it is retried next poll.
    await Promise.allSettled(due.map(({ facts, tags }) => register(facts, tags).then(() => registered.add(facts.id))));
  };

  const loop = (async () => {
    while (!signal.aborted) {
      // A failed poll is retried at the next one, as the agent retries its API calls.
      await poll().catch(() => undefined);
      await options.clock.sleep(POLL_INTERVAL, signal).catch(() => undefined);
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
