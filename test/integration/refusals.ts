// Helpers for tests that stage a bad world or bad input and expect the tool to refuse, changing nothing.
import { writeFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { API_KEY, type RequestRecord, type Run, type World } from './harness.js';

/** One change to the sandbox's world, as POST /_sandbox/world takes it. */
export type WorldEdit =
  | { op: 'subnet'; id: string; vpcId: string }
  | { op: 'target-group'; arn: string; vpcId?: string; targetType?: string; loadBalancer?: null; deregistrationDelaySeconds?: number }
  | { op: 'load-balancer-az'; az: string; enabled: boolean }
  | { op: 'image-agent'; id: string; roles?: string[]; onStart?: string | null; idFile?: boolean; autoRetirement?: boolean }
  | { op: 'launch-bucket'; burst: number; refillPerSecond: number }
  | { op: 'default-host-status'; status: string }
  | { op: 'require-imdsv2'; enabled: boolean }
  | { op: 'image'; id: string; state: string }
  | { op: 'add-image'; name: string; like: string; createdAt?: string }
  | { op: 'deny'; action: string }
  | { op: 'read-only-key'; key: string }
  | { op: 'instance-tags'; id: string; tags: Record<string, string> }
  | { op: 'instance-vpc'; id: string; vpcId: string }
  | { op: 'terminate'; id: string }
  | { op: 'vcpu-quota'; limit: number }
  | { op: 'subnet-free-addresses'; id: string; count: number }
  | { op: 'instance-type-offerings'; az: string; types: string[] };

export const editWorld = async (world: World, ...edits: WorldEdit[]): Promise<void> => {
  const response = await fetch(`${world.sandbox.url}/_sandbox/world`, { method: 'POST', body: JSON.stringify(edits) });
  if (!response.ok) throw new Error(`POST /_sandbox/world: ${response.status} ${await response.text()}`);
};

/** A Mackerel API call as an operator (or a stray agent) would make it, outside the tool. */
export const mackerel = async (world: World, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>> => {
  const response = await fetch(`${world.sandbox.url}${path}`, {
    method,
    headers: { 'X-Api-Key': API_KEY, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
};

/** Registers a host of the role whose instance id EC2 has never heard of: a stale host. */
export const staleHost = async (world: World, role: string, instanceId: string): Promise<string> => {
  const created = await mackerel(world, 'POST', '/api/v0/hosts', {
    name: `ip-10-0-9-${instanceId.slice(-2)}`,
    customIdentifier: `${instanceId}.ec2.amazonaws.com`,
    meta: { cloud: { provider: 'ec2', metadata: { 'instance-id': instanceId } } },
    roleFullnames: [`reactio-staging:${role}`],
  });
  return created.id as string;
};

export const writeConfig = (world: World, yaml: string): Promise<void> => writeFile(world.configPath, yaml);

/** The requests the tool (not the simulated agent) made after `since` requests had been logged. */
export const toolRequests = async (world: World, since = 0): Promise<RequestRecord[]> =>
  (await world.requests()).slice(since).filter((request) => request.by === 'client');

/** Exit 2, "nothing was changed", and not one mutating request by the tool since `since`. */
export const expectRefused = async (world: World, run: Run, since = 0): Promise<void> => {
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr).toContain('nothing was changed');
  expect((await toolRequests(world, since)).filter((request) => request.mutating)).toEqual([]);
};
