// The least IAM policy one role's deploys need: every action the adapters call, each scoped by
// resource ARN or tag condition wherever AWS supports it. Pure: no SDK import.
import { TAG_LOCK, TAG_REPLACED_BY, TAG_STATE } from '../rollout/tags.js';
import type { RoleSpec } from '../rollout/spec.js';
import { STANDARD_VCPU_QUOTA } from '../shared/vcpu-quota.js';

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

const partitionOf = (region: string): string => {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
};

/** The role an instance profile passes is assumed to share its name (what the console creates). */
export const passedRoleName = (instanceProfile: string): string => instanceProfile.slice(instanceProfile.lastIndexOf('/') + 1);

/**
 * The policy for deploying `spec` in `region` (`*` when unknown). Accounts are `*`: the config
 * names none, and the ids in the ARNs are unique anyway.
 */
/**
 * `sharesImages`: another environment of the config promotes this one's images with
 * `promotion.shareImage`, which shares them with its account using this environment's credentials.
 */
export const iamPolicy = (spec: RoleSpec, region: string, { sharesImages = false } = {}): PolicyDocument => {
  const partition = partitionOf(region);
  const ec2 = (resource: string) => `arn:${partition}:ec2:${region}:*:${resource}`;
  // Every instance the tool launches carries the ownership tag too, so one tag covers old and new.
  const { tag, value } = spec.ownership;
  const owned = { [`aws:RequestTag/${tag}`]: value };
  const launched = [ec2('instance/*'), ec2('volume/*')];
  const template = spec.launchTemplate;
  const statements: PolicyStatement[] = [
    // Describe calls support no resource-level permissions.
    {
      Sid: 'Describe',
      Effect: 'Allow',
      Action: [
        'ec2:DescribeImages',
        'ec2:DescribeInstances',
        'ec2:DescribeSubnets',
        ...(template ? ['ec2:DescribeLaunchTemplateVersions'] : []),
      ],
      Resource: '*',
    },
    // The preflight's capacity checks: types, offerings, the role's security groups and key pair.
    {
      Sid: 'DescribeCapacity',
      Effect: 'Allow',
      Action: [
        'ec2:DescribeInstanceTypes',
        'ec2:DescribeInstanceTypeOfferings',
        'ec2:DescribeSecurityGroups',
        // A launch template may name the key pair.
        ...(spec.keyName === undefined && !template ? [] : ['ec2:DescribeKeyPairs']),
      ],
      Resource: '*',
    },
    ...(spec.vcpuQuota === undefined
      ? [
          {
            Sid: 'ReadVcpuQuota',
            Effect: 'Allow' as const,
            Action: ['servicequotas:GetServiceQuota'],
            Resource: `arn:${partition}:servicequotas:${region}:*:ec2/${STANDARD_VCPU_QUOTA}`,
          },
        ]
      : []),
    // What RunInstances creates must carry the ownership tag; what it uses is the role's own.
    { Sid: 'LaunchOwnedOnly', Effect: 'Allow', Action: ['ec2:RunInstances'], Resource: launched, Condition: { StringEquals: owned } },
    {
      Sid: 'LaunchWithRoleResources',
      Effect: 'Allow',
      Action: ['ec2:RunInstances'],
      Resource: [
        // No account in an image ARN; any image, since the newest AMI changes with every build.
        `arn:${partition}:ec2:${region}::image/*`,
        ...spec.subnets.map((id) => ec2(`subnet/${id}`)),
        // What the role leaves to its launch template is unknown here: any of its kind.
        ...(spec.securityGroupIds.length > 0
          ? spec.securityGroupIds.map((id) => ec2(`security-group/${id}`))
          : template
            ? [ec2('security-group/*')]
            : []),
        ec2('network-interface/*'),
        ...(spec.keyName !== undefined ? [ec2(`key-pair/${spec.keyName}`)] : template ? [ec2('key-pair/*')] : []),
        ...(template ? [ec2(`launch-template/${'id' in template ? template.id : '*'}`)] : []),
      ],
    },
    {
      Sid: 'TagOnLaunch',
      Effect: 'Allow',
      Action: ['ec2:CreateTags'],
      Resource: launched,
      Condition: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
    },
    {
      Sid: 'MarkOwnedDeployState',
      Effect: 'Allow',
      Action: ['ec2:CreateTags'],
      Resource: ec2('instance/*'),
      Condition: {
        StringEquals: { [`ec2:ResourceTag/${tag}`]: value },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_STATE, TAG_REPLACED_BY, TAG_LOCK] },
      },
    },
    {
      Sid: 'UnmarkOwnedOldFleet',
      Effect: 'Allow',
      Action: ['ec2:DeleteTags'],
      Resource: ec2('instance/*'),
      Condition: {
        StringEquals: { [`ec2:ResourceTag/${tag}`]: value },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_REPLACED_BY, TAG_LOCK] },
      },
    },
    {
      Sid: 'TerminateOwnedOnly',
      Effect: 'Allow',
      Action: ['ec2:TerminateInstances'],
      Resource: ec2('instance/*'),
      Condition: { StringEquals: { [`ec2:ResourceTag/${tag}`]: value } },
    },
  ];
  if (spec.iamInstanceProfile !== undefined || template) {
    statements.push({
      Sid: 'PassInstanceRole',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: `arn:${partition}:iam::*:role/${spec.iamInstanceProfile === undefined ? '*' : passedRoleName(spec.iamInstanceProfile)}`,
      Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    });
  }
  const keys = [...new Set((spec.blockDevices ?? []).flatMap((device) => (device.kmsKeyId === undefined ? [] : [device.kmsKeyId])))];
  if (keys.length > 0) statements.push(kmsStatement(keys, partition, region));
  if (sharesImages) {
    statements.push({
      Sid: 'ShareImagesForPromotion',
      Effect: 'Allow',
      Action: ['ec2:ModifyImageAttribute'],
      Resource: `arn:${partition}:ec2:${region}::image/*`,
    });
  }
  if (spec.targetGroups.length > 0) statements.push(...balancerStatements(spec.targetGroups));
  return { Version: '2012-10-17', Statement: statements };
};

/**
 * What EC2 asks of the caller to launch volumes encrypted with a customer managed key, only through
 * EC2. An alias names no key ARN: any key, used through EC2.
 */
const kmsStatement = (keys: readonly string[], partition: string, region: string): PolicyStatement => ({
  Sid: 'EncryptVolumesWithRoleKeys',
  Effect: 'Allow',
  Action: ['kms:CreateGrant', 'kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncrypt*'],
  Resource: keys.map((key) =>
    key.startsWith('arn:') && key.includes(':key/')
      ? key
      : `arn:${partition}:kms:${region}:*:key/${key.startsWith('arn:') || key.startsWith('alias/') ? '*' : key}`,
  ),
  Condition: { StringEquals: { 'kms:ViaService': `ec2.${region}.amazonaws.com` } },
});

const balancerStatements = (targetGroups: readonly string[]): PolicyStatement[] => [
  {
    Sid: 'DescribeTargets',
    Effect: 'Allow',
    Action: [
      'elasticloadbalancing:DescribeLoadBalancers',
      'elasticloadbalancing:DescribeTargetGroups',
      'elasticloadbalancing:DescribeTargetGroupAttributes',
      'elasticloadbalancing:DescribeTargetHealth',
    ],
    Resource: '*',
  },
  {
    Sid: 'RegisterRoleTargets',
    Effect: 'Allow',
    Action: ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets'],
    Resource: [...targetGroups],
  },
];
