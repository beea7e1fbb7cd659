// A loopback server that answers EC2 and ELBv2 query-protocol requests with canned XML, and keeps
// every request it saw so tests can assert the wire parameters.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';

export interface AwsRequest {
  readonly action: string;
  readonly params: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
}

export interface AwsAnswer {
  readonly status?: number;
  readonly body: string;
}

export type Answer = (request: AwsRequest) => AwsAnswer | Promise<AwsAnswer>;

export interface AwsServer {
  readonly url: string;
  readonly requests: AwsRequest[];
  /** The requests for one action, in arrival order. */
  readonly calls: (action: string) => AwsRequest[];
  readonly close: () => Promise<void>;
}

export const startAwsServer = async (answer: Answer): Promise<AwsServer> => {
  const requests: AwsRequest[] = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const piece of req) body += piece;
    const params = new URLSearchParams(body);
    const request = { action: params.get('Action') ?? '', params, headers: req.headers };
    requests.push(request);
    const { status = 200, body: xml } = await answer(request);
    res.writeHead(status, { 'content-type': 'text/xml' }).end(xml);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    calls: (action) => requests.filter((request) => request.action === action),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
};

const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret-key' };

/** Clients aimed at the server; one attempt each, so tests can count calls. */
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
  readonly tags?: Record<string, string>;
}

export const instanceItem = ({ id, state = 'running', az = 'us-east-1a', subnetId = 'subnet-a', vpcId = 'vpc-1', imageId = 'ami-1', tags = {} }: InstanceFixture) =>
  `<item><instanceId>${id}</instanceId><imageId>${imageId}</imageId><instanceState><code>${stateCodes[state]}</code><name>${state}</name></instanceState><instanceType>t3.micro</instanceType><placement><availabilityZone>${az}</availabilityZone></placement><subnetId>${subnetId}</subnetId><vpcId>${vpcId}</vpcId>${tagSet(tags)}</item>`;

/** A RunInstances body: the reservation's fields sit directly under the root. */
export const reservation = (instances: readonly InstanceFixture[]) =>
  `<reservationId>r-1</reservationId><ownerId>123456789012</ownerId><instancesSet>${instances.map(instanceItem).join('')}</instancesSet>`;

/** A DescribeInstances body. */
export const reservations = (instances: readonly InstanceFixture[]) => `<reservationSet><item>${reservation(instances)}</item></reservationSet>`;

export const imageItem = (id: string, name: string, createdAt: string, state = 'available') =>
  `<item><imageId>${id}</imageId><name>${name}</name><imageState>${state}</imageState><creationDate>${createdAt}</creationDate><ownerId>123456789012</ownerId></item>`;
