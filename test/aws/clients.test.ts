import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAwsClients } from '../../src/aws/clients.js';
import { createFleet } from '../../src/aws/ec2.js';
import { createBalancer } from '../../src/aws/elbv2.js';
import { ApiError } from '../../src/rollout/errors.js';
import { type AwsEndpoint, answerAws, ec2Error, elbOk, interceptAws } from './server.js';

const call = { signal: new AbortController().signal };
let server: AwsEndpoint;

interceptAws();

// Only what each test sets reaches the SDK's chains: no profile, no files, no container or IMDS credentials.
const isolateEnv = () => {
  for (const name of [
    'AWS_REGION',
    'AWS_PROFILE',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_ENDPOINT_URL',
    'AWS_ENDPOINT_URL_EC2',
    'AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2',
    'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_ROLE_ARN',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_MAX_ATTEMPTS',
    'AWS_RETRY_MODE',
  ]) {
    vi.stubEnv(name, undefined);
  }
  vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws/config');
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/aws/credentials');
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
};

const withKeys = () => {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test-secret-key');
};

// The SigV4 credential scope names the region the request was signed for.
const signedRegion = (authorization: string | undefined) => authorization?.match(/Credential=[^/]+\/\d{8}\/([^/]+)\//)?.[1];

beforeEach(() => {
  isolateEnv();
  server = answerAws(({ action }) =>
    action === 'DescribeTargetHealth'
      ? elbOk(action, '<TargetHealthDescriptions/>')
      : ec2Error('DryRunOperation', 'Request would have succeeded', 412),
  );
  vi.stubEnv('AWS_ENDPOINT_URL', server.url);
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('createAwsClients', () => {
  it('reaches AWS_ENDPOINT_URL with both clients, in the config region when AWS_REGION is unset', async () => {
    withKeys();
    const { ec2, elbv2 } = createAwsClients({ region: 'eu-west-1' });
    await createFleet(ec2).checkAccess(call);
    await createBalancer(elbv2).health('arn:tg', call);
    expect(server.requests.map(({ action, headers }) => [action, signedRegion(headers.authorization)])).toEqual([
      ['DescribeInstances', 'eu-west-1'],
      ['DescribeTargetHealth', 'eu-west-1'],
    ]);
  });

  it('lets AWS_REGION win over the config region', async () => {
    withKeys();
    vi.stubEnv('AWS_REGION', 'ap-northeast-1');
    const { ec2 } = createAwsClients({ region: 'eu-west-1' });
    await createFleet(ec2).checkAccess(call);
    expect(signedRegion(server.requests[0]?.headers.authorization)).toBe('ap-northeast-1');
  });

  it('makes up to 5 attempts on a transient failure', async () => {
    withKeys();
    server = answerAws(() => ec2Error('InternalError', 'An internal error has occurred', 500));
    const { ec2 } = createAwsClients({ region: 'eu-west-1' });
    await expect(createFleet(ec2).checkAccess(call)).rejects.toMatchObject({ code: 'InternalError' });
    expect(server.requests).toHaveLength(5);
  });

  it('abandons a request that gets no answer at its timeout, and retries it', async () => {
    withKeys();
    server = answerAws(() => new Promise(() => undefined));
    const { ec2 } = createAwsClients({ region: 'eu-west-1', requestTimeoutMs: 100 });
    await expect(createFleet(ec2).checkAccess(call)).rejects.toMatchObject({ name: 'ApiError', operation: 'DescribeInstances' });
    expect(server.requests).toHaveLength(5);
  });

  it('says how to provide credentials when there are none', async () => {
    const { ec2 } = createAwsClients({ region: 'eu-west-1' });
    const error = await createFleet(ec2)
      .checkAccess(call)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'CredentialsProviderError' });
    expect((error as ApiError).hint).toContain('AWS_PROFILE');
    expect(server.requests).toHaveLength(0);
  });

  it('says how to set a region when none is known', async () => {
    withKeys();
    const { ec2 } = createAwsClients({});
    const error = await createFleet(ec2)
      .checkAccess(call)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).hint).toContain('AWS_REGION');
    expect(server.requests).toHaveLength(0);
  });

  it('drops the SDK logger middleware, which copies every response for a logger that prints nothing', () => {
    const { ec2, elbv2 } = createAwsClients({});
    for (const client of [ec2, elbv2]) {
      expect(client.middlewareStack.identify().join('\n')).not.toMatch(/loggerMiddleware/);
      expect(client.middlewareStack.identify().length).toBeGreaterThan(0);
    }
  });
});
