// Launch templates and secure instance defaults (issue 20 §1, §2), whole deploys against the sandbox.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DescribeInstancesCommand,
  EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { type World, configYaml, startWorld } from './harness.js';
import { deployIdOf, expectReplaced, live } from './expect.js';
import { editWorld, expectRefused, writeConfig } from './refusals.js';

let world: World;
let ec2: EC2Client | undefined;
afterEach(async () => {
  ec2?.destroy();
  ec2 = undefined;
  await world?.close();
});

const clientOf = (w: World) => {
  ec2 = new EC2Client({
    endpoint: w.sandbox.url,
    region: 'ap-northeast-1',
    credentials: { accessKeyId: 'sandbox', secretAccessKey: 'b' },
    maxAttempts: 1,
  });
  return ec2;
};

/** A template as a platform team keeps it: IMDSv2 required, an encrypted gp3 root volume, its own tags. */
const createTemplate = async (client: EC2Client) => {
  const { LaunchTemplate } = await client.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: 'reactio-web',
      LaunchTemplateData: {
        InstanceType: 't3.small',
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 30, VolumeType: 'gp3', Encrypted: true } }],
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'cost-center', Value: 'web-1' }] }],
      },
    }),
  );
  return LaunchTemplate!.LaunchTemplateId!;
};

const newVersion = async (client: EC2Client, id: string, costCenter: string) =>
  client.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateId: id,
      SourceVersion: '1',
      LaunchTemplateData: { TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'cost-center', Value: costCenter }] }] },
    }),
  );

const described = async (client: EC2Client, ids: string[]): Promise<Instance[]> =>
  (await client.send(new DescribeInstancesCommand({ InstanceIds: ids }))).Reservations!.flatMap((r) => r.Instances!);

const templateRole = (version: string | number) =>
  `        launchTemplate: { name: reactio-web, version: ${typeof version === 'number' ? version : `"${version}"`} }`;

describe('a role with a launch template', () => {
  it("is replaced: the new instances carry the newest AMI, the template's metadata options, volume and tags plus the tool's, from the version resolved at plan time", async () => {
    world = await startWorld(configYaml({ web: templateRole('$Latest') }));
    const client = clientOf(world);
    const id = await createTemplate(client);
    await newVersion(client, id, 'web-2');
    const before = await world.state();
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'web');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const { newIds } = await expectReplaced(world, 'web', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
    for (const instance of await described(client, newIds)) {
      expect(instance.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
      const tags = Object.fromEntries(instance.Tags!.map((tag) => [tag.Key, tag.Value]));
      expect(tags).toMatchObject({ 'cost-center': 'web-2', 'mackerel-replacer:role': 'staging/web', Name: 'reactio-staging-web' });
    }
    const after = await world.state();
    for (const instance of live(after, 'web').running) {
      expect(instance).toMatchObject({
        launchTemplate: { id, version: 2 },
        volumes: [{ deviceName: '/dev/xvda', volumeSize: 30, volumeType: 'gp3', encrypted: true }],
      });
    }
  });

  it('records the version resolved at plan time, and a reviewed plan is refused once $Latest moved on, naming both versions', async () => {
    world = await startWorld(configYaml({ web: templateRole('$Latest') }));
    const client = clientOf(world);
    const id = await createTemplate(client);
    const saved = join(world.dir, 'web.plan.json');
    const planned = await world.cli('plan', '--config', world.configPath, '--role', 'web', '--out', saved);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain(`launch template: reactio-web (${id}) version 1`);
    expect(planned.stdout).toContain(`launch template reactio-web (${id}) version 1 exists ($Latest of reactio-web)`);
    expect(JSON.parse(await readFile(saved, 'utf8'))).toMatchObject({ launchTemplate: { id, name: 'reactio-web', version: 1 } });
    await newVersion(client, id, 'web-2');
    const since = (await world.requests()).length;
    const applied = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--plan', saved);
    expect(applied.stderr).toContain(`launch template: reviewed reactio-web (${id}) version 1, now reactio-web (${id}) version 2`);
    await expectRefused(world, applied, since);
  });

  it('resumes after kill -9 at the version the deploy recorded, though $Latest moved on', async () => {
    world = await startWorld(configYaml({ web: templateRole('$Latest') }));
    const client = clientOf(world);
    const id = await createTemplate(client);
    const before = await world.state();
    const crashed = await world.spawnUntil(/launch \.\.\./, 'SIGKILL', 'replace', '--config', world.configPath, '--role', 'web');
    expect(crashed.signalled).toBe(true);
    await newVersion(client, id, 'web-2');
    const resumed = await world.spawn('resume', deployIdOf(crashed.stdout), '--config', world.configPath);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    await expectReplaced(world, 'web', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
    for (const instance of live(await world.state(), 'web').running) {
      expect(instance.launchTemplate).toEqual({ id, version: 1 });
      expect(instance.tags['cost-center']).toBe('web-1');
    }
  });

  it('is refused at preflight when the template or its version does not exist, naming it; nothing launched', async () => {
    world = await startWorld(configYaml({ web: templateRole(7) }));
    await createTemplate(clientOf(world));
    const since = (await world.requests()).length;
    const missingVersion = await world.cli('replace', '--config', world.configPath, '--role', 'web');
    expect(missingVersion.stderr).toContain('launch template reactio-web version 7 does not exist');
    await expectRefused(world, missingVersion, since);
    await writeConfig(world, configYaml({ web: '        launchTemplate: { name: reactio-nope }' }));
    const missing = await world.cli('replace', '--config', world.configPath, '--role', 'web');
    expect(missing.stderr).toContain('launch template reactio-nope version $Default does not exist');
    await expectRefused(world, missing, since);
  });
});

describe('an organization that requires IMDSv2 (require-imdsv2)', () => {
  it('takes a role without a template, launched with the secure default: tokens required, hop limit 2', async () => {
    world = await startWorld(configYaml());
    await editWorld(world, { op: 'require-imdsv2', enabled: true });
    const planned = await world.cli('plan', '--config', world.configPath, '--role', 'web');
    expect(planned.stdout).toContain('instance metadata: httpTokens=required, hop limit 2');
    const before = await world.state();
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'web');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const { newIds } = await expectReplaced(world, 'web', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
    for (const instance of await described(clientOf(world), newIds)) {
      expect(instance.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 2 });
    }
  });

  it('refuses a role set to httpTokens: optional at preflight, exit 2, without one mutating request', async () => {
    world = await startWorld(configYaml({ web: '        metadataOptions: { httpTokens: optional }' }));
    await editWorld(world, { op: 'require-imdsv2', enabled: true });
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'web');
    expect(run.stderr).toContain('UnauthorizedOperation');
    expect(run.stderr).toContain('metadataOptions httpTokens: required');
    await expectRefused(world, run);
  });
});
