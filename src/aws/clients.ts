import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { replaceSdkNodeWarning } from './node-support.js';
import { redactErrors } from './redact.js';
import { ec2Sdk, elbv2Sdk, quotasSdk } from './sdk.js';

export interface AwsClients {
  readonly ec2: EC2Client;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly quotas: ServiceQuotasClient;
}

/** Both clients use the SDK's default chains for credentials and endpoint (so `AWS_ENDPOINT_URL` works). */
/** A request with no complete answer by then is abandoned, and retried. */
export const REQUEST_TIMEOUT_MS = 30_000;

export const createAwsClients = (options: { region?: string; requestTimeoutMs?: number }): AwsClients => {
  // An explicit `region` outranks the SDK's whole chain, so the config's region is passed only when
  // AWS_REGION is unset; it then also outranks the profile's region, a simplification we accept.
  const region = process.env.AWS_REGION ? undefined : options.region;
  const notice = replaceSdkNodeWarning(process.version, process.env);
  if (notice) process.stderr.write(`${notice}\n`);
  // A hung request is abandoned and retried, never waited on forever: without
  // throwOnRequestTimeout the SDK would only log a warning at requestTimeout and go on waiting.
  const requestHandler = {
    requestTimeout: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    throwOnRequestTimeout: true,
    connectionTimeout: 5_000,
  };
  const config = { region, maxAttempts: 5, requestHandler };
  const clients = {
    ec2: new ec2Sdk.EC2Client(config),
    elbv2: new elbv2Sdk.ElasticLoadBalancingV2Client(config),
    quotas: new quotasSdk.ServiceQuotasClient(config),
  };
  for (const client of [clients.ec2, clients.elbv2, clients.quotas]) {
    redactErrors(client);
    // Its default no-op logger still gets a sensitive-field-filtered copy of every response: at
    // thousands of instances that copy is a large share of what a poll allocates. The tool logs nothing.
    client.middlewareStack.remove('loggerMiddleware');
  }
  return clients;
};
