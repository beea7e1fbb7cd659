import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/rollout/errors.js';
import { makePlan, planDifferences } from '../../src/rollout/plan.js';
import { image, member, spec, subnets } from './fixtures.js';

const old = { members: [member('i-1', 'ap-northeast-1a'), member('i-2', 'ap-northeast-1a'), member('i-3', 'ap-northeast-1c')] };

describe('makePlan', () => {
  it('launches perAz instances in every configured AZ, with a ClientToken per deploy and AZ', () => {
    const plan = makePlan(spec({ perAz: 2 }), 'd1', image, subnets, old);
    expect(plan.launches).toEqual([
      { az: 'ap-northeast-1a', subnetId: 'subnet-a', count: 2, clientToken: 'd1/ap-northeast-1a/0' },
      { az: 'ap-northeast-1c', subnetId: 'subnet-c', count: 2, clientToken: 'd1/ap-northeast-1c/0' },
    ]);
    expect(plan.newCount).toBe(4);
    expect(plan.oldCount).toBe(3);
  });

  it('copies the old distribution with perAz: match', () => {
    const plan = makePlan(spec({ perAz: 'match' }), 'd1', image, subnets, old);
    expect(plan.launches.map((l) => [l.az, l.count])).toEqual([
      ['ap-northeast-1a', 2],
      ['ap-northeast-1c', 1],
    ]);
  });

  it('refuses a web plan smaller than the old fleet, since capacity would dip', () => {
    expect(() => makePlan(spec({ perAz: 1 }), 'd1', image, subnets, old)).toThrow(/capacity behind the load balancer would drop/);
  });

  it('allows a smaller worker fleet: no load balancer capacity to protect', () => {
    expect(makePlan(spec({ perAz: 1, targetGroups: [] }), 'd1', image, subnets, old).newCount).toBe(2);
  });

  it('refuses a plan larger than maxInstances: a typo in perAz must not launch thousands', () => {
    expect(() => makePlan(spec({ perAz: 10_000, maxInstances: 20 }), 'd1', image, subnets, old)).toThrow(
      "the plan launches 20000 instances, more than the role's maxInstances (20)",
    );
  });

  it('refuses a plan that launches nothing', () => {
    expect(() => makePlan(spec({ perAz: 'match' }), 'd1', image, subnets, { members: [] })).toThrow(UsageError);
  });

  it('keeps ClientTokens within EC2 limit of 64 characters', () => {
    const plan = makePlan(spec(), '20261123-153600-3fa9', image, subnets, { members: [] });
    for (const launch of plan.launches) expect(launch.clientToken.length).toBeLessThanOrEqual(64);
  });
});

describe('planDifferences', () => {
  const reviewed = {
    version: 2 as const,
    env: 'staging',
    role: 'web',
    targetGroups: ['arn:tg-web'],
    imageId: 'ami-new',
    instanceTypes: ['t3.small'],
    subnets: ['subnet-a'],
    securityGroupIds: ['sg-1'],
    tags: { team: 'web' },
    launches: [{ az: 'a', count: 1 }],
    snapshot: ['i-1', 'i-2'],
    vars: {},
  };
  it('finds none when the world gives the reviewed plan', () => {
    expect(planDifferences(reviewed, { ...reviewed })).toEqual([]);
  });
  it('names every difference: image, counts, old instances gone and new', () => {
    expect(
      planDifferences(reviewed, { ...reviewed, imageId: 'ami-newer', launches: [{ az: 'a', count: 2 }], snapshot: ['i-2', 'i-3'] }),
    ).toEqual([
      'image: reviewed ami-new, now ami-newer',
      'launches: reviewed a=1, now a=2',
      'old instances gone since: i-1',
      'old instances new since: i-3',
    ]);
  });
  it('names different user data variables; a plan saved without them reviewed none', () => {
    const withVars = { ...reviewed, vars: { artifact: 's3://b/app-1.tar.gz' } };
    expect(planDifferences(withVars, { ...reviewed, vars: { artifact: 's3://b/app-2.tar.gz' } })).toEqual([
      'user data variables: reviewed artifact=s3://b/app-1.tar.gz, now artifact=s3://b/app-2.tar.gz',
    ]);
    expect(planDifferences(reviewed, withVars)).toEqual(['user data variables: reviewed no variables, now artifact=s3://b/app-1.tar.gz']);
  });
  it('names a change between web and worker mode, and every setting that shapes an instance', () => {
    const now = {
      ...reviewed,
      targetGroups: [],
      instanceTypes: ['t3.large', 't3.small'],
      securityGroupIds: ['sg-2'],
      iamInstanceProfile: 'app',
      userDataSha256: 'ab12',
      tags: {},
    };
    expect(planDifferences(reviewed, now)).toEqual([
      'mode: reviewed web (target groups arn:tg-web), now worker (no target groups)',
      'instance types: reviewed t3.small, now t3.large, t3.small',
      'security groups: reviewed sg-1, now sg-2',
      'instance profile: reviewed none, now app',
      'user data SHA-256: reviewed no user data, now ab12',
      'tags: reviewed team=web, now none',
    ]);
    expect(planDifferences(reviewed, { ...reviewed, targetGroups: ['arn:tg-other'] })).toEqual([
      'target groups: reviewed arn:tg-web, now arn:tg-other',
    ]);
  });
});
