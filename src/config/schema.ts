import * as z from 'zod';
import { TAG_DEPLOY, TAG_ENV, TAG_LIMITS, TAG_MANAGED_BY, TOOL_TAGS, VAR_BUDGET } from '../rollout/tags.js';
import { VAR_NAME_MAX } from '../rollout/template.js';
import { AMI_HINT, AMI_ID } from './ami.js';
import { parseDuration } from './duration.js';
import { API_KEY_VARIABLE } from '../shared/mask.js';
import { BATCH_HINT, parseBatch } from '../rollout/waves.js';

// Every message says what is allowed; the loader adds the field path and the value it got.

/** A mapping that rejects unknown keys and names the allowed ones: a typo must not pass silently. */
const strict = <Shape extends z.core.$ZodLooseShape>(shape: Shape) => {
  const keys = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown key; allowed: ${keys}` : `expected a mapping with ${keys}`),
  });
};

const text = (what: string) => z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });

const matching = (pattern: RegExp, what: string) => z.string({ error: `expected ${what}` }).regex(pattern, { error: `expected ${what}` });

const list = <Item extends z.ZodType>(item: Item, what: string) =>
  z.array(item, { error: `expected a list of ${what}s` }).min(1, { error: `expected at least one ${what}` });

// Mackerel's rule for service and role names; environments follow it too, as they end up in tags and deploy ids.
const name = (kind: string) =>
  matching(/^[A-Za-z0-9][A-Za-z0-9_-]+$/, `a ${kind} name of at least 2 letters, digits, "_" or "-", starting with a letter or digit`);

/** Keys are names; at least one entry. */
const named = <Value extends z.ZodType>(kind: string, value: Value) =>
  z
    .record(name(kind), value, { error: `expected a mapping of ${kind} names to ${kind}s` })
    .refine((entries) => Object.keys(entries).length > 0, { error: `expected at least one ${kind}` });

const durationHint = 'expected a positive duration like "100ms", "30s", "5m" or "1h30m"';

/** Milliseconds, at most `max`: far below what a timer holds (2^31-1 ms, about 24.8 days). */
const boundedDuration = (max: string) => {
  const maxMs = parseDuration(max)!;
  return z.string({ error: durationHint }).transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms <= 0) ctx.addIssue({ code: 'custom', message: durationHint, input: value });
    else if (ms > maxMs) ctx.addIssue({ code: 'custom', message: `expected a duration of at most ${max}`, input: value });
    else return ms;
    return z.NEVER;
  });
};

const duration = (fallback: string, max: string) => boundedDuration(max).prefault(fallback);

const keepOldHint = 'expected a duration like "30m", or { for: "30m", then: finish }';
/** The rollback window: `keepOld: 30m` or `keepOld: { for: 30m, then: finish }`. */
const keepOld = z
  .union(
    [
      boundedDuration('168h').transform((forMs) => ({ forMs })),
      // biome-ignore lint/suspicious/noThenProperty: the config's key, as issue 11 names it.
      strict({ for: boundedDuration('168h'), then: z.literal('finish', { error: 'expected "finish"' }).optional() }).transform((keep) => ({
        forMs: keep.for,
        ...(keep.then && { finishWhenOver: true as const }),
      })),
    ],
    { error: keepOldHint },
  )
  .optional();

const perAzHint = 'expected a positive integer or "match"';
const maxInstancesHint = 'expected a positive integer of at most 10000';

const ami = z.union(
  [
    strict({ id: matching(AMI_ID, AMI_HINT) }),
    strict({
      owners: list(text('an account id, "self" or "amazon"'), 'owner'),
      name: text('an image name pattern like "web-*"'),
    }),
  ],
  { error: 'expected { id: "ami-…" } or { owners: [...], name: "pattern-*" }' },
);

// Lowercase alphanumerics only: catches "subnet-a, subnet-b" written as one string.
const subnets = list(matching(/^subnet-[0-9a-z]+$/, 'a subnet id like "subnet-0123abcd"'), 'subnet').superRefine((ids, ctx) => {
  const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (repeated.length > 0) {
    ctx.addIssue({ code: 'custom', message: `expected each subnet once (one per AZ); repeated: ${repeated.join(', ')}`, input: ids });
  }
});

// The tool writes these itself; owning a fleet by one of them would match other roles or deploys.
const reservedTags = [TAG_ENV, TAG_DEPLOY, TAG_MANAGED_BY];
const ownershipHint = 'expected a tag key of at most 128 characters, not starting with "aws:"';

const ownership = strict({
  tag: text(ownershipHint)
    .max(128, { error: ownershipHint })
    .refine((key) => !key.startsWith('aws:'), { error: ownershipHint })
    .refine((key) => !reservedTags.includes(key), { error: `expected a tag the tool does not set itself (${reservedTags.join(', ')})` }),
  value: text('a tag value').max(256, { error: 'expected a tag value of at most 256 characters' }),
});

const HOOK_TIMEOUT = '5m';
const hookCommand = text('a shell command');
const hook = z
  .union([hookCommand, strict({ command: hookCommand, timeout: duration(HOOK_TIMEOUT, '1h') })], {
    error: `expected a shell command, or { command, timeout } (timeout default ${HOOK_TIMEOUT}, at most 1h)`,
  })
  .transform((given) => (typeof given === 'string' ? { command: given, timeout: parseDuration(HOOK_TIMEOUT)! } : given));

const hooks = strict({
  beforeCutover: hook.optional(),
  beforeTerminate: hook.optional(),
  afterDeploy: hook.optional(),
  onRollback: hook.optional(),
});

const metricName = matching(/^[A-Za-z0-9._-]+$/, 'a host metric name like "loadavg5" (letters, digits, ".", "_", "-")');
const alertStatusHint = 'expected CRITICAL, WARNING or UNKNOWN';

/** Mackerel gates beside registration and target health: each optional, each with its defaults. */
const gates = strict({
  /** Every new host has posted a value of `name` no older than `maxAge`. */
  metrics: strict({ name: metricName.default('loadavg5'), maxAge: duration('3m', '24h') }).optional(),
  /** No new host has an open alert of these statuses. */
  alerts: strict({
    statuses: list(z.enum(['CRITICAL', 'WARNING', 'UNKNOWN'], { error: alertStatusHint }), 'alert status').default(['CRITICAL']),
  }).optional(),
});

const templateVersionHint = 'expected a version number, "$Latest" or "$Default"';
const launchTemplateVersion = z
  .union(
    [
      z.int({ error: templateVersionHint }).positive({ error: templateVersionHint }),
      z.enum(['$Latest', '$Default'], { error: templateVersionHint }),
    ],
    {
      error: templateVersionHint,
    },
  )
  .default('$Default');

/** An EC2 launch template, by name or id, and the version to launch (resolved to its number at plan time). */
const launchTemplate = z.union(
  [
    strict({ name: matching(/^[a-zA-Z0-9().\-/_]{3,128}$/, 'a launch template name'), version: launchTemplateVersion }),
    strict({ id: matching(/^lt-[0-9a-f]+$/, 'a launch template id like "lt-0123abcd"'), version: launchTemplateVersion }),
  ],
  { error: 'expected { name: "…" } or { id: "lt-…" }, each with an optional version (a number, "$Latest" or "$Default")' },
);

/** Without a launch template, the secure defaults apply (see SECURE_METADATA); with one, only what is set here overrides it. */
const metadataOptions = strict({
  httpTokens: z.enum(['required', 'optional'], { error: 'expected "required" (IMDSv2 only) or "optional"' }).default('required'),
  httpPutResponseHopLimit: z
    .int({ error: 'expected an integer from 1 to 64' })
    .min(1, { error: 'expected an integer from 1 to 64' })
    .max(64, { error: 'expected an integer from 1 to 64' })
    .default(2),
  instanceMetadataTags: z.enum(['enabled', 'disabled'], { error: 'expected "enabled" or "disabled"' }).optional(),
});

const positiveInt = z.int({ error: 'expected a positive integer' }).positive({ error: 'expected a positive integer' });

/** EC2's rules across a volume's fields, so a typo is named here and not by the DryRun. */
const blockDevice = strict({
  deviceName: matching(/^\/dev\/[a-z0-9]+$/, 'a device name like "/dev/xvda"'),
  volumeSize: positiveInt.max(65_536, { error: 'expected at most 65536 GiB' }),
  volumeType: z.enum(['gp3', 'gp2', 'io1', 'io2', 'st1', 'sc1'], { error: 'expected gp3, gp2, io1, io2, st1 or sc1' }),
  iops: positiveInt.optional(),
  throughput: positiveInt.optional(),
  encrypted: z.boolean({ error: 'expected true or false' }).optional(),
  kmsKeyId: text('a KMS key id, ARN or alias').optional(),
  deleteOnTermination: z.boolean({ error: 'expected true or false' }).optional(),
}).superRefine((device, ctx) => {
  const problem = (path: string, message: string) =>
    ctx.addIssue({ code: 'custom', path: [path], message, input: device[path as keyof typeof device] });
  if ((device.volumeType === 'io1' || device.volumeType === 'io2') && device.iops === undefined)
    problem('iops', `required for ${device.volumeType} volumes`);
  if (device.iops !== undefined && !['gp3', 'io1', 'io2'].includes(device.volumeType))
    problem('iops', 'only gp3, io1 and io2 volumes take iops');
  if (device.throughput !== undefined && device.volumeType !== 'gp3') problem('throughput', 'only gp3 volumes take throughput');
  if (device.kmsKeyId !== undefined && device.encrypted !== true) problem('kmsKeyId', 'requires encrypted: true');
});

const blockDevices = z
  .array(blockDevice, { error: 'expected a list of { deviceName, volumeSize, volumeType, … }' })
  .min(1, { error: 'expected at least one block device' })
  .superRefine((devices, ctx) => {
    const names = devices.map((device) => device.deviceName);
    const repeated = names.filter((name, i) => names.indexOf(name) !== i);
    if (repeated.length > 0)
      ctx.addIssue({ code: 'custom', message: `expected each device once; repeated: ${repeated.join(', ')}`, input: names });
  });

const role = strict({
  ami,
  /** Exactly one of instanceType and instanceTypes; with a launch template, at most one. */
  instanceType: text('an instance type like "t3.small"').optional(),
  /** In order of preference: an AZ without capacity for one gets the next. */
  instanceTypes: list(text('an instance type like "c7g.large"'), 'instance type').optional(),
  subnets,
  /** Optional with a launch template: its own. */
  securityGroupIds: list(matching(/^sg-[0-9a-z]+$/, 'a security group id like "sg-0123abcd"'), 'security group id')
    .max(16, {
      error: 'expected at most 16 security groups (EC2 allows no more per instance)',
    })
    .optional(),
  iamInstanceProfile: text('an instance profile name or ARN').optional(),
  keyName: text('a key pair name').optional(),
  userDataFile: text('a file path, relative to this config file').optional(),
  tags: z
    .record(
      z
        .string()
        .max(TAG_LIMITS.key, { error: `expected a tag key of at most ${TAG_LIMITS.key} characters` })
        .refine((key) => !key.toLowerCase().startsWith('aws:'), { error: 'expected a tag key not starting with "aws:" (AWS reserves it)' }),
      z
        .string({ error: 'expected a string (quote numbers and booleans)' })
        .max(TAG_LIMITS.value, { error: `expected a tag value of at most ${TAG_LIMITS.value} characters` }),
      { error: 'expected a mapping of tag names to values' },
    )
    // The tool adds up to TOOL_TAGS tags of its own to every new instance.
    .refine((tags) => Object.keys(tags).length <= VAR_BUDGET, {
      error: `expected at most ${VAR_BUDGET} tags: EC2 allows ${TAG_LIMITS.perResource} per instance and the tool adds up to ${TOOL_TAGS}`,
    })
    .default({}),
  /** Values for the `${name}` variables of userDataFile: this environment's own, never promoted over. */
  vars: z
    .record(
      matching(
        new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${VAR_NAME_MAX - 1}}$`),
        `a variable name of up to ${VAR_NAME_MAX} letters, digits and "_", not starting with a digit`,
      ),
      z
        .string({ error: 'expected a string (quote numbers and booleans)' })
        .max(TAG_LIMITS.value, { error: `expected a value of at most ${TAG_LIMITS.value} characters (it is recorded in an EC2 tag)` }),
      { error: 'expected a mapping of variable names to values' },
    )
    .default({}),
  perAz: z
    .union([z.int({ error: perAzHint }).positive({ error: perAzHint }), z.literal('match', { error: perAzHint })], {
      error: perAzHint,
    })
    .default(1),
  /** Empty: worker mode. */
  targetGroups: z
    .array(
      matching(
        /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup\/[A-Za-z0-9-]+\/[0-9a-f]+$/,
        'a target group ARN like "arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>"',
      ),
      { error: 'expected a list of target group ARNs (none: worker mode)' },
    )
    .default([]),
  /** Worker mode: how long the old hosts stay `maintenance` before they are terminated. Default: not at all. */
  workerDrain: boundedDuration('24h').optional(),
  hooks: hooks.optional(),
  /** Web mode: every new target healthy this long without a break before the old fleet is touched. */
  stableFor: duration('30s', '1h'),
  gates: gates.optional(),
  verify: strict({
    /** A new host without the role counts as not registered yet this long (its user data may restart the agent with it). */
    roleGrace: duration('2m', '24h'),
  }).prefault({}),
  timeouts: strict({
    launch: duration('5m', '24h'),
    verify: duration('10m', '24h'),
    /** Default: the longest deregistration delay of the role's target groups, plus a minute. */
    drain: boundedDuration('24h').optional(),
    /** A new target unhealthy this long in a row fails verification at once. */
    unhealthy: duration('3m', '24h'),
    /** Launch, register and verify together. */
    total: duration('30m', '24h'),
  }).prefault({}),
  keepOld,
  /** `replace --hold`: register the new targets beside the old ones before cutover (default: only at cutover). */
  hold: strict({ register: z.boolean({ error: 'expected true or false' }).default(false) }).optional(),
  /** Default: `mackerel-replacer:role` = `<env>/<role>`, filled in by resolveRole. */
  ownership: ownership.optional(),
  /** Replace in waves of this many instances, or this share of the new fleet ("25%"); `--batch` overrides it. */
  batch: z
    .union([z.int({ error: `expected ${BATCH_HINT}` }).positive({ error: `expected ${BATCH_HINT}` }), z.string()], {
      error: `expected ${BATCH_HINT}`,
    })
    .transform((value, ctx) => {
      const batch = parseBatch(String(value));
      if (batch) return batch;
      ctx.addIssue({ code: 'custom', message: `expected ${BATCH_HINT}`, input: value });
      return z.NEVER;
    })
    .optional(),
  /** Bounds the snapshot and the new fleet: a typo must not match another fleet nor launch thousands. */
  maxInstances: z
    .int({ error: maxInstancesHint })
    .positive({ error: maxInstancesHint })
    .max(10_000, { error: maxInstancesHint })
    .default(100),
  /** Its tags and data are kept; the tool overrides the image, the subnet, its own tags and what the role sets. */
  launchTemplate: launchTemplate.optional(),
  metadataOptions: metadataOptions.optional(),
  blockDevices: blockDevices.optional(),
}).check(
  z.superRefine(
    (given, ctx) => {
      const both = given.instanceType !== undefined && given.instanceTypes !== undefined;
      if (both || (given.launchTemplate === undefined && given.instanceType === undefined && given.instanceTypes === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [given.instanceType === undefined ? 'instanceType' : 'instanceTypes'],
          message: `expected ${given.launchTemplate === undefined ? 'exactly' : 'at most'} one of instanceType (one type) and instanceTypes (a list, tried in order where an AZ has no capacity)`,
          input: given.instanceType === undefined ? given.instanceTypes : given.instanceType,
        });
      }
      if (given.launchTemplate === undefined && given.securityGroupIds === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['securityGroupIds'],
          message: 'expected a list of security group ids (only a role with a launchTemplate may leave them to it)',
          input: undefined,
        });
      }
    },
    // Reported beside the role's other problems, not only once they are fixed.
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  ),
);

/** Where an environment's AWS credentials come from, and the account they must be for (the guard). */
const aws = strict({
  accountId: matching(/^\d{12}$/, 'a 12-digit AWS account id, quoted, like "123456789012"').optional(),
  /** A profile of the shared config and credentials files (SSO and credential_process as the SDK makes them work). */
  profile: text('a profile name of ~/.aws/config').optional(),
  /** Assumed with STS from the default chain, or from `profile`. */
  assumeRole: strict({
    roleArn: matching(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'an IAM role ARN like "arn:aws:iam::123456789012:role/deployer"'),
    externalId: text('an external id').optional(),
    sessionName: matching(/^[\w+=,.@-]{2,64}$/, 'a session name of 2 to 64 letters, digits and +=,.@_-').optional(),
  }).optional(),
  region: text('an AWS region like "ap-northeast-1"').optional(),
});

export type AwsAccount = z.output<typeof aws>;

const environment = strict({
  aws: aws.optional(),
  /** On the target environment of `--promote-from`: share the promoted image with this account itself. */
  promotion: strict({ shareImage: z.boolean({ error: 'expected true or false' }).default(false) }).optional(),
  mackerel: strict({
    service: name('service'),
    /** The environment variable holding this environment's Mackerel API key: another key is another organization. */
    apiKeyEnv: matching(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name like "MACKEREL_APIKEY_PRODUCTION"')
      .regex(API_KEY_VARIABLE, {
        error:
          'expected a name with APIKEY or API_KEY in it, like "MACKEREL_APIKEY_PRODUCTION": the tool masks the values of such variables in all it prints',
      })
      .default('MACKEREL_APIKEY'),
    /** At cutover: the new hosts to `working` before the old ones go to `maintenance`, or `keep` their status. */
    newHostStatus: z.enum(['working', 'keep'], { error: 'expected "working" or "keep"' }).default('working'),
  }),
  roles: named('role', role),
});

export const configSchema = strict({
  region: text('an AWS region like "ap-northeast-1"').optional(),
  defaultEnv: z.string({ error: 'expected an environment name' }).optional(),
  pollInterval: duration('5s', '5m'),
  /** The account's AWS quotas, where they were raised. */
  limits: strict({
    targetsPerGroup: z.int({ error: 'expected a positive integer' }).positive({ error: 'expected a positive integer' }).default(1000),
    /** EC2's RunInstances resource bucket: instances launched at once, then this many per second. */
    launchBurst: z.int({ error: 'expected a positive integer' }).positive({ error: 'expected a positive integer' }).default(1000),
    launchRefillPerSecond: z
      .number({ error: 'expected a positive number of instances per second' })
      .positive({ error: 'expected a positive number of instances per second' })
      .max(1000, { error: 'expected at most 1000 instances per second' })
      .default(2),
    /** The On-Demand Standard vCPU quota, where the credentials may not read it from Service Quotas. */
    vcpu: z.int({ error: 'expected a positive integer' }).positive({ error: 'expected a positive integer' }).optional(),
  }).prefault({}),
  environments: named('environment', environment),
}).superRefine((config, ctx) => {
  if (config.defaultEnv !== undefined && !Object.hasOwn(config.environments, config.defaultEnv)) {
    const known = Object.keys(config.environments).join(', ');
    ctx.addIssue({ code: 'custom', path: ['defaultEnv'], message: `expected one of the environments: ${known}`, input: config.defaultEnv });
  }
});

/** The file's content once validated, with defaults filled in and durations in milliseconds. */
export type ConfigFile = z.output<typeof configSchema>;
