// EC2's RunInstances resource bucket in the sandbox: a request for more instances than the bucket
// holds fails whole with RequestLimitExceeded (HTTP 503); the bucket refills on the scaled clock.
import { DescribeInstancesCommand, type EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.js';
import { ec2Of, editWorld, sandboxState, startTestSandbox, until } from './helpers.js';

describe('the sandbox launch bucket', () => {
  let sandbox: Sandbox;
  let ec2: EC2Client;
  let image: string;
  beforeEach(async () => {
    sandbox = await startTestSandbox();
    ec2 = ec2Of(sandbox);
    image = (await sandboxState(sandbox)).images.find((i) => i.name === 'shop-web-2026-11-01')!.id;
  });
  afterEach(async () => {
    ec2.destroy();
    await sandbox.close();
  });

  const launch = (count: number, token?: string) =>
    ec2.send(
      new RunInstancesCommand({
        ImageId: image,
        InstanceType: 't3.small',
        MinCount: count,
        MaxCount: count,
        SubnetId: 'subnet-0aaa',
        SecurityGroupIds: ['sg-0web'],
        ...(token && { ClientToken: token }),
      }),
    );
  const instanceCount = async () => (await ec2.send(new DescribeInstancesCommand({}))).Reservations!.flatMap((r) => r.Instances!).length;
  const throttled = { name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } };

  it('defaults to 1,000 instances refilling 2 per second', async () => {
    expect((await sandboxState(sandbox)).settings).toMatchObject({ launchBurst: 1000, launchRefillPerSecond: 2 });
  });

  it('fails a request for more instances than it holds whole, launching none', async () => {
    expect((await editWorld(sandbox, [{ op: 'launch-bucket', burst: 5, refillPerSecond: 0.001 }])).status).toBe(200);
    const before = await instanceCount();
    await expect(launch(6)).rejects.toMatchObject(throttled);
    expect(await instanceCount()).toBe(before);
    await expect(launch(5)).resolves.toBeDefined();
    await expect(launch(1)).rejects.toMatchObject(throttled);
    expect(await instanceCount()).toBe(before + 5);
  });

  it('charges a ClientToken replay too', async () => {
    await editWorld(sandbox, [{ op: 'launch-bucket', burst: 1, refillPerSecond: 0.001 }]);
    await launch(1, 'deploy/az/0');
    await expect(launch(1, 'deploy/az/0')).rejects.toMatchObject(throttled);
  });

  // One token per 100 simulated seconds: 200 ms at the tests' time scale.
  it('refills on the scaled clock', async () => {
    await editWorld(sandbox, [{ op: 'launch-bucket', burst: 2, refillPerSecond: 0.01 }]);
    await launch(2);
    await expect(launch(1)).rejects.toMatchObject(throttled);
    await until(
      () =>
        launch(1).then(
          () => true,
          () => undefined,
        ),
      'a refilled token',
    );
  });

  it('refuses a bucket of no instances', async () => {
    expect((await editWorld(sandbox, [{ op: 'launch-bucket', burst: 0, refillPerSecond: 2 }])).status).toBe(400);
  });
});
