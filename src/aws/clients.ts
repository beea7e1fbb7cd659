import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsAccount } from '../config/schema.js';
import { replaceSdkNodeWarning } from './node-support.js';
import { redactErrors } from './redact.js';
import { credentialProviders, ec2Sdk, elbv2Sdk, quotasSdk, stsSdk } from './sdk.js';

export interface AwsClients {
  readonly ec2: EC2Client;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly quotas: ServiceQuotasClient;
  /** For the account guard: the same credentials as the others. */
  readonly sts: STSClient;
}

/** A request with no complete answer by then is abandoned, and retried. */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The environment's credentials through the SDK's own providers: its `profile` (shared config and
 * credentials files, SSO and credential_process included), its `assumeRole` (STS, from the default
 * chain or from `profile`), or else the default chain.
 */
const credentialsOf = (account: AwsAccount | undefined, region: string | undefined) => {
  if (!account?.assumeRole) return account?.profile === undefined ? {} : { profile: account.profile };
  const { roleArn, externalId, sessionName } = account.assumeRole;
  return {
    credentials: credentialProviders.fromTemporaryCredentials({
      params: { RoleArn: roleArn, RoleSessionName: sessionName ?? 'mackerel-replacer', ...(externalId && { ExternalId: externalId }) },
      clientConfig: { ...(account.profile && { profile: account.profile }), ...(region && { region }) },
    }),
  };
};

/** Every client uses the SDK's default chain for its endpoint (so `AWS_ENDPOINT_URL` works), and the environment's credentials. */
export const createAwsClients = (options: { region?: string; requestTimeoutMs?: number; account?: AwsAccount }): AwsClients => {
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
  const config = { region, maxAttempts: 5, requestHandler, ...credentialsOf(options.account, region) };
  const clients = {
    ec2: new ec2Sdk.EC2Client(config),
    elbv2: new elbv2Sdk.ElasticLoadBalancingV2Client(config),
    quotas: new quotasSdk.ServiceQuotasClient(config),
    sts: new stsSdk.STSClient(config),
  };
  for (const client of [clients.ec2, clients.elbv2, clients.quotas, clients.sts]) {
    redactErrors(client);
    // Its default no-op logger still gets a sensitive-field-filtered copy of every response: at
    // thousands of instances that copy is a large share of what a poll allocates. The tool logs nothing.
    client.middlewareStack.remove('loggerMiddleware');
  }
  return clients;
};
