// Staging and production in two AWS accounts and two Mackerel organizations, one sandbox serving
// both: each environment's own profile and key, the account guard, and a promotion across accounts.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeInstancesCommand, EC2Client, ModifyImageAttributeCommand } from '@aws-sdk/client-ec2';
import { fromIni } from '@aws-sdk/credential-providers';
import { afterEach, describe, expect, it } from 'vitest';
import { type State, type World, startWorld } from './harness.js';
import { editWorld, expectRefused, toolRequests } from './refusals.js';

const STAGING = '111111111111';
const PRODUCTION = '222222222222';
const KEYS = { MACKEREL_APIKEY_STAGING: 'sk-staging-org-41c2', MACKEREL_APIKEY_PRODUCTION: 'sk-production-org-9e07' };
// The agent's role is each environment's own (its vars:), whichever account built the image: the
// image bakes none, and the agent, started from the image's config, is restarted by the user data.
const USER_DATA = `#!/bin/sh
cat > /etc/mackerel-agent/mackerel-agent.conf <<CONF
roles = ["\${mackerel_role}"]
CONF
systemctl restart mackerel-agent
`;
const tg = (account: string, name: string) => `arn:aws:elasticloadbalancing:ap-northeast-1:${account}:targetgroup/${name}/0123456789abcdef`;

const environment = (env: string, account: string, extra = '') => `  ${env}:
    aws: { accountId: "${account}", profile: ${env} }
    mackerel: { service: reactio-${env}, apiKeyEnv: MACKEREL_APIKEY_${env.toUpperCase()} }
${extra}    roles:
      web:
        ami: { owners: [self], name: "reactio-web-*" }
        instanceType: t3.small
        subnets: [subnet-0aaa1111, subnet-0ccc3333]
        securityGroupIds: [sg-0123abcd]
        userDataFile: user_data/boot.sh
        vars: { mackerel_role: "reactio-${env}:web" }
        targetGroups: [${tg(account, `reactio-${env}-web`)}]
        stableFor: 150ms
        timeouts: { launch: 20s, verify: 3s, unhealthy: 1s }
`;

const yaml = (productionExtra = '') => `region: ap-northeast-1
pollInterval: 50ms
environments:
${environment('staging', STAGING)}${environment('production', PRODUCTION, productionExtra)}`;

/** A shared credentials file whose profiles hold these access key ids (the sandbox's account ids). */
const credentials = async (dir: string, name: string, keys: Record<string, string>): Promise<string> => {
  const file = join(dir, name);
  const profiles = Object.entries(keys).map(
    ([profile, keyId]) => `[${profile}]\naws_access_key_id = ${keyId}\naws_secret_access_key = sandbox\n`,
  );
  await writeFile(file, profiles.join('\n'));
  return file;
};

let world: World;
afterEach(async () => {
  await world?.close();
});

const start = async (productionExtra = '') => {
  // The sandbox reads each organization's key from its own environment when it starts.
  Object.assign(process.env, KEYS);
  world = await startWorld(yaml(productionExtra), { userData: USER_DATA, env: { ...KEYS, AWS_CONFIG_FILE: '/nonexistent/aws/config' } });
  process.env.AWS_SHARED_CREDENTIALS_FILE = await credentials(world.dir, 'credentials', { staging: STAGING, production: PRODUCTION });
};

const stateOf = async (account: string): Promise<State> =>
  (await fetch(`${world.sandbox.url}/_sandbox/state?account=${account}`)).json() as Promise<State>;

const hostsSeenWith = async (apiKey: string): Promise<{ id: string; roles: Record<string, string[]> }[]> =>
  ((await (await fetch(`${world.sandbox.url}/api/v0/hosts`, { headers: { 'X-Api-Key': apiKey } })).json()) as { hosts: [] }).hosts;

const ec2As = (keyId: string) =>
  new EC2Client({ endpoint: world.sandbox.url, region: 'ap-northeast-1', credentials: { accessKeyId: keyId, secretAccessKey: 'sandbox' } });

const olderImage = (state: State): string =>
  state.images.filter((image) => image.name === 'reactio-web-2026-10-01' && (image as { ownerId?: string }).ownerId === STAGING)[0]!.id;

const running = (state: State, owner: string) =>
  state.instances.filter((instance) => instance.tags['mackerel-replacer:role'] === owner && instance.state === 'running');

const deployStagingOlder = async (): Promise<{ ami: string; deployId: string }> => {
  const ami = olderImage(await stateOf(STAGING));
  await editWorld(world, { op: 'image-agent', id: ami, roles: [] });
  const run = await world.cli('replace', '--config', world.configPath, '--env', 'staging', '--role', 'web', '--ami', ami);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return { ami, deployId: /replaced: deploy (\S+)/.exec(run.stdout)![1]! };
};

describe('two accounts and two organizations', () => {
  it('promotes staging to production once the image is shared: refused before (exit 2, no change, naming the command), then launched in production with production’s organization', async () => {
    await start();
    const { ami, deployId } = await deployStagingOlder();

    const since = (await world.requests()).length;
    const refused = await world.cli(
      'plan',
      '--config',
      world.configPath,
      '--env',
      'production',
      '--role',
      'web',
      '--promote-from',
      'staging',
    );
    await expectRefused(world, refused, since);
    expect(refused.stderr).toContain(`image ${ami} of staging (account ${STAGING}) is not shared with account ${PRODUCTION}`);
    expect(refused.stderr).toContain(`aws ec2 modify-image-attribute --image-id ${ami} --launch-permission "Add=[{UserId=${PRODUCTION}}]"`);

    // Production's own key may not share staging's image; staging's may.
    await expect(
      ec2As(PRODUCTION).send(new ModifyImageAttributeCommand({ ImageId: ami, LaunchPermission: { Add: [{ UserId: PRODUCTION }] } })),
    ).rejects.toThrow(/does not exist/);
    await ec2As(STAGING).send(new ModifyImageAttributeCommand({ ImageId: ami, LaunchPermission: { Add: [{ UserId: PRODUCTION }] } }));

    const oldProduction = running(await stateOf(PRODUCTION), 'production/web').map((instance) => instance.id);
    const run = await world.cli(
      'replace',
      '--config',
      world.configPath,
      '--env',
      'production',
      '--role',
      'web',
      '--promote-from',
      'staging',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`promoting staging (${STAGING}) deploy ${deployId}: ${ami} shared with ${PRODUCTION}`);

    const production = await stateOf(PRODUCTION);
    const launched = running(production, 'production/web');
    expect(launched).toHaveLength(2);
    expect(launched.map((instance) => instance.imageId)).toEqual([ami, ami]);
    expect(launched.map((instance) => instance.id)).not.toEqual(expect.arrayContaining(oldProduction));
    // Each account sees its own instances, each organization its own hosts.
    expect((await stateOf(STAGING)).instances.filter((instance) => instance.tags['mackerel-replacer:env'] === 'production')).toEqual([]);
    const productionHosts = await hostsSeenWith(KEYS.MACKEREL_APIKEY_PRODUCTION);
    const stagingHosts = await hostsSeenWith(KEYS.MACKEREL_APIKEY_STAGING);
    expect(productionHosts.every((host) => Object.keys(host.roles).every((service) => service === 'reactio-production'))).toBe(true);
    expect(stagingHosts.every((host) => Object.keys(host.roles).every((service) => service === 'reactio-staging'))).toBe(true);
    const hostIds = new Set(production.hosts.map((host) => host.customIdentifier?.split('.')[0]));
    for (const instance of launched) expect(hostIds.has(instance.id)).toBe(true);
  });

  it('promotion.shareImage: the plan changes nothing and says so; replace shares the image with staging’s key before the first launch', async () => {
    await start('    promotion: { shareImage: true }\n');
    const { ami } = await deployStagingOlder();
    const args = ['--config', world.configPath, '--env', 'production', '--role', 'web', '--promote-from', 'staging'];

    const since = (await world.requests()).length;
    const plan = await world.cli('plan', ...args);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain(
      `image ${ami} is shared with account ${PRODUCTION} (promotion.shareImage, with staging's credentials) once the deploy goes ahead`,
    );
    expect((await toolRequests(world, since)).filter((request) => request.mutating)).toEqual([]);
    expect((await stateOf(STAGING)).images.find((image) => image.id === ami)).toMatchObject({ launchPermissions: [] });

    const before = (await world.requests()).length;
    const run = await world.cli('replace', ...args);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await stateOf(STAGING)).images.find((image) => image.id === ami)).toMatchObject({ launchPermissions: [PRODUCTION] });
    const mutating = (await toolRequests(world, before)).filter((request) => request.mutating).map((request) => request.action);
    expect(mutating.indexOf('RunInstances')).toBeGreaterThan(mutating.indexOf('ModifyImageAttribute'));
    expect(mutating.indexOf('ModifyImageAttribute')).toBeGreaterThanOrEqual(0);
    expect(mutating.filter((action) => action === 'ModifyImageAttribute')).toHaveLength(1);
    expect(running(await stateOf(PRODUCTION), 'production/web').map((instance) => instance.imageId)).toEqual([ami, ami]);
  });

  it('the account guard refuses a staging deploy whose profile holds production’s credentials (exit 2, nothing sent before the guard)', async () => {
    await start();
    process.env.AWS_SHARED_CREDENTIALS_FILE = await credentials(world.dir, 'mixed-up', { staging: PRODUCTION, production: PRODUCTION });
    const run = await world.cli('replace', '--config', world.configPath, '--env', 'staging', '--role', 'web');
    await expectRefused(world, run);
    expect(run.stderr).toContain(
      `environment staging expects account ${STAGING}, but the credentials are for ${PRODUCTION} (profile staging)`,
    );
    expect((await toolRequests(world)).map((request) => `${request.api} ${request.action}`)).toEqual(['sts GetCallerIdentity']);
  });

  it('each profile sees its own account’s instances only', async () => {
    await start();
    for (const [profile, env] of [
      ['staging', 'staging'],
      ['production', 'production'],
    ] as const) {
      const ec2 = new EC2Client({ endpoint: world.sandbox.url, region: 'ap-northeast-1', credentials: fromIni({ profile }) });
      const { Reservations = [] } = await ec2.send(new DescribeInstancesCommand({}));
      const envs = Reservations.flatMap((r) => r.Instances ?? []).map(
        (i) => i.Tags?.find((tag) => tag.Key === 'mackerel-replacer:env')?.Value,
      );
      expect(envs.length).toBeGreaterThan(0);
      expect(new Set(envs)).toEqual(new Set([env]));
    }
  });
});
