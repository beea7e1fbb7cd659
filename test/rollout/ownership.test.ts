import { describe, expect, it } from 'vitest';
import { ownershipProblem } from '../../src/rollout/ownership.js';
import type { Instance } from '../../src/rollout/ports.js';
import { TAG_LIMITS, TOOL_TAGS, VAR_BUDGET, instanceTags, tagLimitProblem, varsOfTags } from '../../src/rollout/tags.js';
import { spec, subnets } from './fixtures.js';

const instance = (overrides: Partial<Instance> = {}): Instance => ({
  id: 'i-1',
  state: 'running',
  az: 'ap-northeast-1a',
  subnetId: 'subnet-a',
  vpcId: 'vpc-1',
  launchedAt: '2026-11-01T00:00:00.000Z',
  imageId: 'ami-old',
  tags: { 'mackerel-replacer:role': 'staging/web' },
  ...overrides,
});

const legacy = spec({ ownership: { tag: 'Role', value: 'web' } });

describe('ownershipProblem', () => {
  it.each<[string, Instance, string | undefined]>([
    ['an owned instance', instance(), undefined],
    ['one shutting down, owned', instance({ state: 'shutting-down' }), undefined],
    ['one in another VPC', instance({ vpcId: 'vpc-9' }), "is in vpc-9, not in the role's VPC (vpc-1)"],
    ['one without the tag', instance({ tags: {} }), 'does not carry the ownership tag mackerel-replacer:role=staging/web'],
    [
      'one of another role',
      instance({ tags: { 'mackerel-replacer:role': 'staging/api' } }),
      'does not carry the ownership tag mackerel-replacer:role=staging/web (it has mackerel-replacer:role=staging/api)',
    ],
  ])('%s', (_, subject, problem) => {
    expect(ownershipProblem(spec(), subnets, subject)).toBe(problem);
  });

  it('checks the tag the config names, not the role tag of the tool', () => {
    expect(ownershipProblem(legacy, subnets, instance({ tags: { Role: 'web' } }))).toBeUndefined();
    expect(ownershipProblem(legacy, subnets, instance())).toBe('does not carry the ownership tag Role=web');
  });
});

const facts = {
  deployId: 'd-1',
  startedAt: 0,
  runner: 'ci:1',
  launches: [{ az: 'ap-northeast-1a', subnetId: 'subnet-a', count: 600, clientToken: 't' }],
  image: { name: 'reactio-web-2026-11-01' },
};

describe('instanceTags', () => {
  it('puts the ownership tag and the tool role tag on every new instance', () => {
    expect(instanceTags(legacy, facts)).toMatchObject({
      Role: 'web',
      'mackerel-replacer:role': 'staging/web',
      'mackerel-replacer:deploy-id': 'd-1',
    });
  });

  it('lets the ownership tag override Name and the tags of the config', () => {
    const named = spec({ ownership: { tag: 'Name', value: 'legacy-web' }, tags: { Name: 'mine' } });
    expect(instanceTags(named, facts).Name).toBe('legacy-web');
  });

  it('stays within EC2 limits whatever the fleet size', () => {
    const tags = instanceTags(spec(), facts);
    expect(Object.keys(tags).length).toBeLessThanOrEqual(TOOL_TAGS - 1);
    expect(tagLimitProblem(tags)).toBeUndefined();
  });

  it('records what the deploy shipped: the AMI name and a tag per user data variable', () => {
    const tags = instanceTags(spec({ vars: { artifact: 's3://builds/web/app-1234.tar.gz', service: 'reactio-staging' } }), facts);
    expect(tags).toMatchObject({
      'mackerel-replacer:ami-name': 'reactio-web-2026-11-01',
      'mackerel-replacer:var:artifact': 's3://builds/web/app-1234.tar.gz',
      'mackerel-replacer:var:service': 'reactio-staging',
    });
    expect(varsOfTags(tags)).toEqual({ artifact: 's3://builds/web/app-1234.tar.gz', service: 'reactio-staging' });
  });

  it("stays within 50 tags, leaving room for a recovery's lock and the next deploy's replaced-by, with as many tags and variables as the config allows", () => {
    const own = (prefix: string, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 'v'.repeat(256)]));
    const full = spec({ ownership: { tag: 'Role', value: 'web' }, tags: own('t', 20), vars: own('v', VAR_BUDGET - 20) });
    const tags = instanceTags(full, facts);
    expect(Object.keys(tags)).toHaveLength(TAG_LIMITS.perResource - 2);
    expect(
      tagLimitProblem({ ...tags, 'mackerel-replacer:lock': 'resume h:1 since t', 'mackerel-replacer:replaced-by': 'd-2' }),
    ).toBeUndefined();
  });
});

describe('tagLimitProblem', () => {
  const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
  it.each<[string, Record<string, string>, string | undefined]>([
    ['50 tags', many(TAG_LIMITS.perResource), undefined],
    ['51 tags', many(51), 'each new instance would carry 51 tags'],
    ['a long key', { ['k'.repeat(129)]: 'v' }, 'has 129 characters; EC2 allows 128'],
    ['a long value', { Team: 'v'.repeat(257) }, 'the value of tag Team has 257 characters; EC2 allows 256'],
    ['a reserved key', { 'aws:owner': 'me' }, 'starts with "aws:"'],
  ])('%s', (_, tags, problem) => {
    const found = tagLimitProblem(tags);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });
});
