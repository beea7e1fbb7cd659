// The account's real room, checked at preflight: each limit refuses the deploy (exit 2, nothing
// changed) naming the subnet, quota or AZ, and the sandbox enforces the same limits at launch.
import { CreateLaunchTemplateCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { type World, configYaml, startWorld } from './harness.js';
import { editWorld, expectRefused, toolRequests, writeConfig } from './refusals.js';

let world: World;
afterEach(() => world?.close());

const replace = () => world.cli('replace', '--config', world.configPath, '--role', 'web');
const plan = () => world.cli('plan', '--config', world.configPath, '--role', 'web');

describe('capacity checks at preflight', () => {
  it('the plan lists each check that passed', async () => {
    world = await startWorld(configYaml());
    const run = await plan();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('security groups sg-0123abcd exist');
    expect(run.stdout).toContain('instance type t3.small offered in ap-northeast-1a, ap-northeast-1c');
    expect(run.stdout).toContain('free addresses: subnet-0aaa1111 4089 for 1, subnet-0ccc3333 4089 for 1');
    // Both roles' old fleets run, one instance of each in each subnet: 4 x t3.small of 2 vCPUs.
    expect(run.stdout).toContain(
      'the On-Demand Standard vCPU quota has room: 8 running + 4 new (2 x t3.small, 2 vCPUs each) of 5120 (Service Quotas L-1216C47A)',
    );
  });

  it('refuses a fleet over the vCPU quota, naming the quota and the fix', async () => {
    world = await startWorld(configYaml());
    await editWorld(world, { op: 'vcpu-quota', limit: 10 });
    const run = await replace();
    await expectRefused(world, run);
    expect(run.stderr).toContain(
      'the On-Demand Standard vCPU quota is 10 (Service Quotas L-1216C47A): 8 vCPUs run now and the new fleet adds 4 (2 x t3.small, 2 vCPUs each), 2 too many',
    );
    expect(run.stderr).toContain('request an increase of Service Quotas ec2 L-1216C47A to at least 12');
  });

  it('without permission for Service Quotas: a warning, not a refusal; limits.vcpu states the quota instead', async () => {
    world = await startWorld(configYaml());
    await editWorld(world, { op: 'deny', action: 'GetServiceQuota' });
    const warned = await plan();
    expect(warned.code, warned.stderr).toBe(0);
    expect(`${warned.stdout}${warned.stderr}`).toContain('warning: the vCPU quota was not checked');
    await writeConfig(world, `limits: { vcpu: 10 }\n${configYaml()}`);
    const since = (await world.requests()).length;
    const refused = await replace();
    await expectRefused(world, refused, since);
    expect(refused.stderr).toContain('the On-Demand Standard vCPU quota is 10 (limits.vcpu)');
    expect((await toolRequests(world, since)).some((request) => request.action === 'GetServiceQuota')).toBe(false);
  });

  it('refuses a subnet without free addresses for its new instances, naming the subnet', async () => {
    world = await startWorld(configYaml({ perAz: 2 }));
    await editWorld(world, { op: 'subnet-free-addresses', id: 'subnet-0ccc3333', count: 1 });
    const run = await replace();
    await expectRefused(world, run);
    expect(run.stderr).toContain('subnet subnet-0ccc3333 has 1 free addresses, and 2 new instances launch there');
  });

  it('counts the free addresses per wave: the old instances of a wave free theirs before the next', async () => {
    world = await startWorld(configYaml({ perAz: 2 }));
    await editWorld(world, { op: 'subnet-free-addresses', id: 'subnet-0ccc3333', count: 1 });
    const run = await world.cli('plan', '--config', world.configPath, '--role', 'web', '--batch', '2');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('subnet-0ccc3333 1 for 1');
  });

  it('refuses an instance type not offered in an AZ, naming the AZ; a fallback type not offered is skipped there', async () => {
    world = await startWorld(configYaml());
    await editWorld(world, { op: 'instance-type-offerings', az: 'ap-northeast-1c', types: ['m5.large'] });
    const refused = await replace();
    await expectRefused(world, refused);
    expect(refused.stderr).toContain('instance type t3.small is not offered in ap-northeast-1c, where subnet-0ccc3333 launches');

    await writeConfig(world, configYaml().replace('instanceType: t3.small', 'instanceTypes: [t3.small, m5.large]'));
    const run = await replace();
    expect(run.code, run.stderr).toBe(0);
    expect(`${run.stdout}${run.stderr}`).toContain('warning: ap-northeast-1c: t3.small not offered there; skipped');
    const launched = (await world.state()).instances.filter((i) => i.state === 'running' && i.az === 'ap-northeast-1c');
    expect(launched.map((i) => i.instanceType).sort()).toEqual(['m5.large', 't3.small']);
  });

  it('refuses an unknown security group or key pair before the DryRun, naming it', async () => {
    world = await startWorld(configYaml());
    await writeConfig(world, configYaml().replace('securityGroupIds: [sg-0123abcd]', 'securityGroupIds: [sg-0123abce]'));
    const group = await replace();
    await expectRefused(world, group);
    expect(group.stderr).toContain('security groups not found in EC2: sg-0123abce');
    expect((await toolRequests(world)).some((request) => request.action === 'RunInstances')).toBe(false);

    await writeConfig(world, configYaml({ web: '        keyName: reactio-deploy' }));
    const key = await replace();
    await expectRefused(world, key);
    expect(key.stderr).toContain('key pair "reactio-deploy" not found in EC2');
  });

  it("checks the security groups and key pair a role leaves to its launch template: the template's, named as its", async () => {
    // The web role names no security groups; the worker's seed sg-0123abcd in the account.
    const templated = configYaml({ web: '        launchTemplate: { name: reactio-web }' }).replace(
      '        securityGroupIds: [sg-0123abcd]\n',
      '',
    );
    world = await startWorld(templated);
    const ec2 = new EC2Client({
      endpoint: world.sandbox.url,
      region: 'ap-northeast-1',
      credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
      maxAttempts: 1,
    });
    const template = (name: string, groups: string[], keyName?: string) =>
      ec2.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: name,
          LaunchTemplateData: {
            SecurityGroupIds: groups,
            ...(keyName && { KeyName: keyName }),
            MetadataOptions: { HttpTokens: 'required' },
          },
        }),
      );
    await template('reactio-web', ['sg-0123abcd']);
    const run = await plan();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("security groups sg-0123abcd (the launch template's) exist");

    await template('reactio-web-nope', ['sg-0nope'], 'reactio-nope');
    await writeConfig(world, templated.replace('{ name: reactio-web }', '{ name: reactio-web-nope }'));
    const since = (await world.requests()).length;
    const refused = await replace();
    await expectRefused(world, refused, since);
    expect(refused.stderr).toContain("security groups not found in EC2: sg-0nope (the launch template's)");
    expect((await toolRequests(world, since)).some((request) => request.action === 'RunInstances')).toBe(false);
    ec2.destroy();
  });
});
