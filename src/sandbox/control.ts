import { z } from 'zod';
import type { Reply } from './dispatch.js';
import { visibleImages } from './ec2-describe.js';
import { applyEdits, checkEdits, worldEditSchema } from './edits.js';
import { type FaultApi, faultSchema, type RequestFault } from './faults.js';
import { healthyCount } from './targets.js';
import type { World } from './world.js';

/**
 * One API request as the sandbox saw it. `t` is the simulated ms it was processed at (or given up
 * on); status 0 means it was never processed.
 */
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
  /** The request fault it met. */
  readonly fault?: RequestFault['type'];
  /** No answer reached the client: drop, drop-after (status is what it would have been), or a stall it gave up on. */
  readonly dropped?: true;
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
    vpcId: group.vpcId,
    targetType: group.targetType,
    loadBalancerArns: group.loadBalancerArns,
    deregistrationDelay: group.deregistrationDelay,
    healthy: healthyCount(group),
    minHealthy: group.minHealthy,
    targets: [...group.targets.values()].map(({ id, port, state, reason }) => ({ id, port, state, reason })),
  })),
  loadBalancers: [...world.loadBalancers.values()].map(({ arn, name, azs }) => ({ arn, name, azs: [...azs] })),
  images: [...visibleImages(world).values()].map((image) => ({ ...image, launchPermissions: [...image.launchPermissions] })),
  subnets: [...world.subnets.values()].map(({ id, az, vpcId, cidr }) => ({ id, az, vpcId, cidr })),
  annotations: world.annotations,
  alerts: world.alerts,
  faults: world.faults.list(),
  deniedActions: [...world.access.deniedActions],
  settings: world.settings,
});

/** GET /_sandbox/state */
export type SandboxState = ReturnType<typeof state>;

// A JSON array of `schema`, or the 400 that says what is wrong with the body.
const parseList = <T>(body: string, schema: z.ZodType<T>, route: string): T[] | Reply => {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return reply(400, { error: `${route} takes a JSON array, and its body is not JSON` });
  }
  const parsed = z.array(schema).safeParse(json);
  return parsed.success ? parsed.data : reply(400, { error: `${route}: ${z.prettifyError(parsed.error)}` });
};

const addFaults = (world: World, body: string): Reply => {
  const faults = parseList(body, faultSchema, 'POST /_sandbox/faults');
  if (!Array.isArray(faults)) return faults;
  world.faults.add(faults);
  return reply(200, { faults: world.faults.list() });
};

// All or nothing: an edit naming something the sandbox does not have fails the whole list.
const editWorld = (world: World, body: string, now: number): Reply => {
  const edits = parseList(body, worldEditSchema, 'POST /_sandbox/world');
  if (!Array.isArray(edits)) return edits;
  const problem = checkEdits(world, edits);
  if (problem !== undefined) return reply(400, { error: `POST /_sandbox/world: ${problem}` });
  applyEdits(world, edits, now);
  return reply(200, { applied: edits.length });
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
    case 'POST /_sandbox/world':
      return editWorld(world, body, now);
    case 'DELETE /_sandbox/faults':
      world.faults.clear();
      return reply(200, { faults: [] });
    default:
      return reply(404, { error: `no control endpoint ${route}` });
  }
};
