// A server (or a proxy in front of it) that echoes the request back in its error message must not
// carry the session token, the secret key or the user data into our errors.
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../src/aws/clients.js';
import { createFleet } from '../../src/aws/ec2.js';
import { createBalancer } from '../../src/aws/elbv2.js';
import type { LaunchRequest } from '../../src/rollout/ports.js';
import { AWS_URL, type AwsEndpoint, answerAws, ec2Error, elbError, interceptAws } from './server.js';

const SESSION_TOKEN = 'aws-SECRET-session-0c4e';
const SECRET_KEY = 'aws-SECRET-key-93ab';
const USER_DATA = '#!/bin/sh\necho USERDATA-SECRET-d41f\n';
const USER_DATA_BASE64 = Buffer.from(USER_DATA).toString('base64');
const call = { signal: new AbortController().signal };

let server: AwsEndpoint;
const saved = { ...process.env };

interceptAws();

beforeAll(() => {
  // The real wiring: endpoint and credentials from the environment, as in production.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: AWS_URL,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    AWS_SESSION_TOKEN: SESSION_TOKEN,
  });
});

beforeEach(() => {
  server = answerAws(({ params, headers }) => {
    const userData = params.get('UserData') ?? '';
    const echo = `rejected: token ${headers['x-amz-security-token']}, key ${SECRET_KEY}, user data ${userData} (${Buffer.from(userData, 'base64').toString()})`;
    return params.get('Version') === '2015-12-01' ? elbError('ValidationError', echo) : ec2Error('InvalidParameterValue', echo);
  });
});

afterAll(() => {
  process.env = saved;
});

const request: LaunchRequest = {
  imageId: 'ami-1',
  instanceType: 't3.small',
  subnetId: 'subnet-a',
  count: 1,
  securityGroupIds: ['sg-1'],
  userData: USER_DATA,
  tags: {},
  clientToken: 'token-1',
};

const failure = async (promise: Promise<unknown>): Promise<Error> => {
  const error = await promise.then(
    () => expect.fail('expected the call to fail'),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
};

const expectRedacted = (error: Error) => {
  const everything = `${error.message}\n${error.stack}\n${inspect(error, { depth: 10 })}`;
  for (const secret of [SESSION_TOKEN, SECRET_KEY, USER_DATA_BASE64, 'USERDATA-SECRET-d41f']) expect(everything).not.toContain(secret);
  expect(error.message).toContain('[redacted]');
};

describe('AWS errors that echo the request', () => {
  it('RunInstances: no session token, secret key or user data (plain or base64) in the error', async () => {
    const error = await failure(createFleet(createAwsClients({}).ec2).launch(request, call));
    expect(error).toMatchObject({ name: 'ApiError', code: 'InvalidParameterValue' });
    expect(server.calls('RunInstances').at(-1)?.headers['x-amz-security-token']).toBe(SESSION_TOKEN);
    expectRedacted(error);
  });

  it('a DryRun launch too', async () => {
    const error = await failure(createFleet(createAwsClients({}).ec2).mayLaunch(request, call));
    expectRedacted(error);
  });

  it('ELBv2 calls too', async () => {
    const error = await failure(createBalancer(createAwsClients({}).elbv2).register('arn:tg', ['i-1'], call));
    expect(error).toMatchObject({ name: 'ApiError', code: 'ValidationError' });
    expectRedacted(error);
  });
});
