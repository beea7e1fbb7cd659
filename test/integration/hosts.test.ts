// `hosts`: the role's hosts as Mackerel, EC2 and the target groups see them, against the sandbox.
// Read-only: it makes no mutating request.
import { afterEach, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../src/aws/clients.js';
import { createBalancer } from '../../src/aws/elbv2.js';
import { API_KEY, TG_ARN, type World, configYaml, instanceOf, startWorld } from './harness.js';

let world: World;
afterEach(() => world?.close());

const call = { signal: new AbortController().signal };

interface Row {
  instanceId?: string;
  instanceState: string;
  az?: string;
  imageId?: string;
  hostId?: string;
  hostStatus?: string;
  targets: { targetGroupArn: string; state: string; reason?: string }[];
}

const listed = async (): Promise<Row[]> => {
  const run = await world.cli('hosts', '--json', '--config', world.configPath, '--role', 'web');
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { hosts: Row[] }).hosts;
};

/** A host whose agent claimed an instance EC2 has never known. */
const registerPhantomHost = async (instanceId: string): Promise<string> => {
  const response = await fetch(`${world.sandbox.url}/api/v0/hosts`, {
    method: 'POST',
    headers: { 'X-Api-Key': API_KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      name: 'ip-10-0-0-99',
      customIdentifier: `${instanceId}.ec2.amazonaws.com`,
      meta: { cloud: { provider: 'ec2', metadata: { 'instance-id': instanceId } } },
      roleFullnames: ['reactio-staging:web'],
    }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
};

describe('hosts', () => {
  it('lists each host with its instance, AZ, AMI, Mackerel status and health in the target group', async () => {
    world = await startWorld(configYaml());
    const state = await world.state();
    const rows = await listed();
    const webHosts = state.hosts.filter((host) => !host.isRetired && host.roles['reactio-staging']?.includes('web'));
    expect(rows).toHaveLength(webHosts.length);
    for (const host of webHosts) {
      const instance = state.instances.find((i) => i.id === instanceOf(host))!;
      expect(rows).toContainEqual(
        expect.objectContaining({
          instanceId: instance.id,
          instanceState: 'running',
          az: instance.az,
          imageId: instance.imageId,
          hostId: host.id,
          hostStatus: 'working',
          targets: [{ targetGroupArn: TG_ARN, state: 'healthy' }],
        }),
      );
    }
    const text = await world.cli('hosts', '--config', world.configPath, '--role', 'web');
    expect(text.stdout.split('\n')[0]).toBe(`reactio-staging:web (staging): ${webHosts.length} hosts`);
    expect(text.stdout).toMatch(/INSTANCE\s+EC2\s+AZ\s+AMI\s+HOST\s+STATUS\s+reactio-web/);
    expect((await world.requests()).filter((r) => r.by === 'client' && r.mutating)).toEqual([]);
  });

  it('shows a host whose instance is gone and a target failing its health checks', async () => {
    world = await startWorld(configYaml());
    const phantomHost = await registerPhantomHost('i-0000000000000dead');
    const [, sick] = (await listed()).filter((row) => row.instanceState === 'running');
    // The target of one old instance is registered afresh and fails its health checks from then on.
    await world.inject({ type: 'health-fail', count: 1 });
    const balancer = createBalancer(createAwsClients({}).elbv2);
    await balancer.deregister(TG_ARN, [sick!.instanceId!], call);
    await balancer.register(TG_ARN, [sick!.instanceId!], call);
    let rows = await listed();
    for (let look = 0; look < 100 && rows.find((r) => r.instanceId === sick!.instanceId)?.targets[0]?.state !== 'unhealthy'; look++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      rows = await listed();
    }
    expect(rows.find((r) => r.instanceId === sick!.instanceId)).toMatchObject({
      instanceState: 'running',
      targets: [{ targetGroupArn: TG_ARN, state: 'unhealthy', reason: 'Target.FailedHealthChecks' }],
    });
    expect(rows.find((r) => r.hostId === phantomHost)).toEqual({
      instanceId: 'i-0000000000000dead',
      instanceState: 'gone',
      hostId: phantomHost,
      hostName: 'ip-10-0-0-99',
      hostStatus: 'standby',
      targets: [{ targetGroupArn: TG_ARN, state: 'not registered' }],
    });
    const text = await world.cli('hosts', '--config', world.configPath, '--role', 'web');
    expect(text.stdout).toMatch(new RegExp(`i-0000000000000dead\\s+gone\\s+-\\s+-\\s+${phantomHost}\\s+standby\\s+not registered`));
    expect(text.stdout).toMatch(new RegExp(`${sick!.instanceId}\\s+running\\s+.*unhealthy \\(Target.FailedHealthChecks\\)`));
  });

  it('an instance the role owns whose host was retired is listed without a host', async () => {
    world = await startWorld(configYaml());
    const [orphan] = await listed();
    const response = await fetch(`${world.sandbox.url}/api/v0/hosts/${orphan!.hostId}/retire`, {
      method: 'POST',
      headers: { 'X-Api-Key': API_KEY, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(200);
    const row = (await listed()).find((r) => r.instanceId === orphan!.instanceId);
    expect(row).toMatchObject({ instanceState: 'running', targets: [{ state: 'healthy' }] });
    expect(row!.hostId).toBeUndefined();
  });

  it('an unknown role is refused with exit 2, naming the known ones', async () => {
    world = await startWorld(configYaml());
    const run = await world.cli('hosts', '--config', world.configPath, '--role', 'wbe');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no role "wbe"');
  });
});
