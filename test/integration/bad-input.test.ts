// Bad input of every kind refuses with exit 2, says what is wrong and how to fix it, and makes no
// mutating request. (An unknown role and a rejected API key are in refuse.test.ts.)
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { API_KEY, TG_ARN, type World, configYaml, newestImage, startWorld } from './harness.js';
import { editWorld, expectRefused, toolRequests, writeConfig } from './refusals.js';
import { expectUntouched } from './expect.js';

let world: World;
afterEach(() => world?.close());

const replaceWeb = (...more: string[]) => world.cli('replace', '--config', world.configPath, '--role', 'web', ...more);

describe('a bad config file', () => {
  it('malformed YAML: names the file, the line and the column', async () => {
    world = await startWorld(configYaml());
    await writeConfig(world, 'region: ap-northeast-1\nenvironments:\n  staging: [a, b\n  other: 1\n');
    const run = await replaceWeb();
    expect(run.stderr).toContain(`${world.configPath}: line 4, column 3: `);
    await expectRefused(world, run);
    expect(await toolRequests(world)).toEqual([]);
  });

  it('an unknown environment: lists the known ones', async () => {
    world = await startWorld(configYaml());
    const run = await replaceWeb('--env', 'prodution');
    expect(run.stderr).toContain('no environment "prodution"; known environments: staging');
    await expectRefused(world, run);
  });

  it('a missing and a mistyped field: each with its path and what is expected', async () => {
    world = await startWorld(configYaml());
    await writeConfig(world, configYaml({ web: '        maxInstances: many' }).replace('        instanceType: t3.small\n', ''));
    const run = await replaceWeb();
    expect(run.stderr).toContain(
      'environments.staging.roles.web.instanceType: missing; expected exactly one of instanceType (one type) and instanceTypes',
    );
    expect(run.stderr).toContain('environments.staging.roles.web.maxInstances: expected a positive integer of at most 10000, got "many"');
    await expectRefused(world, run);
  });

  it('an unreadable userDataFile: names the path and the reason', async () => {
    world = await startWorld(configYaml());
    await writeConfig(world, configYaml().replace('user_data/boot.sh', 'user_data/missing.sh'));
    const run = await replaceWeb();
    expect(run.stderr).toMatch(/userDataFile: cannot read \S+missing\.sh: ENOENT/);
    await expectRefused(world, run);
  });

  it('user data over EC2 16 KB limit, refused before any AWS call', async () => {
    world = await startWorld(configYaml());
    await writeFile(join(world.dir, 'user_data', 'boot.sh'), `#!/bin/sh\n${'#'.repeat(16_384)}\n`);
    const run = await replaceWeb();
    expect(run.stderr).toMatch(/boot\.sh is 16395 bytes; EC2 accepts at most 16384 bytes of user data/);
    await expectRefused(world, run);
    expect(await toolRequests(world)).toEqual([]);
  });
});

describe('a config that disagrees with AWS', () => {
  it('two subnets in one Availability Zone', async () => {
    world = await startWorld(sharedAzYaml);
    const run = await replaceWeb();
    expect(run.stderr).toContain('subnets subnet-0f00 (ap-northeast-1a), subnet-0e26 (ap-northeast-1a) share an Availability Zone');
    await expectRefused(world, run);
  });

  it('subnets in two VPCs', async () => {
    world = await startWorld(configYaml());
    await editWorld(world, { op: 'subnet', id: 'subnet-0ccc3333', vpcId: 'vpc-0other' });
    const run = await replaceWeb();
    expect(run.stderr).toMatch(/the subnets span several VPCs \(vpc-\w+, vpc-0other\)/);
    await expectRefused(world, run);
  });

  it('an AMI filter that matches nothing', async () => {
    world = await startWorld(configYaml());
    await writeConfig(world, configYaml().replace('reactio-web-*', 'reactio-wbe-*'));
    const run = await replaceWeb();
    expect(run.stderr).toContain('no available image owned by self has a name matching "reactio-wbe-*"');
    await expectRefused(world, run);
  });

  it('a pinned AMI that is not available, and one that does not exist', async () => {
    world = await startWorld(configYaml());
    const image = newestImage(await world.state(), 'reactio-web-');
    await editWorld(world, { op: 'image', id: image, state: 'pending' });
    const pending = await replaceWeb('--ami', image);
    expect(pending.stderr).toContain(`image ${image} is pending, not available`);
    await expectRefused(world, pending);
    const missing = await replaceWeb('--ami', 'ami-0000dead');
    expect(missing.stderr).toContain('image ami-0000dead does not exist');
    await expectRefused(world, missing);
  });

  it.each([
    ['in another VPC', { vpcId: 'vpc-0other' }, `target group ${TG_ARN} is in vpc-0other, but the subnets are in`],
    ['with ip targets', { targetType: 'ip' }, `target group ${TG_ARN} has target type ip; only "instance" is supported`],
  ])('a target group %s', async (_, edit, said) => {
    world = await startWorld(configYaml());
    await editWorld(world, { op: 'target-group', arn: TG_ARN, ...edit });
    const run = await replaceWeb();
    expect(run.stderr).toContain(said);
    await expectRefused(world, run);
  });
});

describe('credentials and permissions', () => {
  it('no MACKEREL_APIKEY', async () => {
    world = await startWorld(configYaml(), { env: { MACKEREL_APIKEY: '' } });
    const run = await world.spawn('replace', '--config', world.configPath, '--role', 'web');
    expect(run.stderr).toContain('MACKEREL_APIKEY is not set');
    await expectRefused(world, run);
  });

  it('a read-only Mackerel key: found before launch by writing one host status back unchanged', async () => {
    world = await startWorld(configYaml());
    await editWorld(world, { op: 'read-only-key', key: API_KEY });
    const before = await world.state();
    const plan = await world.cli('plan', '--config', world.configPath, '--role', 'web');
    expect(plan.code, plan.stderr).toBe(0);
    expect((await toolRequests(world)).filter((r) => r.mutating)).toEqual([]);
    const run = await replaceWeb();
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /the Mackerel API key may not write: keeping host \w+ working was refused \(POST \S+: 403: Permission denied\)/,
    );
    expect(run.stderr).toContain('nothing was changed');
    // The probe is the one write, and it was refused; nothing else asked for a change.
    const writes = (await toolRequests(world)).filter((r) => r.mutating);
    expect(writes.map((r) => [r.api, r.status])).toEqual([['mackerel', 403]]);
    await expectUntouched(world, 'web', before);
  });

  it('no AWS credentials', async () => {
    world = await startWorld(configYaml(), {
      env: {
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
        AWS_CONFIG_FILE: '/nonexistent',
      },
    });
    const run = await world.spawn('replace', '--config', world.configPath, '--role', 'web');
    expect(run.stderr).toContain('hint: no AWS credentials');
    await expectRefused(world, run);
  });

  it('no AWS region: neither in the environment nor in the config', async () => {
    world = await startWorld(configYaml().replace('region: ap-northeast-1\n', ''), { env: { AWS_CONFIG_FILE: '/nonexistent' } });
    delete process.env.AWS_REGION;
    try {
      const run = await replaceWeb();
      expect(run.stderr).toContain('hint: no AWS region');
      await expectRefused(world, run);
    } finally {
      process.env.AWS_REGION = world.env.AWS_REGION;
    }
  });

  it.each(['RunInstances', 'TerminateInstances'])('IAM denies %s: the DryRun finds it and names the action', async (action) => {
    world = await startWorld(configYaml());
    await editWorld(world, { op: 'deny', action });
    const before = await world.state();
    const run = await replaceWeb();
    expect(run.stderr).toContain(`EC2 ${action} failed: UnauthorizedOperation`);
    expect(run.stderr).toContain(`grant ec2:${action}`);
    await expectRefused(world, run);
    expect((await toolRequests(world)).some((r) => r.action === action && r.status === 403)).toBe(true);
    await expectUntouched(world, 'web', before);
  });
});

// The sandbox gives its 27th subnet the first one's AZ again; a filler role seeds the first 26.
const sharedAzYaml = `region: ap-northeast-1
environments:
  staging:
    mackerel: { service: reactio-staging }
    roles:
      filler:
        ami: { owners: [self], name: "reactio-filler-*" }
        instanceType: t3.small
        subnets: [${Array.from({ length: 26 }, (_, i) => `subnet-0f${String(i).padStart(2, '0')}`).join(', ')}]
        securityGroupIds: [sg-0123abcd]
      web:
        ami: { owners: [self], name: "reactio-web-*" }
        instanceType: t3.small
        subnets: [subnet-0f00, subnet-0e26]
        securityGroupIds: [sg-0123abcd]
        targetGroups: [${TG_ARN}]
`;
