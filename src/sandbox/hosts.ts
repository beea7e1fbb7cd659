import { closeAlertsOf } from './alerts.js';
import type { HostStatus, SimHost, World } from './world.js';

/** POST /api/v0/hosts body, as mackerel-agent sends it; PUT /api/v0/hosts/<id> takes the same. */
export interface HostBody {
  readonly name: string;
  readonly displayName?: string;
  /** On PUT, null or "" clears it and leaving it out keeps it. */
  readonly customIdentifier?: string | null;
  readonly memo?: string;
  readonly meta?: Record<string, unknown>;
  readonly interfaces?: readonly Record<string, unknown>[];
  /** `Service:role` */
  readonly roleFullnames?: readonly string[];
}

// Adds `Service:role` roles to the host and the organization's services.
const addRoles = (world: World, host: SimHost, roleFullnames: readonly string[]): void => {
  changed(host);
  for (const fullname of roleFullnames) {
    const [service, role] = fullname.split(':') as [string, string];
    const roles = host.roles[service] ?? [];
    if (!roles.includes(role)) host.roles[service] = [...roles, role];
    world.services.set(service, new Set([...(world.services.get(service) ?? []), role]));
  }
};

// The server derives `ipAddress` from the agent's first IPv4 address (mkr prints it).
const withIpAddress = (iface: Record<string, unknown>): Record<string, unknown> => {
  const v4 = iface.ipv4Addresses;
  return Array.isArray(v4) && typeof v4[0] === 'string' && iface.ipAddress === undefined ? { ...iface, ipAddress: v4[0] } : iface;
};

/**
 * Each host's JSON as the API answers it, kept until the host changes (every change is made here):
 * a listing of a large fleet, polled again and again, is mostly hosts that did not change.
 */
const serialized = new WeakMap<SimHost, string>();

export const hostJson = (host: SimHost): string => {
  let json = serialized.get(host);
  if (json === undefined) {
    json = JSON.stringify(host);
    serialized.set(host, json);
  }
  return json;
};

const changed = (host: SimHost): void => {
  serialized.delete(host);
};

/** Sets (or, with undefined, clears) the host's customIdentifier and keeps the index by it. */
const setCustomIdentifier = (world: World, host: SimHost, customIdentifier: string | undefined): void => {
  changed(host);
  if (host.customIdentifier !== undefined) world.hostsByCustomIdentifier.get(host.customIdentifier)?.delete(host);
  if (customIdentifier === undefined) {
    delete host.customIdentifier;
    return;
  }
  host.customIdentifier = customIdentifier;
  const known = world.hostsByCustomIdentifier.get(customIdentifier);
  if (known) known.add(host);
  else world.hostsByCustomIdentifier.set(customIdentifier, new Set([host]));
};

/** A new host gets the organization's default status until someone sets it. */
export const createHost = (world: World, body: HostBody, now: number, status = world.settings.defaultHostStatus): SimHost => {
  const host: SimHost = {
    id: world.nextId('host'),
    name: body.name,
    ...(body.displayName === undefined ? {} : { displayName: body.displayName }),
    ...(body.customIdentifier ? { customIdentifier: body.customIdentifier } : {}),
    size: 'standard',
    status,
    memo: body.memo ?? '',
    isRetired: false,
    createdAt: Math.floor(world.clock.epoch(now) / 1000),
    roles: {},
    interfaces: (body.interfaces ?? []).map(withIpAddress),
    meta: body.meta ?? {},
  };
  if (host.customIdentifier !== undefined) setCustomIdentifier(world, host, host.customIdentifier);
  addRoles(world, host, body.roleFullnames ?? []);
  world.hosts.set(host.id, host);
  world.record({ t: now, type: 'host.registered', hostId: host.id });
  return host;
};

/** PUT /api/v0/hosts/<id>: replaces what the body gives, but only adds roles. */
export const updateHost = (world: World, host: SimHost, body: HostBody): void => {
  changed(host);
  host.name = body.name;
  if (body.displayName !== undefined) host.displayName = body.displayName;
  if (body.customIdentifier) setCustomIdentifier(world, host, body.customIdentifier);
  else if (body.customIdentifier !== undefined) setCustomIdentifier(world, host, undefined);
  if (body.memo !== undefined) host.memo = body.memo;
  if (body.meta !== undefined) host.meta = body.meta;
  if (body.interfaces !== undefined) host.interfaces = body.interfaces.map(withIpAddress);
  addRoles(world, host, body.roleFullnames ?? []);
};

export const setHostStatus = (world: World, host: SimHost, status: HostStatus, now: number): void => {
  if (host.status === status) return;
  changed(host);
  host.status = status;
  world.record({ t: now, type: 'host.status', hostId: host.id, status });
};

export const retireHost = (world: World, host: SimHost, now: number): void => {
  changed(host);
  host.isRetired = true;
  host.retiredAt = Math.floor(world.clock.epoch(now) / 1000);
  world.record({ t: now, type: 'host.retired', hostId: host.id });
  closeAlertsOf(world, host.id, 'Host retired', now);
};
