// The AWS endpoint the adapter tests talk to: msw intercepts the SDK clients' requests to
// AWS_URL (they go out through node:http), answers each with canned EC2 or ELBv2 XML from the
// test's answer function, and keeps every request so tests can assert the wire parameters.
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';

/** Nothing listens here: every request to it is answered by msw, or fails the test. */
export const AWS_URL = 'https://aws.test';

export interface AwsRequest {
  readonly action: string;
  readonly params: URLSearchParams;
  /** Header names in lower case, as node:http gives them. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface AwsAnswer {
  readonly status?: number;
  readonly body: string;
}

/** May return a promise that never settles: a request that gets no answer. */
export type Answer = (request: AwsRequest) => AwsAnswer | Promise<AwsAnswer>;

export interface AwsEndpoint {
  readonly url: string;
  readonly requests: AwsRequest[];
  /** The requests for one action, in arrival order. */
  readonly calls: (action: string) => AwsRequest[];
}

const mock = setupServer();

/**
 * Intercepts AWS_URL for the tests of the calling file. Call it at the file's top level, before any
 * client sends a request (msw must be listening before the first SDK request of the process).
 * A request no answer covers fails, so nothing reaches the network.
 */
export const interceptAws = () => {
  beforeAll(() => mock.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => mock.resetHandlers());
  afterAll(() => mock.close());
};

/** Answers AWS_URL with `answer` until the end of the current test (the latest call wins). */
export const answerAws = (answer: Answer): AwsEndpoint => {
  const requests: AwsRequest[] = [];
  mock.use(
    http.post(`${AWS_URL}/`, async ({ request }) => {
      const params = new URLSearchParams(await request.text());
      const recorded = { action: params.get('Action') ?? '', params, headers: Object.fromEntries(request.headers) };
      requests.push(recorded);
      const { status = 200, body } = await answer(recorded);
      return new HttpResponse(body, { status, headers: { 'content-type': 'text/xml' } });
    }),
  );
  return { url: AWS_URL, requests, calls: (action) => requests.filter((request) => request.action === action) };
};

const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret-key' };

/** Clients aimed at the endpoint; one attempt each, so tests can count calls. */
export const testClients = (url: string) => {
  const config = { endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 };
  return { ec2: new EC2Client(config), elbv2: new ElasticLoadBalancingV2Client(config) };
};

/** `count` distinct instance ids, in order. */
export const ids = (count: number): string[] => Array.from({ length: count }, (_, index) => `i-${String(index).padStart(4, '0')}`);

/** The values of an EC2/ELBv2 wire list (`InstanceId.1`, `Targets.member.2.Id`, …) in index order. */
export const listParam = (params: URLSearchParams, prefix: string, suffix = ''): string[] => {
  const values: string[] = [];
  for (let index = 1; params.has(`${prefix}.${index}${suffix}`); index++) values.push(params.get(`${prefix}.${index}${suffix}`)!);
  return values;
};

/** The values of the EC2 filter called `name`, or undefined when the request has no such filter. */
export const filterValues = (params: URLSearchParams, name: string): string[] | undefined => {
  for (let index = 1; params.has(`Filter.${index}.Name`); index++) {
    if (params.get(`Filter.${index}.Name`) === name) return listParam(params, `Filter.${index}.Value`);
  }
  return undefined;
};

export const ec2Ok = (action: string, inner: string): AwsAnswer => ({
  body: `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r1</requestId>${inner}</${action}Response>`,
});

export const ec2Error = (code: string, message: string, status = 400): AwsAnswer => ({
  status,
  body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>req-err</RequestID></Response>`,
});

export const elbOk = (action: string, inner = ''): AwsAnswer => ({
  body: `<${action}Response xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>e1</RequestId></ResponseMetadata></${action}Response>`,
});

export const elbError = (code: string, message: string, status = 400): AwsAnswer => ({
  status,
  body: `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>req-err2</RequestId></ErrorResponse>`,
});

const tagSet = (tags: Record<string, string>) =>
  `<tagSet>${Object.entries(tags)
    .map(([key, value]) => `<item><key>${key}</key><value>${value}</value></item>`)
    .join('')}</tagSet>`;

const stateCodes: Record<string, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 };

export interface InstanceFixture {
  readonly id: string;
  readonly state?: string;
  readonly az?: string;
  readonly subnetId?: string;
  readonly vpcId?: string;
  readonly imageId?: string;
  readonly launchedAt?: string;
  readonly tags?: Record<string, string>;
}

export const instanceItem = ({
  id,
  state = 'running',
  az = 'us-east-1a',
  subnetId = 'subnet-a',
  vpcId = 'vpc-1',
  imageId = 'ami-1',
  launchedAt = '2026-11-01T00:00:00.000Z',
  tags = {},
}: InstanceFixture) =>
  `<item><instanceId>${id}</instanceId><imageId>${imageId}</imageId><launchTime>${launchedAt}</launchTime><instanceState><code>${stateCodes[state]}</code><name>${state}</name></instanceState><instanceType>t3.micro</instanceType><placement><availabilityZone>${az}</availabilityZone></placement><subnetId>${subnetId}</subnetId><vpcId>${vpcId}</vpcId>${tagSet(tags)}</item>`;

/** A RunInstances body: the reservation's fields sit directly under the root. */
export const reservation = (instances: readonly InstanceFixture[]) =>
  `<reservationId>r-1</reservationId><ownerId>123456789012</ownerId><instancesSet>${instances.map(instanceItem).join('')}</instancesSet>`;

/** A DescribeInstances body. */
export const reservations = (instances: readonly InstanceFixture[]) =>
  `<reservationSet><item>${reservation(instances)}</item></reservationSet>`;

export const imageItem = (id: string, name: string, createdAt: string, state = 'available') =>
  `<item><imageId>${id}</imageId><name>${name}</name><imageState>${state}</imageState><creationDate>${createdAt}</creationDate><ownerId>123456789012</ownerId></item>`;
