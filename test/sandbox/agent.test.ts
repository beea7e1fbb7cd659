import { DescribeInstancesCommand, type EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import {
  cloudMetadata,
  ec2Of,
  eachTestSandbox,
  editWorld,
  eventLog,
  mackerel,
  requestLog,
  sandboxState,
  testSeed,
  until,
  untilRunning,
} from './helpers.js';

const WORKER_AMI = 'ami-0pinnedworker';

/** User data as a user writes it: the agent config by heredoc, then the agent (started at boot from the image's config) restarted. */
const bootScript = (conf: string, extra = '') =>
  `#!/bin/bash\nset -eu\n${extra}cat > /etc/mackerel-agent/mackerel-agent.conf <<'EOF'\napikey = "from-ssm"\n${conf}\nEOF\nsystemctl restart mackerel-agent\n`;

describe('the simulated mackerel-agent', () => {
  let sandbox: Sandbox;
  let ec2: EC2Client;
  eachTestSandbox((made) => {
    ({ sandbox, ec2 } = made);
  });

  const launch = async (userData?: string, ImageId = WORKER_AMI) => {
    const { Instances } = await ec2.send(
      new RunInstancesCommand({
        ImageId,
        MinCount: 1,
        MaxCount: 1,
        SubnetId: 'subnet-0aaa',
        // The agent reads roles from its config only: these tags say nothing to it.
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'mackerel-replacer:role', Value: 'staging/web' }] }],
        ...(userData === undefined ? {} : { UserData: Buffer.from(userData).toString('base64') }),
      }),
    );
    return Instances![0]!.InstanceId!;
  };
  const hostOf = async (instanceId: string) => {
    const query = `customIdentifier=${instanceId}.ec2.amazonaws.com&status=working&status=standby&status=maintenance&status=poweroff`;
    return (await mackerel(sandbox, 'GET', `/api/v0/hosts?${query}`)).json.hosts?.[0];
  };
  const registered = (instanceId: string) => until(() => hostOf(instanceId), `a host for ${instanceId}`);
  const agentCalls = async () => (await requestLog(sandbox)).filter((r) => r.by === 'agent' && r.api === 'mackerel').map((r) => r.action);
  const listed = async (query: string) => (await mackerel(sandbox, 'GET', `/api/v0/hosts?${query}`)).json.hosts!.map((h) => h.id);

  it("registers a host with the image's roles in the organization's default status, standby, and sets no status", async () => {
    const host = await registered(await launch());
    expect(host).toMatchObject({ status: 'standby', roles: { shop: ['worker'] } });
    expect(await listed('service=shop&role=worker')).toContain(host.id);
    expect(await agentCalls()).not.toContain('POST /api/v0/hosts/:id/status');
    expect((await eventLog(sandbox)).filter((e) => e.type.startsWith('host.')).map((e) => e.type)).toEqual(['host.registered']);
  });

  it('registers new hosts in the status a default-host-status edit makes the default', async () => {
    await editWorld(sandbox, [{ op: 'default-host-status', status: 'working' }]);
    expect((await registered(await launch())).status).toBe('working');
    expect((await sandboxState(sandbox)).settings.defaultHostStatus).toBe('working');
  });

  it('starts from the image config; a user data that restarts the agent adds its roles and sets on_start', async () => {
    const id = await launch(
      bootScript('roles = [ "shop:api", "shop:batch" ]\n\n[host_status]\non_start = "working"\non_stop = "poweroff"'),
    );
    const first = await registered(id);
    expect(first).toMatchObject({ status: 'standby', roles: { shop: ['worker'] } });
    const host = await until(async () => {
      const found = await hostOf(id);
      return found?.status === 'working' ? found : undefined;
    }, 'the host set working');
    // Mackerel's PUT /hosts/<id> adds roles; it never removes the image's.
    expect(host.roles.shop?.toSorted()).toEqual(['api', 'batch', 'worker']);
    expect(await agentCalls()).toEqual(
      expect.arrayContaining(['POST /api/v0/hosts', 'PUT /api/v0/hosts/:id', 'POST /api/v0/hosts/:id/status']),
    );
  });

  it('a user data that writes the config but only starts the running agent changes nothing: the host keeps the image roles', async () => {
    const id = await launch(bootScript('roles = [ "shop:api" ]\n\n[host_status]\non_start = "working"').replace('restart', 'start'));
    await registered(id);
    // Well after cloud-final has run the user data.
    await sleep(200);
    expect(await hostOf(id)).toMatchObject({ status: 'standby', roles: { shop: ['worker'] } });
    expect(await agentCalls()).not.toContain('PUT /api/v0/hosts/:id');
  });

  it('registers a host with no roles when its config has none, listed under no service', async () => {
    await editWorld(sandbox, [{ op: 'image-agent', id: WORKER_AMI, roles: [] }]);
    // Commented out, as in the shipped sample config: not configuration.
    const host = await registered(await launch(bootScript('# roles = ["shop:worker"]\n# [host_status]\n# on_start = "working"')));
    expect(host).toMatchObject({ roles: {}, status: 'standby' });
    expect(await listed('service=shop')).not.toContain(host.id);
    expect(await listed('')).toContain(host.id);
  });

  it('has every instance of an image with a baked id file claim the host of the instance it was built on', async () => {
    await editWorld(sandbox, [{ op: 'image-agent', id: WORKER_AMI, idFile: true }]);
    const builder = (await sandboxState(sandbox)).hosts.at(-1)!;
    const builderInstance = cloudMetadata(builder)['instance-id']!;
    expect(builder).toMatchObject({
      customIdentifier: `${builderInstance}.ec2.amazonaws.com`,
      status: 'standby',
      roles: { shop: ['worker'] },
    });
    await expect(ec2.send(new DescribeInstancesCommand({ InstanceIds: [builderInstance] }))).rejects.toMatchObject({
      name: 'InvalidInstanceID.NotFound',
    });

    const [a, b] = [await launch(), await launch()];
    await until(
      async () => ((await agentCalls()).filter((c) => c === 'PUT /api/v0/hosts/:id').length === 2 ? true : undefined),
      'both agents',
    );
    const hosts = (await sandboxState(sandbox)).hosts;
    expect(hosts).toHaveLength(5);
    const claimed = hosts.find((h) => h.id === builder.id)!;
    expect(claimed.customIdentifier).toBe(`${builderInstance}.ec2.amazonaws.com`);
    expect([a, b]).toContain(cloudMetadata(claimed)['instance-id']);
    expect(await hostOf(a)).toBeUndefined();
    expect(await hostOf(b)).toBeUndefined();
    expect(await agentCalls()).not.toContain('POST /api/v0/hosts');
  });

  it('retires the host of an instance with AUTO_RETIREMENT=1 soon after it starts shutting down', async () => {
    const id = await launch(bootScript('[host_status]\non_start = "working"', 'echo AUTO_RETIREMENT=1 >> /etc/default/mackerel-agent\n'));
    const host = await registered(id);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await until(
      async () => ((await mackerel(sandbox, 'GET', `/api/v0/hosts/${host.id}`)).json.host?.isRetired ? true : undefined),
      'retired',
    );
    const events = await eventLog(sandbox);
    const at = (type: string) =>
      events.find((e) => e.type === type && (('instanceId' in e && e.instanceId === id) || ('hostId' in e && e.hostId === host.id)))!.t;
    expect(at('host.retired')).toBeGreaterThan(at('instance.terminating'));
    expect(await listed('service=shop&role=worker')).not.toContain(host.id);
  });

  it('never registers an instance that starts shutting down before its agent has registered', async () => {
    // A slower clock than the other tests': 10 simulated s from boot to registration last 200 ms.
    const slow = await startSandbox({ seed: testSeed, timeScale: 0.02, apiKey: 'test-key' });
    const slowEc2 = ec2Of(slow);
    try {
      const { Instances } = await slowEc2.send(
        new RunInstancesCommand({ ImageId: WORKER_AMI, MinCount: 1, MaxCount: 1, SubnetId: 'subnet-0aaa' }),
      );
      const id = Instances![0]!.InstanceId!;
      await untilRunning(slowEc2, id);
      await slowEc2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
      await sleep(400);
      const hosts = (await sandboxState(slow)).hosts;
      expect(hosts.filter((h) => cloudMetadata(h)['instance-id'] === id)).toEqual([]);
      // The seeded fleet's agents post metrics meanwhile; no agent writes a host.
      expect((await requestLog(slow)).filter((r) => r.by === 'agent' && r.mutating && r.action !== 'POST /api/v0/tsdb')).toEqual([]);
    } finally {
      slowEc2.destroy();
      await slow.close();
    }
  });

  it('retires a seeded host whose image auto-retires, so the tool finds it retired already', async () => {
    const old = (await sandboxState(sandbox)).instances.find(
      (i) => i.imageId !== WORKER_AMI && i.tags['mackerel-replacer:role'] === 'staging/worker',
    )!;
    await editWorld(sandbox, [{ op: 'image-agent', id: old.imageId, autoRetirement: true }]);
    const host = (await sandboxState(sandbox)).hosts.find((h) => cloudMetadata(h)['instance-id'] === old.id)!;
    // The seeded fleet's agents registered long ago and know their hosts (the sandbox reads them once, in one listing).
    expect(
      (
        await until(
          async () => ((await agentCalls()).includes('GET /api/v0/hosts') ? agentCalls() : undefined),
          'the agents to know their hosts',
        )
      ).filter((action) => action !== 'POST /api/v0/tsdb'),
    ).toEqual(['GET /api/v0/hosts']);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [old.id] }));
    await until(
      async () => ((await mackerel(sandbox, 'GET', `/api/v0/hosts/${host.id}`)).json.host?.isRetired ? true : undefined),
      'retired',
    );
    expect(await mackerel(sandbox, 'POST', '/api/v0/hosts/bulk-retire', { ids: [host.id] })).toMatchObject({ status: 404 });
  });
});
