import type { HostStatus, SimHost, World } from './world.js';

/** POST /api/v0/hosts body, as mackerel-agent sends it. */
export interface HostBody {
  readonly name: string;
  readonly displayName?: string;
  readonly customIdentifier?: string;
  readonly memo?: string;
  readonly meta?: Record<string, unknown>;
  readonly interfaces?: readonly Record<string, unknown>[];
  /** `Service:role` */
  readonly roleFullnames?: readonly string[];
}

const rolesOf = (roleFullnames: readonly string[]): Record<string, string[]> => {
  const roles: Record<string, string[]> = {};
  for (const fullname of roleFullnames) {
    const [service, role] = fullname.split(':') as [string, string];
    roles[service] = [...(roles[service] ?? []), role];
  }
  return roles;
};

// The server derives `ipAddress` from the agent's first IPv4 address (mkr prints it).
const withIpAddress = (iface: Record<string, unknown>): Record<string, unknown> => {
  const v4 = iface.ipv4Addresses;
  return Array.isArray(v4) && typeof v4[0] === 'string' && iface.ipAddress === undefined ? { ...iface, ipAddress: v4[0] } : iface;
};

/** A new host gets the organization's default status, `standby`, until someone sets it. */
export const createHost = (world: World, body: HostBody, now: number, status: HostStatus = 'standby'): SimHost => {
  const roles = rolesOf(body.roleFullnames ?? []);
  for (const [service, names] of Object.entries(roles)) {
    const known = world.services.get(service) ?? new Set<string>();
    for (const name of names) known.add(name);
    world.services.set(service, known);
  }
  const host: SimHost = {
    id: world.nextId('host'),
    name: body.name,
    ...(body.displayName === undefined ? {} : { displayName: body.displayName }),
    ...(body.customIdentifier === undefined ? {} : { customIdentifier: body.customIdentifier }),
    size: 'standard',
    status,
    memo: body.memo ?? '',
    isRetired: false,
    createdAt: Math.floor(world.clock.epoch(now) / 1000),
    roles,
    interfaces: (body.interfaces ?? []).map(withIpAddress),
    meta: body.meta ?? {},
  };
  world.hosts.set(host.id, host);
  world.record({ t: now, type: 'host.registered', hostId: host.id });
  return host;
};

export const setHostStatus = (world: World, host: SimHost, status: HostStatus, now: number): void => {
  if (host.status === status) return;
  host.status = status;
  world.record({ t: now, type: 'host.status', hostId: host.id, status });
};

export const retireHost = (world: World, host: SimHost, now: number): void => {
  if (host.isRetired) return;
  host.isRetired = true;
  host.retiredAt = Math.floor(world.clock.epoch(now) / 1000);
  world.record({ t: now, type: 'host.retired', hostId: host.id });
};
