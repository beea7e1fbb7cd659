import type { Image, Subnet } from '../../src/rollout/ports.js';
import type { Member } from '../../src/rollout/snapshot.js';
import type { RoleSpec } from '../../src/rollout/spec.js';

export const spec = (overrides: Partial<RoleSpec> = {}): RoleSpec => ({
  env: 'staging',
  role: 'web',
  service: 'reactio-staging',
  ami: { owners: ['self'], name: 'reactio-web-*' },
  instanceType: 't3.small',
  subnets: ['subnet-a', 'subnet-c'],
  securityGroupIds: ['sg-1'],
  tags: {},
  ownership: { tag: 'mackerel-replacer:role', value: 'staging/web' },
  perAz: 1,
  targetGroups: ['arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/web/0123'],
  stableFor: 50,
  timeouts: { launch: 1000, verify: 1000, drain: 1000, unhealthy: 500, total: 3000 },
  pollInterval: 10,
  newHostStatus: 'working',
  targetsPerGroup: 1000,
  launchBucket: { burst: 1000, refillPerSecond: 2 },
  maxInstances: 100,
  ...overrides,
});

export const image: Image = { id: 'ami-new', name: 'reactio-web-2', state: 'available', createdAt: '2026-11-01T00:00:00.000Z' };

export const subnets: Subnet[] = [
  { id: 'subnet-a', az: 'ap-northeast-1a', vpcId: 'vpc-1' },
  { id: 'subnet-c', az: 'ap-northeast-1c', vpcId: 'vpc-1' },
];

export const member = (instanceId: string, az: string): Member => ({
  hostId: `h-${instanceId}`,
  hostName: instanceId,
  hostStatus: 'working',
  instanceId,
  az,
  imageId: 'ami-old',
});
