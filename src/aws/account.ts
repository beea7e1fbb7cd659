import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsAccount } from '../config/schema.js';
import { UsageError } from '../rollout/errors.js';
import { callAws } from './errors.js';
import { stsSdk } from './sdk.js';

/** Where the credentials of an environment come from, for messages: never a secret. */
export const credentialSource = (account: AwsAccount | undefined, env: NodeJS.ProcessEnv): string => {
  if (account?.assumeRole) return `role ${account.assumeRole.roleArn}${account.profile ? ` from profile ${account.profile}` : ''}`;
  if (account?.profile) return `profile ${account.profile}`;
  if (env.AWS_PROFILE) return `profile ${env.AWS_PROFILE}`;
  return env.AWS_ACCESS_KEY_ID ? 'AWS_ACCESS_KEY_ID' : 'the default credential chain';
};

/**
 * The account guard: the credentials must be for the environment's `accountId`, asked of STS
 * before anything else is sent, so a staging config never acts in the production account.
 */
export const checkAccount = async (sts: STSClient, environment: string, account: AwsAccount | undefined, env: NodeJS.ProcessEnv) => {
  const expected = account?.accountId;
  if (expected === undefined) return;
  const { Account: actual } = await callAws('STS', 'GetCallerIdentity', () => sts.send(new stsSdk.GetCallerIdentityCommand({})));
  if (actual === expected) return;
  throw new UsageError(
    `environment ${environment} expects account ${expected}, but the credentials are for ${actual} (${credentialSource(account, env)})`,
    `run with credentials for ${expected}: check environments.${environment}.aws in the config, and AWS_PROFILE and the AWS_ACCESS_KEY_ID of this shell`,
  );
};
