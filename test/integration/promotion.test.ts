// biome-ignore-all lint/suspicious/noTemplateCurlyInString: user data templates are written with ${…} on purpose
// User data variables and promotion, against a sandbox seeded with staging and production:
// staging deploys with --var, production ships exactly what staging verified.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type State, TG_ARN, type World, configYaml, newestImage, startWorld } from './harness.js';
import { editWorld, expectRefused } from './refusals.js';

let world: World;
afterEach(() => world?.close());

const PROD_TG = 'arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/reactio-prod-web/fedcba9876543210';
const ARTIFACT = 's3://reactio-builds/web/app-3f9c2e1.tar.gz';

// The agent's role differs per environment (each environment's own vars:); the artifact is what a deploy ships.
const USER_DATA = `#!/bin/sh
aws s3 cp \${artifact} /tmp/app.tar.gz
cat > /etc/mackerel-agent/mackerel-agent.conf <<CONF
roles = ["\${mackerel_role}"]
CONF
systemctl restart mackerel-agent
echo "pid $$, home $HOME, literally $\${HOME}"
`;

const yaml = configYaml({
  web: '        vars: { mackerel_role: "reactio-staging:web" }',
  environments: `  production:
    mackerel: { service: reactio-production }
    roles:
      web:
        ami: { owners: [self], name: "reactio-web-*" }
        instanceType: t3.small
        subnets: [subnet-0aaa1111, subnet-0ccc3333]
        securityGroupIds: [sg-0123abcd]
        userDataFile: user_data/boot.sh
        targetGroups: [${PROD_TG}]
        stableFor: 150ms
        timeouts: { launch: 20s, verify: 3s, unhealthy: 1s }
        vars: { mackerel_role: "reactio-production:web" }
`,
});

const start = () => startWorld(yaml, { userData: USER_DATA });

const running = (state: State, owner: string) =>
  state.instances.filter((i) => i.tags['mackerel-replacer:role'] === owner && i.state === 'running');

const readRecord = async (deployId: string) =>
  JSON.parse(await readFile(join(world.dir, 'journal', `${deployId}.json`), 'utf8')) as Record<string, unknown>;

const deployIdOf = (stdout: string): string => /replaced: deploy (\S+)/.exec(stdout)![1]!;

const deployStaging = async (artifact = ARTIFACT) => {
  const run = await world.cli(
    'replace',
    '--config',
    world.configPath,
    '--env',
    'staging',
    '--role',
    'web',
    '--var',
    `artifact=${artifact}`,
  );
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return deployIdOf(run.stdout);
};

describe('user data variables', () => {
  it('refuses an unset variable and an unknown one (exit 2), naming it and the file, before any mutating request', async () => {
    world = await start();
    const file = join(world.dir, 'user_data', 'boot.sh');
    const unset = await world.cli('replace', '--config', world.configPath, '--env', 'staging', '--role', 'web');
    await expectRefused(world, unset);
    expect(unset.stderr).toContain(
      `${file}: unset variable \${artifact} (line 2): give each with --var NAME=VALUE or under environments.staging.roles.web.vars`,
    );
    const unknown = await world.cli(
      'replace',
      '--config',
      world.configPath,
      '--env',
      'staging',
      '--role',
      'web',
      '--var',
      `artifact=${ARTIFACT}`,
      '--var',
      'artefact=x',
    );
    await expectRefused(world, unknown);
    expect(unknown.stderr).toContain(
      `${file}: unknown variable artefact (--var): the template has no such \${…}; its variables: artifact, mackerel_role`,
    );
    expect((await world.state()).instances.filter((i) => i.tags['mackerel-replacer:deploy-id'])).toEqual([]);
  });

  it('refuses a --var value a shell would interpret (exit 2), naming the variable and the character, before any mutating request', async () => {
    world = await start();
    for (const [value, character] of [
      ['$(id)', '"$"'],
      ['`id`', '"`"'],
      ['app\nid', '"\\n"'],
      ['${mackerel_role}', '"$"'],
    ]) {
      const run = await world.cli(
        'replace',
        '--config',
        world.configPath,
        '--env',
        'staging',
        '--role',
        'web',
        '--var',
        `artifact=${value}`,
      );
      await expectRefused(world, run);
      expect(run.stderr).toContain(`variable artifact (--var) holds ${character}, which a shell would interpret at \${artifact} (line 2)`);
    }
    expect((await world.state()).instances.filter((i) => i.tags['mackerel-replacer:deploy-id'])).toEqual([]);
  });

  it('${artifact:q} inserts a value single-quoted: $(id) reaches the instance as a literal', async () => {
    world = await startWorld(yaml, { userData: USER_DATA.replace('${artifact}', '${artifact:q}') });
    const value = "$(id)'x";
    const run = await world.cli('replace', '--config', world.configPath, '--env', 'staging', '--role', 'web', '--var', `artifact=${value}`);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const launched = running(await world.state(), 'staging/web') as (State['instances'][number] & { userData?: string })[];
    expect(launched).toHaveLength(2);
    for (const instance of launched) {
      expect(instance.userData!.split('\n')[1]).toBe(`aws s3 cp '$(id)'\\''x' /tmp/app.tar.gz`);
      expect(instance.tags['mackerel-replacer:var:artifact']).toBe(value);
    }
  });

  it('a staging deploy with --var launches the filled-in user data and records the AMI and the values in its record and its tags', async () => {
    world = await start();
    const deployId = await deployStaging();
    const state = await world.state();
    const image = state.images.find((i) => i.id === newestImage(state, 'reactio-web-'))!;
    const launched = running(state, 'staging/web');
    expect(launched).toHaveLength(2);
    for (const instance of launched as (State['instances'][number] & { userData?: string })[]) {
      expect(instance.imageId).toBe(image.id);
      expect(instance.userData).toBe(
        `#!/bin/sh\naws s3 cp ${ARTIFACT} /tmp/app.tar.gz\ncat > /etc/mackerel-agent/mackerel-agent.conf <<CONF\nroles = ["reactio-staging:web"]\nCONF\nsystemctl restart mackerel-agent\necho "pid $$, home $HOME, literally \${HOME}"\n`,
      );
      expect(instance.tags).toMatchObject({
        'mackerel-replacer:deploy-id': deployId,
        'mackerel-replacer:state': 'done',
        'mackerel-replacer:ami-name': image.name,
        'mackerel-replacer:var:artifact': ARTIFACT,
        'mackerel-replacer:var:mackerel_role': 'reactio-staging:web',
      });
    }
    const record = await readRecord(deployId);
    expect(record).toMatchObject({
      status: 'replaced',
      image: { id: image.id, name: image.name },
      vars: { artifact: ARTIFACT, mackerel_role: 'reactio-staging:web' },
    });
    expect(record.promotedFrom).toBeUndefined();
  });
  it('resume after kill -9 relaunches with the values the deploy recorded, without --var', async () => {
    world = await start();
    const crashed = await world.spawnUntil(
      /verify \.\.\./,
      'SIGKILL',
      'replace',
      '--config',
      world.configPath,
      '--env',
      'staging',
      '--role',
      'web',
      '--var',
      `artifact=${ARTIFACT}`,
    );
    expect(crashed.signalled).toBe(true);
    const deployId = /deploy (\d{8}-\d{6}-[0-9a-f]{4})/.exec(crashed.stdout)![1]!;
    const resumed = await world.spawn('resume', deployId, '--config', world.configPath);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const launched = (await world.state()).instances.filter((i) => i.tags['mackerel-replacer:deploy-id'] === deployId);
    expect(launched).toHaveLength(2);
    for (const instance of launched) {
      expect(instance.state).toBe('running');
      expect(instance.tags).toMatchObject({ 'mackerel-replacer:state': 'done', 'mackerel-replacer:var:artifact': ARTIFACT });
    }
    expect(await readRecord(deployId)).toMatchObject({
      status: 'replaced',
      vars: { artifact: ARTIFACT, mackerel_role: 'reactio-staging:web' },
    });
  });
});

describe('replace --promote-from', () => {
  it("launches staging's AMI and values in production, not an image built since, and plan shows what is promoted from which deploy", async () => {
    world = await start();
    const stagingDeploy = await deployStaging();
    const staged = await world.state();
    const verified = staged.images.find((i) => i.id === running(staged, 'staging/web')[0]!.imageId)!;
    // An image built after staging was checked: the newest, and never to reach production unchecked.
    await editWorld(world, { op: 'add-image', name: 'reactio-web-2026-12-24', like: verified.id });
    const newer = newestImage(await world.state(), 'reactio-web-');
    expect(newer).not.toBe(verified.id);

    const plan = await world.cli('plan', '--config', world.configPath, '--env', 'production', '--role', 'web', '--promote-from', 'staging');
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(0);
    const stagingIds = running(staged, 'staging/web')
      .map((i) => i.id)
      .sort()
      .join(', ');
    expect(plan.stdout).toContain(
      `promoted from: staging deploy ${stagingDeploy}: ${verified.id} (${verified.name}), artifact=${ARTIFACT}, mackerel_role=reactio-staging:web; running on ${stagingIds}`,
    );
    expect(plan.stdout).toContain(`-> ${verified.id} (${verified.name}, created ${verified.createdAt})`);
    expect(plan.stdout).toContain(`artifact=${ARTIFACT} (staging deploy ${stagingDeploy})`);
    expect(plan.stdout).toContain("mackerel_role=reactio-production:web (production's vars:)");

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
    const productionDeploy = deployIdOf(run.stdout);
    const after = await world.state();
    const launched = running(after, 'production/web');
    expect(launched).toHaveLength(2);
    for (const instance of launched) {
      expect(instance.imageId).toBe(verified.id);
      expect(instance.tags).toMatchObject({
        'mackerel-replacer:deploy-id': productionDeploy,
        'mackerel-replacer:state': 'done',
        'mackerel-replacer:ami-name': verified.name,
        'mackerel-replacer:var:artifact': ARTIFACT,
        'mackerel-replacer:var:mackerel_role': 'reactio-production:web',
      });
    }
    // The new production hosts registered under production's role, as its own vars: say.
    const group = after.targetGroups.find((g) => g.arn === PROD_TG)!;
    expect(
      group.targets
        .filter((t) => t.state === 'healthy')
        .map((t) => t.id)
        .sort(),
    ).toEqual(launched.map((i) => i.id).sort());
    expect(after.targetGroups.find((g) => g.arn === TG_ARN)!.targets.map((t) => t.id)).not.toContain(launched[0]!.id);
    expect(await readRecord(productionDeploy)).toMatchObject({
      status: 'replaced',
      image: { id: verified.id, name: verified.name },
      vars: { artifact: ARTIFACT, mackerel_role: 'reactio-production:web' },
      promotedFrom: { env: 'staging', deployId: stagingDeploy },
    });
  });

  it('refuses when staging has no successful deploy of the role, with no mutating request', async () => {
    world = await start();
    // The seeded staging fleet was not launched by the tool: nothing is tagged done.
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
    await expectRefused(world, run);
    expect(run.stderr).toContain(
      'error: staging/web has no successful deploy to promote: none of its running instances is tagged mackerel-replacer:state=done',
    );
    expect(run.stderr).toContain('hint: deploy staging first (mackerel-replacer replace --env staging --role web)');
  });

  it("refuses when staging's running instances disagree on the values, naming both sides, with no mutating request", async () => {
    world = await start();
    const stagingDeploy = await deployStaging();
    const [one, other] = running(await world.state(), 'staging/web').sort((a, b) => (a.id < b.id ? -1 : 1));
    const edited = `${ARTIFACT.replace('3f9c2e1', '0000000')}`;
    await editWorld(world, { op: 'instance-tags', id: other!.id, tags: { ...other!.tags, 'mackerel-replacer:var:artifact': edited } });
    const seen = (await world.requests()).length;
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
    await expectRefused(world, run, seen);
    expect(run.stderr).toContain("staging/web's running instances disagree on what they run");
    expect(run.stderr).toContain(`deploy ${stagingDeploy} (${one!.id}): ${one!.imageId} (`);
    expect(run.stderr).toContain(`artifact=${ARTIFACT}, mackerel_role=reactio-staging:web`);
    expect(run.stderr).toContain(`deploy ${stagingDeploy} (${other!.id}): ${other!.imageId} (`);
    expect(run.stderr).toContain(`artifact=${edited}, mackerel_role=reactio-staging:web`);
  });

  it('refuses --promote-from with --ami or --var, and an environment the config lacks', async () => {
    world = await start();
    const base = ['replace', '--config', world.configPath, '--env', 'production', '--role', 'web'];
    const withAmi = await world.cli(...base, '--promote-from', 'staging', '--ami', 'ami-0123abcd');
    await expectRefused(world, withAmi);
    expect(withAmi.stderr).toContain('error: --promote-from cannot be combined with --ami');
    const withVar = await world.cli(...base, '--promote-from', 'staging', '--var', 'artifact=x');
    await expectRefused(world, withVar);
    expect(withVar.stderr).toContain('error: --promote-from cannot be combined with --var (artifact)');
    const typo = await world.cli(...base, '--promote-from', 'stagign');
    await expectRefused(world, typo);
    expect(typo.stderr).toContain('no environment "stagign"; known environments: staging, production');
  });
});
