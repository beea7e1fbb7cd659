import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import type { STSClient } from '@aws-sdk/client-sts';
import { maskSecrets } from '../shared/mask.js';
import { ec2Sdk, elbv2Sdk, quotasSdk } from './sdk.js';

type Credentials = EC2Client['config']['credentials'];

/** What a failed request could echo back: the credentials that signed it, and a launch's user data. */
const secretsOf = async (credentials: Credentials, input: unknown): Promise<(string | undefined)[]> => {
  const identity = await credentials().catch(() => undefined);
  const userData = (input as { UserData?: unknown } | undefined)?.UserData;
  const launch = typeof userData === 'string' && userData !== '' ? [userData, Buffer.from(userData, 'base64').toString('utf8')] : [];
  return [identity?.secretAccessKey, identity?.sessionToken, ...launch];
};

const redacting =
  (credentials: Credentials) =>
  <Args extends { input: unknown }, Output>(next: (args: Args) => Promise<Output>) =>
  async (args: Args): Promise<Output> => {
    try {
      return await next(args);
    } catch (error) {
      if (error instanceof Error) {
        const secrets = await secretsOf(credentials, args.input);
        error.message = maskSecrets(error.message, secrets);
        if (error.stack) error.stack = maskSecrets(error.stack, secrets);
      }
      throw error;
    }
  };

const step = { step: 'initialize', name: 'redactSecretsInErrors' } as const;

/**
 * Masks the request's secrets in any error the client throws: a server, or a proxy before it, may
 * quote the request's headers or body in its message. Runs outermost, after the SDK's retries.
 */
export const redactErrors = (client: EC2Client | ElasticLoadBalancingV2Client | ServiceQuotasClient | STSClient): void => {
  if (client instanceof ec2Sdk.EC2Client) client.middlewareStack.add(redacting(client.config.credentials), step);
  else if (client instanceof elbv2Sdk.ElasticLoadBalancingV2Client) client.middlewareStack.add(redacting(client.config.credentials), step);
  else if (client instanceof quotasSdk.ServiceQuotasClient) client.middlewareStack.add(redacting(client.config.credentials), step);
  else client.middlewareStack.add(redacting(client.config.credentials), step);
};
