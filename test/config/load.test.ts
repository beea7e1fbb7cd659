// biome-ignore-all lint/suspicious/noTemplateCurlyInString: user data templates are written with ${…} on purpose
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig, resolveRole } from '../../src/config/load.js';
import { ConfigError } from '../../src/rollout/errors.js';

const example = 'examples/replacer.yml';
const tgArn = 'arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/web/0123456789abcdef';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'replacer-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const write = async (content: string): Promise<string> => {
  const file = join(dir, 'replacer.yml');
  await writeFile(file, content);
  return file;
};

const role = (): Record<string, unknown> => ({
  ami: { id: 'ami-0123abcd' },
  instanceType: 't3.small',
  subnets: ['subnet-0aaa1111'],
  securityGroupIds: ['sg-0123abcd'],
});

interface Parts {
  readonly top: Record<string, unknown>;
  readonly envs: Record<string, unknown>;
  readonly staging: { mackerel: Record<string, unknown>; roles: Record<string, unknown> };
  readonly web: Record<string, unknown>;
}

/** A valid config with one environment `staging` holding the role `web`; `edit` breaks it. */
const config = (edit: (parts: Parts) => void = () => {}): string => {
  const web = role();
  const staging = { mackerel: { service: 'svc' }, roles: { web } as Record<string, unknown> };
  const envs: Record<string, unknown> = { staging };
  const top: Record<string, unknown> = { environments: envs };
  edit({ top, envs, staging, web });
  return stringify(top);
};

const configError = async (promise: Promise<unknown>): Promise<ConfigError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
};

describe('the example config', () => {
  it('loads with its file, region and poll interval', async () => {
    const loaded = await loadConfig(example);
    expect(loaded).toMatchObject({ file: example, region: 'ap-northeast-1', defaultEnv: 'staging', pollInterval: 100 });
  });

  it('resolves web with its user data read relative to the config file', async () => {
    const spec = await resolveRole(await loadConfig(example), { role: 'web' });
    expect(spec).toEqual({
      env: 'staging',
      role: 'web',
      service: 'reactio-staging',
      ami: { owners: ['self'], name: 'reactio-web-*' },
      instanceType: 't3.small',
      subnets: ['subnet-0aaa1111', 'subnet-0ccc3333'],
      securityGroupIds: ['sg-0123abcd'],
      metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 2 },
      iamInstanceProfile: 'reactio-staging-instance',
      keyName: 'reactio',
      userData: await readFile('examples/user_data/boot-web.sh', 'utf8'),
      template: {
        configFile: example,
        field: 'environments.staging.roles.web.userDataFile',
        path: resolve('examples/user_data/boot-web.sh'),
        text: await readFile('examples/user_data/boot-web.sh', 'utf8'),
        varsField: 'environments.staging.roles.web.vars',
        vars: {},
      },
      vars: {},
      tags: { Project: 'reactio' },
      ownership: { tag: 'mackerel-replacer:role', value: 'staging/web' },
      roleGrace: 120_000,
      perAz: 1,
      maxInstances: 100,
      targetGroups: [tgArn.replace('/web/', '/reactio-web/')],
      stableFor: 300,
      timeouts: { launch: 300_000, verify: 600_000, drain: 300_000, unhealthy: 180_000, total: 1_800_000 },
      pollInterval: 100,
      newHostStatus: 'working',
      targetsPerGroup: 1000,
      launchBucket: { burst: 1000, refillPerSecond: 2 },
    });
  });

  it('resolves worker with the defaults: worker mode, one per AZ, no user data', async () => {
    const spec = await resolveRole(await loadConfig(example), { env: 'staging', role: 'worker' });
    expect(spec).toEqual({
      env: 'staging',
      role: 'worker',
      service: 'reactio-staging',
      ami: { owners: ['self'], name: 'reactio-worker-*' },
      instanceType: 't3.small',
      subnets: ['subnet-0aaa1111', 'subnet-0ccc3333'],
      securityGroupIds: ['sg-0123abcd'],
      metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 2 },
      tags: {},
      ownership: { tag: 'mackerel-replacer:role', value: 'staging/worker' },
      roleGrace: 120_000,
      perAz: 1,
      maxInstances: 100,
      targetGroups: [],
      stableFor: 30_000,
      timeouts: { launch: 300_000, verify: 600_000, unhealthy: 180_000, total: 1_800_000 },
      pollInterval: 100,
      newHostStatus: 'working',
      targetsPerGroup: 1000,
      launchBucket: { burst: 1000, refillPerSecond: 2 },
    });
  });
});

describe('a role with a launch template', () => {
  it('may leave the instance type, security groups and metadata options to the template, which launches at its default version', async () => {
    const file = await write(
      config(({ web: w }) => {
        delete w.instanceType;
        delete w.securityGroupIds;
        w.launchTemplate = { id: 'lt-0123abcd' };
      }),
    );
    const spec = await resolveRole(await loadConfig(file), { role: 'web' });
    expect(spec).toMatchObject({ launchTemplate: { id: 'lt-0123abcd', version: '$Default' }, securityGroupIds: [] });
    expect(spec.instanceType).toBeUndefined();
    expect(spec.metadataOptions).toBeUndefined();
  });

  it('fills what the role sets of metadataOptions with the secure defaults, and keeps its block devices', async () => {
    const blockDevices = [{ deviceName: '/dev/xvda', volumeSize: 30, volumeType: 'gp3', encrypted: true, throughput: 250 }];
    const file = await write(
      config(({ web: w }) => {
        w.launchTemplate = { name: 'web-lt', version: 4 };
        w.metadataOptions = { instanceMetadataTags: 'enabled' };
        w.blockDevices = blockDevices;
      }),
    );
    const spec = await resolveRole(await loadConfig(file), { role: 'web' });
    expect(spec.metadataOptions).toEqual({ httpTokens: 'required', httpPutResponseHopLimit: 2, instanceMetadataTags: 'enabled' });
    expect(spec.blockDevices).toEqual(blockDevices);
    expect(spec.launchTemplate).toEqual({ name: 'web-lt', version: 4 });
  });
});

describe('loadConfig errors name the file, the field path and what is allowed', () => {
  it.each<[string, (parts: Parts) => void, string, string]>([
    [
      'perAz',
      ({ web: w }) => {
        w.perAz = 'two';
      },
      'environments.staging.roles.web.perAz',
      'expected a positive integer or "match", got "two"',
    ],
    [
      'keepOld',
      ({ web: w }) => {
        w.keepOld = 'soon';
      },
      'environments.staging.roles.web.keepOld',
      'expected a duration like "30m", or { for: "30m", then: finish }, got "soon"',
    ],
    [
      'keepOld then',
      ({ web: w }) => {
        // biome-ignore lint/suspicious/noThenProperty: the config's key.
        w.keepOld = { for: '30m', then: 'keep' };
      },
      'environments.staging.roles.web.keepOld',
      'expected a duration like "30m", or { for: "30m", then: finish }',
    ],
    [
      'perAz zero',
      ({ web: w }) => {
        w.perAz = 0;
      },
      'environments.staging.roles.web.perAz',
      'expected a positive integer or "match", got 0',
    ],
    [
      'a typo',
      ({ web: w }) => {
        w.targetGroup = [tgArn];
      },
      'environments.staging.roles.web.targetGroup',
      'unknown key; allowed: ami, instanceType, instanceTypes, subnets, securityGroupIds, iamInstanceProfile, keyName, userDataFile, tags, vars, perAz, targetGroups, workerDrain, hooks, stableFor, gates, verify, timeouts',
    ],
    [
      'a top-level typo',
      ({ top: c }) => {
        c.regoin = 'x';
      },
      'regoin',
      'unknown key; allowed: region, defaultEnv, pollInterval, limits, environments',
    ],
    [
      'a launch burst of zero',
      ({ top: c }) => {
        c.limits = { launchBurst: 0 };
      },
      'limits.launchBurst',
      'expected a positive integer, got 0',
    ],
    [
      'a launch refill that is not a number',
      ({ top: c }) => {
        c.limits = { launchRefillPerSecond: '2/s' };
      },
      'limits.launchRefillPerSecond',
      'expected a positive number of instances per second, got "2/s"',
    ],
    [
      'a typo in limits',
      ({ top: c }) => {
        c.limits = { launchBursts: 10 };
      },
      'limits.launchBursts',
      'unknown key; allowed: targetsPerGroup, launchBurst, launchRefillPerSecond',
    ],
    [
      'a missing field',
      ({ web: w }) => {
        delete w.subnets;
      },
      'environments.staging.roles.web.subnets',
      'missing; expected a list of subnets',
    ],
    [
      'an AMI id',
      ({ web: w }) => {
        w.ami = { id: 'ami-XYZ' };
      },
      'environments.staging.roles.web.ami.id',
      'expected an AMI id like "ami-0123abcd" (8 or 17 hex digits), got "ami-XYZ"',
    ],
    [
      'an AMI id of the wrong length',
      ({ web: w }) => {
        w.ami = { id: 'ami-0123abcde' };
      },
      'environments.staging.roles.web.ami.id',
      'expected an AMI id like "ami-0123abcd" (8 or 17 hex digits), got "ami-0123abcde"',
    ],
    [
      'an AMI filter',
      ({ web: w }) => {
        w.ami = { owners: ['self'] };
      },
      'environments.staging.roles.web.ami',
      'expected { id: "ami-…" } or { owners: [...], name: "pattern-*" }, got {"owners":["self"]}',
    ],
    [
      'no owners',
      ({ web: w }) => {
        w.ami = { owners: [], name: 'x-*' };
      },
      'environments.staging.roles.web.ami.owners',
      'expected at least one owner, got []',
    ],
    [
      'a subnet',
      ({ web: w }) => {
        w.subnets = ['subnet-a, subnet-b'];
      },
      'environments.staging.roles.web.subnets[0]',
      'expected a subnet id like "subnet-0123abcd", got "subnet-a, subnet-b"',
    ],
    [
      'no subnets',
      ({ web: w }) => {
        w.subnets = [];
      },
      'environments.staging.roles.web.subnets',
      'expected at least one subnet, got []',
    ],
    [
      'a repeated subnet',
      ({ web: w }) => {
        w.subnets = ['subnet-1', 'subnet-2', 'subnet-1'];
      },
      'environments.staging.roles.web.subnets',
      'expected each subnet once (one per AZ); repeated: subnet-1, got ["subnet-1","subnet-2","subnet-1"]',
    ],
    [
      'a security group',
      ({ web: w }) => {
        w.securityGroupIds = ['default'];
      },
      'environments.staging.roles.web.securityGroupIds[0]',
      'expected a security group id like "sg-0123abcd", got "default"',
    ],
    [
      'a target group',
      ({ web: w }) => {
        w.targetGroups = ['web-tg'];
      },
      'environments.staging.roles.web.targetGroups[0]',
      'expected a target group ARN like "arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>", got "web-tg"',
    ],
    [
      'a tag value',
      ({ web: w }) => {
        w.tags = { Version: 2 };
      },
      'environments.staging.roles.web.tags.Version',
      'expected a string (quote numbers and booleans), got 2',
    ],
    [
      'a timeout',
      ({ web: w }) => {
        w.timeouts = { verify: '10 minutes' };
      },
      'environments.staging.roles.web.timeouts.verify',
      'expected a positive duration like "100ms", "30s", "5m" or "1h30m", got "10 minutes"',
    ],
    [
      'a zero poll interval',
      ({ top: c }) => {
        c.pollInterval = '0s';
      },
      'pollInterval',
      'expected a positive duration like "100ms", "30s", "5m" or "1h30m", got "0s"',
    ],
    [
      'a bare number as duration',
      ({ top: c }) => {
        c.pollInterval = 5;
      },
      'pollInterval',
      'expected a positive duration like "100ms", "30s", "5m" or "1h30m", got 5',
    ],
    [
      'a role name',
      ({ staging, web }) => {
        staging.roles = { 'web.app': web };
      },
      'environments.staging.roles["web.app"]',
      'expected a role name of at least 2 letters, digits, "_" or "-", starting with a letter or digit, got "web.app"',
    ],
    [
      'a service name',
      ({ staging }) => {
        staging.mackerel.service = 'x';
      },
      'environments.staging.mackerel.service',
      'expected a service name of at least 2 letters',
    ],
    [
      'no roles',
      ({ staging }) => {
        staging.roles = {};
      },
      'environments.staging.roles',
      'expected at least one role, got {}',
    ],
    [
      'no environments',
      ({ top }) => {
        top.environments = {};
      },
      'environments',
      'expected at least one environment, got {}',
    ],
    [
      'an ownership without value',
      ({ web: w }) => {
        w.ownership = { tag: 'Role' };
      },
      'environments.staging.roles.web.ownership.value',
      'missing; expected a tag value',
    ],
    [
      'an AWS-reserved ownership tag',
      ({ web: w }) => {
        w.ownership = { tag: 'aws:autoscaling:groupName', value: 'web' };
      },
      'environments.staging.roles.web.ownership.tag',
      'expected a tag key of at most 128 characters, not starting with "aws:", got "aws:autoscaling:groupName"',
    ],
    [
      'an ownership tag the tool sets',
      ({ web: w }) => {
        w.ownership = { tag: 'mackerel-replacer:env', value: 'staging' };
      },
      'environments.staging.roles.web.ownership.tag',
      'expected a tag the tool does not set itself (mackerel-replacer:env, mackerel-replacer:deploy-id, managed-by), got "mackerel-replacer:env"',
    ],
    [
      'a maxInstances',
      ({ web: w }) => {
        w.maxInstances = 0;
      },
      'environments.staging.roles.web.maxInstances',
      'expected a positive integer of at most 10000, got 0',
    ],
    [
      'a batch of 0%',
      ({ web: w }) => {
        w.batch = '0%';
      },
      'environments.staging.roles.web.batch',
      'expected a number of instances per wave like 5, or a share of the new fleet like "25%" (1% to 100%), got "0%"',
    ],
    [
      'a maxInstances too large',
      ({ web: w }) => {
        w.maxInstances = 20000;
      },
      'environments.staging.roles.web.maxInstances',
      'expected a positive integer of at most 10000, got 20000',
    ],
    [
      'perAz above maxInstances',
      ({ web: w }) => {
        w.perAz = 10000;
        w.maxInstances = 20;
      },
      'environments.staging.roles.web.perAz',
      '10000 per AZ in 1 subnet is 10000 new instances, more than maxInstances (20); lower perAz or raise maxInstances',
    ],
    [
      'perAz × subnets above the default maxInstances',
      ({ web: w }) => {
        w.perAz = 51;
        w.subnets = ['subnet-1', 'subnet-2'];
      },
      'environments.staging.roles.web.perAz',
      '51 per AZ in 2 subnets is 102 new instances, more than maxInstances (100); lower perAz or raise maxInstances',
    ],
    [
      'a timeout no timer holds',
      ({ web: w }) => {
        w.timeouts = { total: '1000h' };
      },
      'environments.staging.roles.web.timeouts.total',
      'expected a duration of at most 24h, got "1000h"',
    ],
    [
      'a stableFor over an hour',
      ({ web: w }) => {
        w.stableFor = '1h1s';
      },
      'environments.staging.roles.web.stableFor',
      'expected a duration of at most 1h, got "1h1s"',
    ],
    [
      'a pollInterval over 5m',
      ({ top: c }) => {
        c.pollInterval = '6m';
      },
      'pollInterval',
      'expected a duration of at most 5m, got "6m"',
    ],
    [
      'a pollInterval not shorter than a timeout',
      ({ top: c, web: w }) => {
        c.pollInterval = '5m';
        w.timeouts = { drain: '1m30s' };
      },
      'pollInterval',
      '5m is not shorter than environments.staging.roles.web.timeouts.drain (1m30s); every wait must poll before its deadline',
    ],
    [
      'too many tags',
      ({ web: w }) => {
        w.tags = Object.fromEntries(Array.from({ length: 38 }, (_, i) => [`t${i}`, 'x']));
      },
      'environments.staging.roles.web.tags',
      'expected at most 37 tags: EC2 allows 50 per instance and the tool adds up to 13',
    ],
    [
      'a tag value too long',
      ({ web: w }) => {
        w.tags = { Note: 'x'.repeat(257) };
      },
      'environments.staging.roles.web.tags.Note',
      'expected a tag value of at most 256 characters',
    ],
    [
      'both instanceType and instanceTypes',
      ({ web: w }) => {
        w.instanceTypes = ['c7g.large', 'c6g.large'];
      },
      'environments.staging.roles.web.instanceTypes',
      'expected exactly one of instanceType (one type) and instanceTypes',
    ],
    [
      'neither instanceType nor instanceTypes',
      ({ web: w }) => {
        delete w.instanceType;
      },
      'environments.staging.roles.web.instanceType',
      'missing; expected exactly one of instanceType (one type) and instanceTypes',
    ],
    [
      'workerDrain on a web role',
      ({ web: w }) => {
        w.targetGroups = [tgArn];
        w.workerDrain = '2m';
      },
      'environments.staging.roles.web.workerDrain',
      'applies to worker roles only (no targetGroups)',
    ],
    [
      'a hook without a command',
      ({ web: w }) => {
        w.hooks = { beforeTerminate: { timeout: '30s' } };
      },
      'environments.staging.roles.web.hooks.beforeTerminate',
      'expected a shell command, or { command, timeout } (timeout default 5m, at most 1h)',
    ],
    [
      'an unknown hook',
      ({ web: w }) => {
        w.hooks = { afterCutover: 'true' };
      },
      'environments.staging.roles.web.hooks.afterCutover',
      'unknown key; allowed: beforeCutover, beforeTerminate, afterDeploy, onRollback',
    ],
    [
      'an io1 volume without iops',
      ({ web: w }) => {
        w.blockDevices = [{ deviceName: '/dev/xvda', volumeSize: 30, volumeType: 'io1' }];
      },
      'environments.staging.roles.web.blockDevices[0].iops',
      'missing; required for io1 volumes',
    ],
    [
      'a KMS key on a volume not encrypted',
      ({ web: w }) => {
        w.blockDevices = [{ deviceName: '/dev/xvda', volumeSize: 30, volumeType: 'gp3', kmsKeyId: 'alias/ebs' }];
      },
      'environments.staging.roles.web.blockDevices[0].kmsKeyId',
      'requires encrypted: true',
    ],
    [
      'a hop limit EC2 refuses',
      ({ web: w }) => {
        w.metadataOptions = { httpPutResponseHopLimit: 65 };
      },
      'environments.staging.roles.web.metadataOptions.httpPutResponseHopLimit',
      'expected an integer from 1 to 64',
    ],
    [
      'a launch template version that is neither a number nor $Latest or $Default',
      ({ web: w }) => {
        w.launchTemplate = { name: 'web-lt', version: 'latest' };
      },
      'environments.staging.roles.web.launchTemplate',
      'expected { name: "…" } or { id: "lt-…" }',
    ],
    [
      'no security groups without a launch template',
      ({ web: w }) => {
        delete w.securityGroupIds;
      },
      'environments.staging.roles.web.securityGroupIds',
      'missing; expected a list of security group ids (only a role with a launchTemplate may leave them to it)',
    ],
    [
      'an unknown defaultEnv',
      ({ top: c }) => {
        c.defaultEnv = 'prod';
      },
      'defaultEnv',
      'expected one of the environments: staging, got "prod"',
    ],
  ])('%s', async (_, edit, path, allowed) => {
    const file = await write(config(edit));
    const error = await configError(loadConfig(file));
    expect(error.message).toContain(`${file}: ${path}: ${allowed}`);
  });

  it('reports every problem, one per line', async () => {
    const file = await write(
      config(({ top: c, web: w }) => {
        c.pollInterval = 'soon';
        w.perAz = 'two';
        w.targetGroup = [];
        delete w.subnets;
      }),
    );
    const error = await configError(loadConfig(file));
    expect(error.message.split('\n')).toEqual([
      `${file}: 4 problems:`,
      '  pollInterval: expected a positive duration like "100ms", "30s", "5m" or "1h30m", got "soon"',
      '  environments.staging.roles.web.subnets: missing; expected a list of subnets',
      '  environments.staging.roles.web.perAz: expected a positive integer or "match", got "two"',
      expect.stringMatching(/^ {2}environments\.staging\.roles\.web\.targetGroup: unknown key; allowed: ami, /),
    ]);
  });

  it('says a missing file is missing, with its path', async () => {
    const file = join(dir, 'nope.yml');
    const error = await configError(loadConfig(file));
    expect(error.message).toBe(`${file}: cannot read ${file}: ENOENT: no such file or directory`);
  });

  it('gives the line and column of malformed YAML', async () => {
    const file = await write('region: ap-northeast-1\nenvironments:\n  staging: [a, b\n  other: 1\n');
    const error = await configError(loadConfig(file));
    expect(error.message).toMatch(new RegExp(`^${file}: line 4, column 3: Flow sequence`));
  });

  it('rejects an empty file, saying what the top level holds', async () => {
    const file = await write('');
    const error = await configError(loadConfig(file));
    expect(error.message).toBe(`${file}: expected a mapping with region, defaultEnv, pollInterval, limits, environments, got null`);
  });
});

describe('files and YAML that could hang or exhaust the tool', () => {
  const fifo = (name: string) => {
    const path = join(dir, name);
    execFileSync('mkfifo', [path]);
    return path;
  };

  it.each<[string, () => string, string]>([
    ['a FIFO', () => fifo('replacer.yml'), 'a FIFO (named pipe)'],
    ['a directory', () => dir, 'a directory'],
    ['/dev/zero', () => '/dev/zero', 'a character device'],
  ])('a config file that is %s is refused, naming the path and what it is', async (_, path, kind) => {
    const file = path();
    const error = await configError(loadConfig(file));
    expect(error.message).toBe(`${file}: ${resolve(file)} is ${kind}; expected a regular file`);
  });

  it.each<[string, () => string, string]>([
    ['a FIFO', () => fifo('boot.sh'), 'a FIFO (named pipe)'],
    ['/dev/zero', () => '/dev/zero', 'a character device'],
  ])('a userDataFile that is %s is refused, naming the field, the path and what it is', async (_, path, kind) => {
    const target = path();
    const file = await write(
      config(({ web: w }) => {
        w.userDataFile = target;
      }),
    );
    const error = await configError(resolveRole(await loadConfig(file), { role: 'web' }));
    expect(error.message).toBe(`${file}: environments.staging.roles.web.userDataFile: ${target} is ${kind}; expected a regular file`);
  });

  it('a config file over 1 MiB is refused by its size, before it is read', async () => {
    const file = await write(`${config()}#${'x'.repeat(1_048_576)}\n`);
    const error = await configError(loadConfig(file));
    expect(error.message).toMatch(new RegExp(`^${file}: ${file} is \\d+ bytes; a config file may be at most 1 MiB$`));
  });

  it('an alias bomb is a config error, not a crash', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9)
          .fill(`*${'abcdefghi'[i - 1]}`)
          .join(', ')}]`,
      );
    const file = await write(`${levels.join('\n')}\n`);
    const error = await configError(loadConfig(file));
    expect(error.message).toBe(`${file}: anchors and aliases expand to more than 100 copies; write the values out instead`);
  });

  it('a duplicate key names the key and where it is', async () => {
    const file = await write(config().replace('instanceType: t3.small', 'instanceType: t3.small\n        instanceType: t3.large'));
    const error = await configError(loadConfig(file));
    expect(error.message).toMatch(
      new RegExp(`^${file}: line \\d+, column \\d+: the key "instanceType" is given twice in one mapping; keep one$`),
    );
  });

  it('merge keys are supported: a role can take its fields from an anchored one', async () => {
    const file = await write(`environments:
  staging:
    mackerel: { service: svc }
    roles:
      web: &base
        ami: { id: ami-0123abcd }
        instanceType: t3.small
        subnets: [subnet-0aaa1111]
        securityGroupIds: [sg-0123abcd]
      worker:
        <<: *base
        instanceType: c7g.large
`);
    const spec = await resolveRole(await loadConfig(file), { role: 'worker' });
    expect(spec).toMatchObject({ role: 'worker', instanceType: 'c7g.large', subnets: ['subnet-0aaa1111'], ami: { id: 'ami-0123abcd' } });
  });
});

describe('resolveRole', () => {
  const twoEnvs = (defaultEnv?: string) =>
    config(({ top, envs }) => {
      envs.production = { mackerel: { service: 'svc-prod' }, roles: { api: role() } };
      if (defaultEnv) top.defaultEnv = defaultEnv;
    });

  it('picks defaultEnv when no env is given', async () => {
    const spec = await resolveRole(await loadConfig(await write(twoEnvs('production'))), { role: 'api' });
    expect(spec).toMatchObject({ env: 'production', service: 'svc-prod', role: 'api' });
  });

  it('picks the only environment when no env is given and there is no defaultEnv', async () => {
    const spec = await resolveRole(await loadConfig(await write(config())), { role: 'web' });
    expect(spec).toMatchObject({ env: 'staging', perAz: 1, pollInterval: 5_000, targetGroups: [], tags: {} });
  });

  it('asks for an env when there are several and no defaultEnv', async () => {
    const file = await write(twoEnvs());
    const error = await configError(resolveRole(await loadConfig(file), { role: 'web' }));
    expect(error.message).toContain(
      `${file}: defaultEnv: not set and there are 2 environments; choose one with --env (staging, production)`,
    );
  });

  it('lists the known environments for an unknown one', async () => {
    const file = await write(twoEnvs());
    const error = await configError(resolveRole(await loadConfig(file), { env: 'constructor', role: 'web' }));
    expect(error.message).toBe(`${file}: environments: no environment "constructor"; known environments: staging, production`);
  });

  it('lists the known roles for an unknown one', async () => {
    const file = await write(
      config(({ staging }) => {
        staging.roles.worker = role();
      }),
    );
    const error = await configError(resolveRole(await loadConfig(file), { role: 'api' }));
    expect(error.message).toBe(`${file}: environments.staging.roles: no role "api"; known roles: web, worker`);
  });

  it('takes a configured ownership tag and maxInstances', async () => {
    const file = await write(
      config(({ web: w }) => {
        w.ownership = { tag: 'Role', value: 'web' };
        w.maxInstances = 12;
      }),
    );
    const spec = await resolveRole(await loadConfig(file), { role: 'web' });
    expect(spec).toMatchObject({ ownership: { tag: 'Role', value: 'web' }, maxInstances: 12 });
  });

  it('accepts user data of exactly 16384 bytes and refuses one byte more, before any AWS call', async () => {
    const file = await write(
      config(({ web: w }) => {
        w.userDataFile = 'boot.sh';
      }),
    );
    // Multi-byte characters: the limit counts bytes, not characters.
    await writeFile(join(dir, 'boot.sh'), 'é'.repeat(8192));
    expect((await resolveRole(await loadConfig(file), { role: 'web' })).userData).toHaveLength(8192);
    await writeFile(join(dir, 'boot.sh'), `${'é'.repeat(8192)}\n`);
    const error = await configError(resolveRole(await loadConfig(file), { role: 'web' }));
    expect(error.message).toBe(
      `${file}: environments.staging.roles.web.userDataFile: ${resolve(dir, 'boot.sh')} is 16385 bytes; EC2 accepts at most 16384 bytes of user data`,
    );
  });

  it('names the resolved user data path and the OS reason when it cannot be read', async () => {
    const file = await write(
      config(({ web: w }) => {
        w.userDataFile = 'boot/missing.sh';
      }),
    );
    const error = await configError(resolveRole(await loadConfig(file), { role: 'web' }));
    expect(error.message).toBe(
      `${file}: environments.staging.roles.web.userDataFile: cannot read ${resolve(dir, 'boot/missing.sh')}: ENOENT: no such file or directory`,
    );
  });
});

describe('user data variables', () => {
  const withTemplate = async (text: string, edit: (web: Record<string, unknown>) => void = () => {}) => {
    await writeFile(join(dir, 'boot.sh'), text);
    return write(
      config(({ web: w }) => {
        w.userDataFile = 'boot.sh';
        edit(w);
      }),
    );
  };

  it("fills the template with the role's vars: when they are all it needs", async () => {
    const file = await withTemplate('get ${artifact} as ${service}; echo $$ $${HOME}\n', (w) => {
      w.vars = { artifact: 's3://b/a.tar.gz', service: 'svc' };
    });
    const spec = await resolveRole(await loadConfig(file), { role: 'web' });
    expect(spec.userData).toBe('get s3://b/a.tar.gz as svc; echo $$ ${HOME}\n');
    expect(spec.vars).toEqual({ artifact: 's3://b/a.tar.gz', service: 'svc' });
  });

  it('leaves the user data to the deploy when a variable has no value in the config (--var or a promotion gives it)', async () => {
    const file = await withTemplate('get ${artifact} as ${service}\n', (w) => {
      w.vars = { service: 'svc' };
    });
    const spec = await resolveRole(await loadConfig(file), { role: 'web' });
    expect(spec.userData).toBeUndefined();
    expect(spec.template).toMatchObject({
      path: resolve(dir, 'boot.sh'),
      vars: { service: 'svc' },
      varsField: 'environments.staging.roles.web.vars',
    });
  });

  it('refuses a configured variable the template does not have, naming the field and the file', async () => {
    const file = await withTemplate('get ${artifact}\n', (w) => {
      w.vars = { artefact: 'x' };
    });
    const error = await configError(resolveRole(await loadConfig(file), { role: 'web' }));
    expect(error.message).toBe(
      `${file}: environments.staging.roles.web.vars.artefact: ${resolve(dir, 'boot.sh')} has no variable \${artefact}; its variables: artifact`,
    );
  });

  it('refuses a configured value a shell would interpret, naming the variable and the character; ${name:q} takes it quoted', async () => {
    const file = await withTemplate('get ${artifact}\n', (w) => {
      w.vars = { artifact: 'app; reboot' };
    });
    const error = await configError(resolveRole(await loadConfig(file), { role: 'web' }));
    expect(error.message).toContain('variable artifact (vars:) holds ";", which a shell would interpret at ${artifact} (line 1)');
    const quoted = await withTemplate('get ${artifact:q}\n', (w) => {
      w.vars = { artifact: 'app; reboot' };
    });
    expect((await resolveRole(await loadConfig(quoted), { role: 'web' })).userData).toBe("get 'app; reboot'\n");
  });

  it('refuses a template with a malformed ${…}, naming the line', async () => {
    const file = await withTemplate('#!/bin/sh\necho ${HOME:-/root}\n');
    const error = await configError(resolveRole(await loadConfig(file), { role: 'web' }));
    expect(error.message).toContain(
      `${file}: environments.staging.roles.web.userDataFile: ${resolve(dir, 'boot.sh')}: line 2: "\${HOME:-/root}" is not a variable`,
    );
  });

  it('refuses vars: on a role without a userDataFile', async () => {
    const file = await write(
      config(({ web: w }) => {
        w.vars = { artifact: 'x' };
      }),
    );
    const error = await configError(resolveRole(await loadConfig(file), { role: 'web' }));
    expect(error.message).toBe(`${file}: environments.staging.roles.web.vars: the role has no userDataFile for its variables to fill`);
  });

  it.each<[string, (w: Record<string, unknown>) => void, string, string]>([
    [
      'a name that is not one',
      (w) => {
        w.vars = { 'app-url': 'x' };
      },
      'environments.staging.roles.web.vars.app-url',
      'expected a variable name of up to 64 letters, digits and "_", not starting with a digit',
    ],
    [
      'a value longer than a tag holds',
      (w) => {
        w.vars = { artifact: 'x'.repeat(257) };
      },
      'environments.staging.roles.web.vars.artifact',
      'expected a value of at most 256 characters (it is recorded in an EC2 tag)',
    ],
    [
      'a number',
      (w) => {
        w.vars = { port: 80 };
      },
      'environments.staging.roles.web.vars.port',
      'expected a string (quote numbers and booleans)',
    ],
  ])('refuses %s in vars:', async (_, edit, path, allowed) => {
    const file = await withTemplate('${artifact}', edit);
    const error = await configError(loadConfig(file));
    expect(error.message).toContain(`${file}: ${path}`);
    expect(error.message).toContain(allowed);
  });

  it('loads examples/promotion.yml: both environments share the template, each with its own mackerel_role, artifact left to the deploy', async () => {
    const config = await loadConfig('examples/promotion.yml');
    for (const env of ['staging', 'production']) {
      const spec = await resolveRole(config, { env, role: 'web' });
      expect(spec.userData).toBeUndefined();
      expect(spec.template).toMatchObject({
        path: resolve('examples/user_data/boot-web-template.sh'),
        vars: { mackerel_role: `reactio-${env}:web` },
      });
    }
  });

  it("counts each variable as a tag: the role's tags and its variables share 37", async () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `\${v${i}}`).join(' ');
    const tags = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`t${i}`, 'x']));
    const fits = await withTemplate(names(7), (w) => {
      w.tags = tags;
    });
    expect((await resolveRole(await loadConfig(fits), { role: 'web' })).template).toBeDefined();
    const over = await withTemplate(names(8), (w) => {
      w.tags = tags;
    });
    const error = await configError(resolveRole(await loadConfig(over), { role: 'web' }));
    expect(error.message).toBe(
      `${over}: environments.staging.roles.web.userDataFile: ${resolve(dir, 'boot.sh')} has 8 variables, and the role 30 tags: each variable is recorded in a tag on every instance, and variables and tags may be at most 37 together (EC2 allows 50 tags per instance, the tool writes up to 13)`,
    );
  });
});

describe('the README', () => {
  it('shows the example web user data as it is', async () => {
    const readme = await readFile('README.md', 'utf8');
    const section = readme.split('## Setting up mackerel-agent for replacement')[1]!;
    expect(section.match(/```sh\n([\s\S]*?)```/)?.[1]).toBe(await readFile('examples/user_data/boot-web.sh', 'utf8'));
  });
});
