import { afterEach, beforeEach } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { RequestRecord, SandboxState } from '../../src/sandbox/control.js';
import type { Fault } from '../../src/sandbox/faults.js';
import type { SandboxSeed } from '../../src/sandbox/seed.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import type { SimHost, WorldEvent } from '../../src/sandbox/world.js';

export const WEB_TG = 'arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/shop-web/0123456789abcdef';

export const testSeed: SandboxSeed = {
  region: 'ap-northeast-1',
  environments: {
    staging: {
      service: 'shop',
      roles: {
        web: {
          ami: { owners: ['self'], name: 'shop-web-*' },
          instanceType: 't3.small',
          subnets: ['subnet-0aaa', 'subnet-0ccc'],
          securityGroupIds: ['sg-0web'],
          targetGroups: [WEB_TG],
          perAz: 1,
        },
        worker: {
          ami: { id: 'ami-0pinnedworker' },
          instanceType: 't3.small',
          subnets: ['subnet-0aaa'],
          securityGroupIds: [],
          targetGroups: [],
          perAz: 2,
        },
      },
    },
  },
};

/** One simulated second lasts 2 ms: a boot (20 s) takes 40 ms. */
export const TIME_SCALE = 0.002;

export const startTestSandbox = (): Promise<Sandbox> => startSandbox({ seed: testSeed, timeScale: TIME_SCALE, apiKey: 'test-key' });

const clientConfig = (sandbox: Sandbox) => ({
  endpoint: sandbox.url,
  region: 'ap-northeast-1',
  credentials: { accessKeyId: 'sandbox', secretAccessKey: 'test' },
  maxAttempts: 1,
});

export const ec2Of = (sandbox: Sandbox) => new EC2Client(clientConfig(sandbox));
export const elbOf = (sandbox: Sandbox) => new ElasticLoadBalancingV2Client(clientConfig(sandbox));

export interface SandboxUnderTest {
  readonly sandbox: Sandbox;
  readonly ec2: EC2Client;
  readonly elb: ElasticLoadBalancingV2Client;
}

/** A fresh sandbox and SDK clients for every test of the calling block, handed to `use`, and closed after it. */
export const eachTestSandbox = (use: (made: SandboxUnderTest) => void): void => {
  let made: SandboxUnderTest;
  beforeEach(async () => {
    const sandbox = await startTestSandbox();
    made = { sandbox, ec2: ec2Of(sandbox), elb: elbOf(sandbox) };
    use(made);
  });
  afterEach(async () => {
    made.ec2.destroy();
    made.elb.destroy();
    await made.sandbox.close();
  });
};

/** Polls `check` every few real ms until it returns something other than undefined. */
export const until = async <T>(check: () => Promise<T | undefined>, what: string, tries = 400): Promise<T> => {
  for (let i = 0; i < tries; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(5);
  }
  throw new Error(`gave up waiting for ${what}`);
};

/** Waits until every instance runs: ELBv2 refuses to register a pending one. */
export const untilRunning = (ec2: EC2Client, ...ids: string[]) =>
  until(
    async () => {
      const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
      return Reservations?.flatMap((r) => r.Instances ?? []).every((i) => i.State?.Name === 'running') ? true : undefined;
    },
    `${ids.join(', ')} running`,
  );

/** A Mackerel API answer: whichever of these the endpoint returns. */
export interface MackerelAnswer {
  readonly hosts: SimHost[];
  readonly host: SimHost;
  readonly id: string;
  readonly success: boolean;
  readonly error: { readonly message: string };
}

export const mackerel = async (sandbox: Sandbox, method: string, path: string, body?: unknown, apiKey = 'test-key') => {
  const response = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { 'X-Api-Key': apiKey, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, headers: response.headers, json: (await response.json()) as Partial<MackerelAnswer> };
};

export const cloudMetadata = (host: SimHost): Record<string, string> => (host.meta.cloud as { metadata: Record<string, string> }).metadata;

const controlJson = async <T>(sandbox: Sandbox, method: string, path: string, body?: unknown): Promise<T> => {
  const response = await fetch(`${sandbox.url}/_sandbox/${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await response.json()) as T;
};

export const sandboxState = (sandbox: Sandbox) => controlJson<SandboxState>(sandbox, 'GET', 'state');
export const requestLog = async (sandbox: Sandbox) =>
  (await controlJson<{ requests: RequestRecord[] }>(sandbox, 'GET', 'requests')).requests;
export const eventLog = async (sandbox: Sandbox) => (await controlJson<{ events: WorldEvent[] }>(sandbox, 'GET', 'events')).events;
export const activeFaults = async (sandbox: Sandbox) => (await controlJson<{ faults: Fault[] }>(sandbox, 'GET', 'faults')).faults;
export const injectFaults = (sandbox: Sandbox, faults: readonly Fault[]) => controlJson<unknown>(sandbox, 'POST', 'faults', faults);
export const clearFaults = (sandbox: Sandbox) => controlJson<unknown>(sandbox, 'DELETE', 'faults');

/** POST /_sandbox/world, with the answer's status so refusals can be checked. */
export const editWorld = async (sandbox: Sandbox, edits: unknown) => {
  const response = await fetch(`${sandbox.url}/_sandbox/world`, {
    method: 'POST',
    body: typeof edits === 'string' ? edits : JSON.stringify(edits),
  });
  return { status: response.status, json: (await response.json()) as { applied?: number; error?: string } };
};
