import { describe, expect, it } from 'vitest';
import { launchTags } from '../../src/rollout/launch.js';
import { ownershipProblem } from '../../src/rollout/ownership.js';
import type { Instance } from '../../src/rollout/ports.js';
import { spec, subnets } from './fixtures.js';

const instance = (overrides: Partial<Instance> = {}): Instance => ({
  id: 'i-1',
  state: 'running',
  az: 'ap-northeast-1a',
  subnetId: 'subnet-a',
  vpcId: 'vpc-1',
  imageId: 'ami-old',
  tags: { 'mackerel-replacer:role': 'staging/web' },
  ...overrides,
});

const legacy = spec({ ownership: { tag: 'Role', value: 'web' } });

describe('ownershipProblem', () => {
  it.each<[string, Instance | undefined, string | undefined]>([
    ['an owned instance', instance(), undefined],
    ['a missing instance', undefined, 'does not exist in EC2'],
    ['a terminated instance', instance({ state: 'terminated' }), 'does not exist in EC2'],
    ['one shutting down', instance({ state: 'shutting-down' }), 'is already shutting down'],
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

describe('launchTags', () => {
  it('puts the ownership tag and the tool role tag on every new instance', () => {
    expect(launchTags(legacy, 'd-1')).toMatchObject({ Role: 'web', 'mackerel-replacer:role': 'staging/web', 'mackerel-replacer:deploy-id': 'd-1' });
  });

  it('lets the ownership tag override Name and the tags of the config', () => {
    const named = spec({ ownership: { tag: 'Name', value: 'legacy-web' }, tags: { Name: 'mine' } });
    expect(launchTags(named, 'd-1').Name).toBe('legacy-web');
  });
});
