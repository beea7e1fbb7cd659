import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { iamPolicy, type PolicyDocument, type PolicyStatement } from '../../src/aws/iam-policy.js';
import { TAG_OWNER } from '../../src/rollout/tags.js';
import { spec } from '../rollout/fixtures.js';

const AWS_DIR = fileURLToPath(new URL('../../src/aws/', import.meta.url));
const iamPrefix: Record<string, string> = {
  ec2: 'ec2',
  'elastic-load-balancing-v2': 'elasticloadbalancing',
  'service-quotas': 'servicequotas',
};

/** The SDK client packages, by the name src/aws/sdk.ts requires each as. */
const sdkPackages: Record<string, string> = { ec2Sdk: 'ec2', elbv2Sdk: 'elastic-load-balancing-v2', quotasSdk: 'service-quotas' };

/** What each adapter file takes from an SDK client package (see src/aws/sdk.ts): export name → IAM service prefix. */
const sdkImports = (source: string): Map<string, string> => {
  const names = new Map<string, string>();
  const taken = [
    ...[...source.matchAll(/import\s*{([^}]*)}\s*from\s*'@aws-sdk\/client-([\w-]+)'/g)].map(([, list, client]) => [list, client]),
    ...[...source.matchAll(/const\s*{([^}]*)}\s*=\s*(\w+Sdk)\b/g)].map(([, list, required]) => [list, sdkPackages[required!]]),
  ];
  for (const [list, client] of taken) {
    for (const entry of list!.split(',')) {
      const name = entry
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)[0]!;
      if (name) names.set(name, iamPrefix[client!]!);
    }
  }
  return names;
};

/** Every AWS action the adapters call, read from their source: `new XCommand(` and `paginateX(`. */
const calledActions = (): Set<string> => {
  const actions = new Set<string>();
  for (const file of readdirSync(AWS_DIR).filter((name) => name.endsWith('.ts'))) {
    const source = readFileSync(`${AWS_DIR}${file}`, 'utf8');
    const imports = sdkImports(source);
    for (const match of source.matchAll(/\b(?:new\s+((\w+)Command)|(paginate(\w+)))\s*\(/g)) {
      const prefix = imports.get(match[1] ?? match[3]!);
      if (prefix) actions.add(`${prefix}:${match[2] ?? match[4]}`);
    }
  }
  return actions;
};

const actionsOf = (policy: PolicyDocument): Set<string> => new Set(policy.Statement.flatMap((statement) => statement.Action));
const resources = (statement: PolicyStatement): readonly string[] =>
  typeof statement.Resource === 'string' ? [statement.Resource] : statement.Resource;
const granting = (policy: PolicyDocument, action: string) => policy.Statement.filter((statement) => statement.Action.includes(action));

const region = 'ap-northeast-1';
const web = spec({ iamInstanceProfile: 'reactio-staging-instance', keyName: 'reactio' });
const worker = spec({ role: 'worker', targetGroups: [] });

describe('iamPolicy names exactly the actions the adapters call', () => {
  const called = calledActions();

  it('finds the EC2 and ELBv2 calls in the adapters', () => {
    expect(called).toContain('ec2:RunInstances');
    expect(called).toContain('ec2:DescribeImages');
    expect(called).toContain('elasticloadbalancing:RegisterTargets');
  });

  // Only a role with a launch template reads one; only the source environment of a promotion that shares its image shares it.
  const withoutTemplate = [...called].filter(
    (action) => action !== 'ec2:DescribeLaunchTemplateVersions' && action !== 'ec2:ModifyImageAttribute',
  );

  it('web role: every called action and nothing more (plus iam:PassRole, which RunInstances needs for IamInstanceProfile)', () => {
    expect(readFileSync(`${AWS_DIR}ec2.ts`, 'utf8')).toContain('IamInstanceProfile:');
    expect([...actionsOf(iamPolicy(web, region))].sort()).toEqual([...withoutTemplate, 'iam:PassRole'].sort());
    const templated = iamPolicy({ ...web, launchTemplate: { name: 'web-lt', version: '$Default' } }, region);
    expect([...actionsOf(templated)].sort()).toEqual(
      [...called.values()]
        .filter((action) => action !== 'ec2:ModifyImageAttribute')
        .concat('iam:PassRole')
        .sort(),
    );
    const source = iamPolicy(web, region, { sharesImages: true });
    expect([...actionsOf(source)].sort()).toEqual([...withoutTemplate, 'ec2:ModifyImageAttribute', 'iam:PassRole'].sort());
    expect(granting(source, 'ec2:ModifyImageAttribute')[0]!.Resource).toBe(`arn:aws:ec2:${region}::image/*`);
  });

  it('worker role without a key pair: the EC2 and Service Quotas actions but DescribeKeyPairs, and no load balancer action at all', () => {
    const calls = withoutTemplate.filter((action) => !action.startsWith('elasticloadbalancing:') && action !== 'ec2:DescribeKeyPairs');
    expect([...actionsOf(iamPolicy(worker, region))].sort()).toEqual(calls.sort());
    expect(calls).toContain('ec2:DescribeInstances');
  });

  it('reads the vCPU quota and the capacity facts the preflight checks; not the quota when limits.vcpu states it', () => {
    for (const action of [
      'ec2:DescribeInstanceTypes',
      'ec2:DescribeInstanceTypeOfferings',
      'ec2:DescribeSecurityGroups',
      'ec2:DescribeKeyPairs',
    ]) {
      expect(called).toContain(action);
    }
    expect(granting(iamPolicy(web, region), 'servicequotas:GetServiceQuota')).toEqual([
      expect.objectContaining({ Resource: 'arn:aws:servicequotas:ap-northeast-1:*:ec2/L-1216C47A' }),
    ]);
    expect(granting(iamPolicy({ ...web, vcpuQuota: 256 }, region), 'servicequotas:GetServiceQuota')).toEqual([]);
  });
});

describe('iamPolicy scoping', () => {
  const policy = iamPolicy(web, region);
  const owner = { [`ec2:ResourceTag/${TAG_OWNER}`]: 'staging/web' };

  it('terminates only instances carrying the ownership tag', () => {
    const [terminate, ...others] = granting(policy, 'ec2:TerminateInstances');
    expect(others).toEqual([]);
    expect(terminate).toMatchObject({ Resource: 'arn:aws:ec2:ap-northeast-1:*:instance/*', Condition: { StringEquals: owner } });
  });

  it('launches only tagged instances and volumes, from the role subnets, security groups and key pair', () => {
    const run = granting(policy, 'ec2:RunInstances');
    const tagged = run.find((statement) => statement.Condition !== undefined)!;
    expect(tagged.Condition).toEqual({ StringEquals: { [`aws:RequestTag/${TAG_OWNER}`]: 'staging/web' } });
    expect(resources(tagged)).toEqual(['arn:aws:ec2:ap-northeast-1:*:instance/*', 'arn:aws:ec2:ap-northeast-1:*:volume/*']);
    expect(run.flatMap(resources).sort()).toEqual(
      [
        'arn:aws:ec2:ap-northeast-1:*:instance/*',
        'arn:aws:ec2:ap-northeast-1:*:volume/*',
        'arn:aws:ec2:ap-northeast-1::image/*',
        'arn:aws:ec2:ap-northeast-1:*:subnet/subnet-a',
        'arn:aws:ec2:ap-northeast-1:*:subnet/subnet-c',
        'arn:aws:ec2:ap-northeast-1:*:security-group/sg-1',
        'arn:aws:ec2:ap-northeast-1:*:network-interface/*',
        'arn:aws:ec2:ap-northeast-1:*:key-pair/reactio',
      ].sort(),
    );
  });

  it('tags only at launch, or the deploy state and the replacing deploy of owned instances', () => {
    const conditions = granting(policy, 'ec2:CreateTags').map((statement) => statement.Condition);
    expect(conditions).toEqual([
      { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
      {
        StringEquals: owner,
        'ForAllValues:StringEquals': {
          'aws:TagKeys': ['mackerel-replacer:state', 'mackerel-replacer:replaced-by', 'mackerel-replacer:lock'],
        },
      },
    ]);
  });

  it("removes only the replacing deploy's tag, only from owned instances", () => {
    expect(granting(policy, 'ec2:DeleteTags').map((statement) => statement.Condition)).toEqual([
      { StringEquals: owner, 'ForAllValues:StringEquals': { 'aws:TagKeys': ['mackerel-replacer:replaced-by', 'mackerel-replacer:lock'] } },
    ]);
  });

  it('registers and deregisters only in the role target groups', () => {
    const [statement, ...others] = granting(policy, 'elasticloadbalancing:RegisterTargets');
    expect(others).toEqual([]);
    expect(statement!.Action).toContain('elasticloadbalancing:DeregisterTargets');
    expect(statement!.Resource).toEqual(web.targetGroups);
  });

  it('passes only the instance profile role, only to EC2; none without a profile', () => {
    expect(granting(policy, 'iam:PassRole')).toEqual([
      expect.objectContaining({
        Resource: 'arn:aws:iam::*:role/reactio-staging-instance',
        Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      }),
    ]);
    expect(granting(iamPolicy(spec(), region), 'iam:PassRole')).toEqual([]);
  });

  it('scopes by the ownership tag the config names, for a fleet launched before the tool', () => {
    const legacy = iamPolicy({ ...web, ownership: { tag: 'Role', value: 'web' } }, region);
    expect(granting(legacy, 'ec2:TerminateInstances')[0]!.Condition).toEqual({ StringEquals: { 'ec2:ResourceTag/Role': 'web' } });
    expect(granting(legacy, 'ec2:RunInstances')[0]!.Condition).toEqual({ StringEquals: { 'aws:RequestTag/Role': 'web' } });
  });

  it('uses the partition of the region', () => {
    const china = JSON.stringify(iamPolicy({ ...web, targetGroups: [] }, 'cn-north-1'));
    expect(china).toContain('arn:aws-cn:ec2:cn-north-1::image/*');
    expect(china).not.toContain('arn:aws:');
  });
});

describe('iamPolicy for launch templates and block devices', () => {
  const runResources = (policy: PolicyDocument) => granting(policy, 'ec2:RunInstances').flatMap(resources);

  it('launches from the named template, with what the role leaves to it of any of its kind', () => {
    const byId = iamPolicy({ ...spec({ securityGroupIds: [] }), launchTemplate: { id: 'lt-0abc', version: 3 } }, region);
    expect(runResources(byId)).toEqual(
      expect.arrayContaining([
        'arn:aws:ec2:ap-northeast-1:*:launch-template/lt-0abc',
        'arn:aws:ec2:ap-northeast-1:*:security-group/*',
        'arn:aws:ec2:ap-northeast-1:*:key-pair/*',
      ]),
    );
    expect(granting(byId, 'iam:PassRole')).toEqual([expect.objectContaining({ Resource: 'arn:aws:iam::*:role/*' })]);
    const byName = iamPolicy({ ...web, launchTemplate: { name: 'web-lt', version: '$Latest' } }, region);
    expect(runResources(byName)).toEqual(
      expect.arrayContaining(['arn:aws:ec2:ap-northeast-1:*:launch-template/*', 'arn:aws:ec2:ap-northeast-1:*:security-group/sg-1']),
    );
    expect(runResources(byName)).not.toContain('arn:aws:ec2:ap-northeast-1:*:security-group/*');
  });

  it('grows by kms only for a customer managed key, used through EC2 only; metadata options and unencrypted or default-key volumes need nothing', () => {
    const plain = iamPolicy(
      {
        ...web,
        metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 2 },
        blockDevices: [{ deviceName: '/dev/xvda', volumeSize: 30, volumeType: 'gp3', encrypted: true }],
      },
      region,
    );
    expect([...actionsOf(plain)].filter((action) => action.startsWith('kms:'))).toEqual([]);
    const keyed = iamPolicy(
      {
        ...web,
        blockDevices: [{ deviceName: '/dev/xvda', volumeSize: 30, volumeType: 'gp3', encrypted: true, kmsKeyId: '1234abcd-12ab' }],
      },
      region,
    );
    expect(granting(keyed, 'kms:CreateGrant')).toEqual([
      expect.objectContaining({
        Resource: ['arn:aws:kms:ap-northeast-1:*:key/1234abcd-12ab'],
        Condition: { StringEquals: { 'kms:ViaService': 'ec2.ap-northeast-1.amazonaws.com' } },
      }),
    ]);
  });
});
