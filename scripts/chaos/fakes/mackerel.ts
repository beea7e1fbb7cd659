// Mackerel in memory: hosts that mackerel-agent registers some seconds after its instance starts
// running (in the organization's default status, with the roles its image's config names), and the
// Monitor port over them. Bulk calls go 30 ids at a time, as the client sends them; a chunk with an
// unknown or retired id fails whole with 404, as the API answers.
import type { Host, HostStatus, Monitor } from '../../../src/rollout/ports.js';
import { chunk } from './ec2.js';
import { createGateReads } from './mackerel-gates.js';
import { type Conduit, send, ServiceError } from './transport.js';
import type { FakeHost, FakeInstance, World } from './world.js';

const BULK = 30;
const HOSTS = 'GET /api/v0/hosts';

export const customIdentifierOf = (instanceId: string): string => `${instanceId}.ec2.amazonaws.com`;

/** The live host whose customIdentifier names this instance. */
export const hostOfInstance = (world: World, instanceId: string): FakeHost | undefined => {
  const wanted = customIdentifierOf(instanceId);
  for (const host of world.hosts.values()) if (!host.isRetired && host.customIdentifier === wanted) return host;
  return undefined;
};

const addRoles = (world: World, host: FakeHost, fullnames: readonly string[]): void => {
  for (const fullname of fullnames) {
    const [service = '', role = ''] = fullname.split(':');
    const roles = host.roles[service] ?? [];
    if (!roles.includes(role)) host.roles[service] = [...roles, role];
    world.services.set(service, new Set([...(world.services.get(service) ?? []), role]));
  }
};

export const createHost = (
  world: World,
  instance: Pick<FakeInstance, 'id'>,
  roles: readonly string[],
  status: HostStatus,
  t: number,
): FakeHost => {
  const host: FakeHost = {
    id: world.nextId('host'),
    name: `ip-${instance.id.slice(-6)}.${world.region}.compute.internal`,
    status,
    isRetired: false,
    customIdentifier: customIdentifierOf(instance.id),
    instanceId: instance.id,
    roles: {},
  };
  addRoles(world, host, roles);
  world.hosts.set(host.id, host);
  world.record({ t, type: 'host.registered', hostId: host.id });
  return host;
};

const setStatus = (world: World, host: FakeHost, status: HostStatus, t: number): void => {
  if (host.status === status) return;
  host.status = status;
  world.record({ t, type: 'host.status', hostId: host.id, status });
};

const retire = (world: World, host: FakeHost, t: number): void => {
  host.isRetired = true;
  world.record({ t, type: 'host.retired', hostId: host.id });
};

/**
 * The instance started running: its agent registers after a while, unless it is silent or the
 * instance stopped first. With a baked id file it claims the image's one host instead.
 */
export const bootAgent = (world: World, instance: FakeInstance, at: number): void => {
  if (instance.agentSilent) return;
  world.schedule(at + world.timing.agentRegister, (t) => {
    if (instance.state !== 'running') return;
    const agent = world.images.get(instance.imageId)?.agent ?? { roles: [] };
    const claimed = agent.idFileHostId === undefined ? undefined : world.hosts.get(agent.idFileHostId);
    if (claimed && !claimed.isRetired) {
      claimed.instanceId = instance.id;
      addRoles(world, claimed, agent.roles);
      if (agent.onStart) setStatus(world, claimed, agent.onStart, t);
      return;
    }
    const known = hostOfInstance(world, instance.id);
    if (known) {
      if (agent.onStart) setStatus(world, known, agent.onStart, t);
      return;
    }
    createHost(world, instance, agent.roles, agent.onStart ?? world.settings.defaultHostStatus, t);
  });
};

/** The instance is shutting down: an auto-retiring agent retires its host on the way. */
export const stopAgent = (world: World, instance: FakeInstance, at: number): void => {
  if (!world.images.get(instance.imageId)?.agent.autoRetirement) return;
  world.schedule(at + world.timing.agentRetire, (t) => {
    const host = hostOfInstance(world, instance.id);
    if (host) retire(world, host, t);
  });
};

const toHost = (host: FakeHost): Host => {
  const identified = /^(i-[0-9a-f]+)\.ec2\.amazonaws\.com$/.exec(host.customIdentifier ?? '')?.[1];
  return {
    id: host.id,
    name: host.name,
    status: host.status,
    ...((host.instanceId ?? identified) ? { instanceId: host.instanceId ?? identified } : {}),
    ...(identified ? { identifiedAs: identified } : {}),
    roles: Object.entries(host.roles).flatMap(([service, roles]) => roles.map((role) => `${service}:${role}`)),
  };
};

/** All or nothing per call: one unknown or retired id fails it with 404. */
const liveHosts = (world: World, ids: readonly string[]): FakeHost[] => {
  const hosts = ids.map((id) => world.hosts.get(id));
  if (hosts.some((host) => host === undefined || host.isRetired)) throw new ServiceError('404', 'Some of the hosts were not found.', 404);
  return hosts as FakeHost[];
};

export const createMonitor = (c: Conduit): Monitor => {
  const { world } = c;
  const bulk = async (ids: readonly string[], action: string, apply: (hosts: FakeHost[], t: number) => void, signal: AbortSignal) => {
    for (const ids30 of chunk(ids, BULK))
      await send(c, 'mackerel', action, () => apply(liveHosts(world, ids30), world.clock.now()), signal);
  };
  return {
    ...createGateReads(c),
    hosts: (service, role, call) =>
      send(
        c,
        'mackerel',
        HOSTS,
        () => {
          if (!world.services.has(service)) throw new ServiceError('404', `Service not found: ${service}`, 404);
          return [...world.hosts.values()].filter((host) => !host.isRetired && host.roles[service]?.includes(role)).map(toHost);
        },
        call.signal,
      ),
    everyHost: (call) =>
      send(c, 'mackerel', HOSTS, () => [...world.hosts.values()].filter((host) => !host.isRetired).map(toHost), call.signal),
    hostOfInstance: (instanceId, call) =>
      send(
        c,
        'mackerel',
        HOSTS,
        () => {
          const host = hostOfInstance(world, instanceId);
          return host ? toHost(host) : undefined;
        },
        call.signal,
      ),
    setStatus: (ids, status, call) =>
      bulk(
        ids,
        'POST /api/v0/hosts/bulk-update-statuses',
        (hosts, t) => {
          for (const host of hosts) setStatus(world, host, status, t);
        },
        call.signal,
      ),
    retire: (ids, call) =>
      bulk(
        ids,
        'POST /api/v0/hosts/bulk-retire',
        (hosts, t) => {
          for (const host of hosts) retire(world, host, t);
        },
        call.signal,
      ),
    annotate: (annotation, call) =>
      send(
        c,
        'mackerel',
        'POST /api/v0/graph-annotations',
        () => {
          const roles = world.services.get(annotation.service);
          if (!roles) throw new ServiceError('404', `Service not found: ${annotation.service}`, 404);
          const unknown = annotation.roles.find((role) => !roles.has(role));
          if (unknown !== undefined) throw new ServiceError('404', `Role not found: ${annotation.service}:${unknown}`, 404);
          world.annotations.push({ ...annotation, roles: [...annotation.roles] });
          world.record({ t: world.clock.now(), type: 'annotation.created' });
        },
        call.signal,
      ),
  };
};
