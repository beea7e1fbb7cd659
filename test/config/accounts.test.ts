import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redactEnvSecrets } from '../../src/cli/redact.js';
import { loadConfig } from '../../src/config/load.js';
import { MASK } from '../../src/shared/mask.js';

const role = `    roles:
      web:
        ami: { id: ami-0123456789abcdef0 }
        instanceType: t3.small
        subnets: [subnet-0aaa1111]
        securityGroupIds: [sg-0123abcd]
`;

const load = async (environments: string) => {
  const file = join(await mkdtemp(join(tmpdir(), 'mr-accounts-')), 'replacer.yml');
  await writeFile(file, `environments:\n${environments}`);
  return loadConfig(file);
};

describe('environments.E.aws and mackerel.apiKeyEnv', () => {
  it('requires accountId on every environment once two take their credentials from different profiles or roles', async () => {
    await expect(
      load(
        `  staging:\n    aws: { accountId: "111111111111", profile: staging }\n    mackerel: { service: s1 }\n${role}  production:\n    aws: { profile: production }\n    mackerel: { service: s2 }\n${role}`,
      ),
    ).rejects.toThrow(
      'environments.production.aws.accountId: required: the environments take their AWS credentials from different profiles or roles',
    );
  });

  it('leaves accountId optional with one environment, and defaults apiKeyEnv to MACKEREL_APIKEY', async () => {
    const config = await load(`  staging:\n    aws: { profile: staging }\n    mackerel: { service: s1 }\n${role}`);
    expect(config.environments.staging!.aws).toEqual({ profile: 'staging' });
    expect(config.environments.staging!.mackerel.apiKeyEnv).toBe('MACKEREL_APIKEY');
  });

  it('refuses an unquoted account id and a role ARN that is not one, naming what is allowed', async () => {
    await expect(
      load(`  staging:\n    aws: { accountId: 111111111111, assumeRole: { roleArn: deployer } }\n    mackerel: { service: s1 }\n${role}`),
    ).rejects.toThrow(/accountId: expected a 12-digit AWS account id, quoted[\s\S]*roleArn: expected an IAM role ARN/);
  });
});

describe('mackerel.apiKeyEnv and secrets', () => {
  it('refuses a variable name the output masking would not recognise as a key', async () => {
    await expect(load(`  staging:\n    mackerel: { service: s1, apiKeyEnv: MKR_PROD }\n${role}`)).rejects.toThrow(
      'environments.staging.mackerel.apiKeyEnv: expected a name with APIKEY or API_KEY in it',
    );
  });

  it('masks the value of every variable a config may name for a key, wherever the CLI prints', () => {
    const env = { MACKEREL_APIKEY_PRODUCTION: 'prod-key-0123456789', PROD_API_KEY: 'other-key-0123456789', HOME: '/root' };
    expect(redactEnvSecrets('keys prod-key-0123456789 and other-key-0123456789 in /root', env)).toBe(`keys ${MASK} and ${MASK} in /root`);
  });
});
