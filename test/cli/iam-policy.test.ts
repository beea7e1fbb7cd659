import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/replacer.yml', import.meta.url));
const README = fileURLToPath(new URL('../../README.md', import.meta.url));

const run = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    env,
    signal: new AbortController().signal,
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
};

describe('iam-policy', () => {
  it('prints the web role policy as JSON on stdout, and the PassRole assumption on stderr', async () => {
    const { code, stdout, stderr } = await run(['iam-policy', '--config', EXAMPLE, '--env', 'staging', '--role', 'web']);
    expect(code).toBe(0);
    const policy = JSON.parse(stdout);
    expect(policy.Version).toBe('2012-10-17');
    const text = JSON.stringify(policy);
    expect(text).toContain('arn:aws:ec2:ap-northeast-1:*:subnet/subnet-0aaa1111');
    expect(text).toContain('arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/reactio-web/0123456789abcdef');
    expect(text).toContain('arn:aws:iam::*:role/reactio-staging-instance');
    expect(stderr).toContain(
      'iam:PassRole assumes the instance profile reactio-staging-instance holds a role named reactio-staging-instance',
    );
  });

  it('prints what the README shows for the example config', async () => {
    const { stdout } = await run(['iam-policy', '--config', EXAMPLE, '--env', 'staging', '--role', 'web']);
    const section = readFileSync(README, 'utf8').split('### IAM policy')[1]!;
    expect(section.match(/```json\n([\s\S]*?)\n```/)?.[1]).toBe(stdout);
  });

  it('prints no load balancer action for a worker role, and no note without an instance profile', async () => {
    const { code, stdout, stderr } = await run(['iam-policy', '--config', EXAMPLE, '--role', 'worker']);
    expect(code).toBe(0);
    expect(stdout).toContain('ec2:DescribeInstances');
    expect(stdout).not.toContain('elasticloadbalancing');
    expect(stderr).toBe('');
  });

  it('scopes ARNs to AWS_REGION when set, as the AWS clients do', async () => {
    const { stdout } = await run(['iam-policy', '--config', EXAMPLE, '--role', 'worker'], { AWS_REGION: 'eu-west-1' });
    expect(stdout).toContain('arn:aws:ec2:eu-west-1:*:instance/*');
    expect(stdout).not.toContain('ap-northeast-1');
  });

  it('exits 2 on an unknown role, naming the known ones, and prints no policy', async () => {
    const { code, stdout, stderr } = await run(['iam-policy', '--config', EXAMPLE, '--role', 'wbe']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/no role "wbe"; known roles: web, worker/);
  });

  it('exits 2 when the config file cannot be read', async () => {
    const { code, stdout, stderr } = await run(['iam-policy', '--config', '/nonexistent/replacer.yml', '--role', 'web']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('cannot read /nonexistent/replacer.yml');
  });

  it('exits 2 without --role', async () => {
    const { code, stderr } = await run(['iam-policy', '--config', EXAMPLE]);
    expect(code).toBe(2);
    expect(stderr).toContain("required option '--role <role>' not specified");
  });
});

describe('iam-policy of a promotion that shares its image', () => {
  it('grants ec2:ModifyImageAttribute to the source environment only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mr-iam-'));
    const role = `    roles:\n      web:\n        ami: { id: ami-0123456789abcdef0 }\n        instanceType: t3.small\n        subnets: [subnet-0aaa1111]\n        securityGroupIds: [sg-0123abcd]\n`;
    writeFileSync(
      join(dir, 'replacer.yml'),
      `region: ap-northeast-1\nenvironments:\n  staging:\n    mackerel: { service: st }\n${role}  production:\n    mackerel: { service: pr }\n    promotion: { shareImage: true }\n${role}`,
    );
    const policyOf = async (env: string) =>
      (await run(['iam-policy', '--config', join(dir, 'replacer.yml'), '--env', env, '--role', 'web'])).stdout;
    expect(await policyOf('staging')).toContain('"ec2:ModifyImageAttribute"');
    expect(await policyOf('production')).not.toContain('ModifyImageAttribute');
  });
});
