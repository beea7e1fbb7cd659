// biome-ignore-all lint/suspicious/noTemplateCurlyInString: user data templates are written with ${…} on purpose
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/rollout/errors.js';
import type { Fleet, Instance } from '../../src/rollout/ports.js';
import { findPromotion, shipSpec } from '../../src/rollout/promotion.js';
import type { UserDataTemplate } from '../../src/rollout/template.js';
import { spec } from './fixtures.js';

const call = { signal: new AbortController().signal };

const shipped = (
  id: string,
  overrides: { deploy?: string; image?: string; artifact?: string; state?: string; tags?: Record<string, string> } = {},
): Instance => ({
  id,
  state: 'running',
  az: 'ap-northeast-1a',
  subnetId: 'subnet-a',
  vpcId: 'vpc-1',
  launchedAt: '2026-11-01T00:00:00.000Z',
  imageId: overrides.image ?? 'ami-0000aaaa',
  tags: {
    'mackerel-replacer:role': 'staging/web',
    'mackerel-replacer:deploy-id': overrides.deploy ?? '20261123-153600-3fa9',
    'mackerel-replacer:started-at': '2026-11-23T15:36:00.000Z',
    'mackerel-replacer:state': 'done',
    'mackerel-replacer:ami-name': `reactio-web-${overrides.image ?? 'ami-0000aaaa'}`,
    'mackerel-replacer:var:artifact': overrides.artifact ?? 's3://b/app-1.tar.gz',
    'mackerel-replacer:var:mackerel_role': 'reactio-staging:web',
    ...overrides.tags,
  },
});

/** A Fleet that answers findByTag from `instances` (not terminated ones), and nothing else. */
const fleetOf = (instances: Instance[]): Fleet =>
  ({
    findByTag: async (key: string, value: string) => instances.filter((i) => i.tags[key] === value && i.state !== 'terminated'),
  }) as unknown as Fleet;

const from = { env: 'staging', role: 'web' };

const refusal = async (instances: Instance[]): Promise<UsageError> => {
  const error = await findPromotion(from, fleetOf(instances), call).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
};

describe('findPromotion', () => {
  it("reads the image and the values from the running instances tagged done, ignoring an in-flight deploy's and stopped ones", async () => {
    const found = await findPromotion(
      from,
      fleetOf([
        shipped('i-2'),
        shipped('i-1'),
        shipped('i-3', { deploy: '20261124-090000-0001', image: 'ami-0000bbbb', tags: { 'mackerel-replacer:state': 'in-flight' } }),
        { ...shipped('i-4', { image: 'ami-0000cccc' }), state: 'stopped' },
        shipped('i-5', { tags: { 'mackerel-replacer:role': 'production/web' } }),
      ]),
      call,
    );
    expect(found).toEqual({
      env: 'staging',
      deployId: '20261123-153600-3fa9',
      image: { id: 'ami-0000aaaa', name: 'reactio-web-ami-0000aaaa' },
      vars: { artifact: 's3://b/app-1.tar.gz', mackerel_role: 'reactio-staging:web' },
      instanceIds: ['i-1', 'i-2'],
    });
  });

  it('refuses a role with no successful deploy, naming a deploy still in flight', async () => {
    const error = await refusal([shipped('i-3', { deploy: '20261124-090000-0001', tags: { 'mackerel-replacer:state': 'in-flight' } })]);
    expect(error.message).toBe(
      'staging/web has no successful deploy to promote: none of its running instances is tagged mackerel-replacer:state=done (deploy 20261124-090000-0001 is still in flight)',
    );
    expect(error.hint).toContain('deploy staging first (mackerel-replacer replace --env staging --role web)');
    expect((await refusal([])).message).toBe(
      'staging/web has no successful deploy to promote: none of its running instances is tagged mackerel-replacer:state=done',
    );
  });

  it('refuses instances that carry no record of what they shipped', async () => {
    const old = shipped('i-9');
    delete (old.tags as Record<string, string>)['mackerel-replacer:ami-name'];
    expect((await refusal([shipped('i-1'), old])).message).toContain(
      "staging/web's instances i-9 carry no record of what they shipped (no mackerel-replacer:ami-name tag)",
    );
  });

  it.each([
    ['the image', { image: 'ami-0000bbbb' }, 'ami-0000bbbb (reactio-web-ami-0000bbbb), artifact=s3://b/app-1.tar.gz'],
    ['a value', { artifact: 's3://b/app-2.tar.gz' }, 'ami-0000aaaa (reactio-web-ami-0000aaaa), artifact=s3://b/app-2.tar.gz'],
  ])('refuses instances that disagree on %s, naming both sides', async (_, other, side) => {
    const error = await refusal([shipped('i-1'), shipped('i-2', { deploy: '20261124-090000-0001', ...other })]);
    expect(error.message).toBe(
      "staging/web's running instances disagree on what they run, so there is no one deploy to promote:\n" +
        '  deploy 20261123-153600-3fa9 (i-1): ami-0000aaaa (reactio-web-ami-0000aaaa), artifact=s3://b/app-1.tar.gz, mackerel_role=reactio-staging:web\n' +
        `  deploy 20261124-090000-0001 (i-2): ${side}, mackerel_role=reactio-staging:web`,
    );
  });

  it('refuses a variable only some instances carry', async () => {
    const error = await refusal([shipped('i-1'), shipped('i-2', { tags: { 'mackerel-replacer:var:debug': '1' } })]);
    expect(error.message).toContain('debug=1');
  });

  it('takes the newest of several deploys that shipped the same', async () => {
    const later = shipped('i-2', { deploy: '20261124-090000-0001', tags: { 'mackerel-replacer:started-at': '2026-11-24T09:00:00.000Z' } });
    expect((await findPromotion(from, fleetOf([shipped('i-1'), later]), call)).deployId).toBe('20261124-090000-0001');
  });
});

describe('shipSpec', () => {
  const template = (vars: Record<string, string>): UserDataTemplate => ({
    configFile: 'replacer.yml',
    field: 'environments.production.roles.web.userDataFile',
    path: '/cfg/boot.sh',
    text: 'get ${artifact} as ${mackerel_role}',
    varsField: 'environments.production.roles.web.vars',
    vars,
  });
  const production = spec({ env: 'production', template: template({ mackerel_role: 'reactio-production:web' }) });
  const promotion = {
    env: 'staging',
    deployId: '20261123-153600-3fa9',
    image: { id: 'ami-0000aaaa', name: 'reactio-web-1' },
    vars: { artifact: 's3://b/app-1.tar.gz', mackerel_role: 'reactio-staging:web' },
    instanceIds: ['i-1'],
  };

  it("ships the promoted image and values; the environment's own vars: stay its own", () => {
    const { spec: shipped, vars } = shipSpec(production, {}, promotion);
    expect(shipped.ami).toEqual({ id: 'ami-0000aaaa' });
    expect(shipped.userData).toBe('get s3://b/app-1.tar.gz as reactio-production:web');
    expect(vars).toEqual([
      { name: 'artifact', value: 's3://b/app-1.tar.gz', from: 'staging deploy 20261123-153600-3fa9' },
      { name: 'mackerel_role', value: 'reactio-production:web', from: "production's vars:" },
    ]);
  });

  it('fills --var over the vars: of the config without a promotion, keeping the configured image', () => {
    const { spec: shipped, vars } = shipSpec(production, { artifact: 's3://b/app-9.tar.gz' }, undefined);
    expect(shipped.ami).toEqual(production.ami);
    expect(shipped.vars).toEqual({ artifact: 's3://b/app-9.tar.gz', mackerel_role: 'reactio-production:web' });
    expect(vars.map((v) => v.from)).toEqual(['--var', 'vars:']);
  });

  it('refuses --var beside a promotion', () => {
    expect(() => shipSpec(production, { artifact: 'x' }, promotion)).toThrow('--var cannot be combined with --promote-from');
  });

  it("refuses a promoted variable the promoting environment's template does not have", () => {
    const other = spec({ env: 'production', template: { ...template({}), text: 'get ${artifact}' } });
    expect(() => shipSpec(other, {}, promotion)).toThrow('unknown variable mackerel_role (staging deploy 20261123-153600-3fa9)');
  });
});
