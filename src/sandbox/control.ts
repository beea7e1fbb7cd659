import { z } from 'zod';
import type { Reply } from './dispatch.js';
import type { FaultApi } from './faults.js';
import { faultSchema } from './faults.js';
import { healthyCount } from './targets.js';
import type { World } from './world.js';

/** One API request as the sandbox saw it; `t` is simulated ms, status 0 means dropped unanswered. */
export interface RequestRecord {
  readonly t: number;
  readonly api: FaultApi;
  /** EC2/ELBv2 Action, or `METHOD /route` for Mackerel. */
  readonly action: string;
  readonly status: number;
  /** The request asks for a change (RunInstances, RegisterTargets, a Mackerel POST, …), whatever its outcome. */
  readonly mutating: boolean;
  /** `agent` for the simulated mackerel-agent, `client` for everyone else (the tool). */
  readonly by: 'client' | 'agent';
}

const reply = (status: number, value: unknown): Reply => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify(value),
});

const state = (world: World, now: number) => ({
  now,
  instances: [...world.instances.values()],
  hosts: [...world.hosts.values()],
  targetGroups: [...world.targetGroups.values()].map((group) => ({
    arn: group.arn,
    name: group.name,
    healthy: healthyCount(group),
    minHealthy: group.minHealthy,
    targets: [...group.targets.values()].map(({ id, port, state, reason }) => ({ id, port, state, reason })),
  })),
  images: [...world.images.values()],
  subnets: [...world.subnets.values()].map(({ id, az, vpcId, cidr }) => ({ id, az, vpcId, cidr })),
  annotations: world.annotations,
  faults: world.faults.list(),
});

/** GET /_sandbox/state */
export type SandboxState = ReturnType<typeof state>;

const addFaults = (world: World, body: string): Reply => {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return reply(400, { error: 'POST /_sandbox/faults takes a JSON array of faults' });
  }
  const parsed = z.array(faultSchema).safeParse(json);
  if (!parsed.success) return reply(400, { error: z.prettifyError(parsed.error) });
  world.faults.add(parsed.data);
  return reply(200, { faults: world.faults.list() });
};

/** `/_sandbox/…`: JSON, no auth. */
export const handleControl = (world: World, requests: readonly RequestRecord[], method: string, path: string, body: string): Reply => {
  const now = world.advance();
  const route = `${method} ${path}`;
  switch (route) {
    case 'GET /_sandbox/state':
      return reply(200, state(world, now));
    case 'GET /_sandbox/requests':
      return reply(200, { requests });
    case 'GET /_sandbox/events':
      return reply(200, { events: world.events });
    case 'GET /_sandbox/faults':
      return reply(200, { faults: world.faults.list() });
    case 'POST /_sandbox/faults':
      return addFaults(world, body);
    case 'DELETE /_sandbox/faults':
      world.faults.clear();
      return reply(200, { faults: [] });
    default:
      return reply(404, { error: `no control endpoint ${route}` });
  }
};
