import { ApiError } from '../rollout/errors.js';

export type AwsApi = 'EC2' | 'ELBv2' | 'Service Quotas' | 'STS';

const iamPrefix: Record<AwsApi, string> = { EC2: 'ec2', ELBv2: 'elasticloadbalancing', 'Service Quotas': 'servicequotas', STS: 'sts' };

const hintFor = (api: AwsApi, operation: string, code: string, message: string, where?: string): string | undefined => {
  switch (code) {
    case 'UnauthorizedOperation':
    case 'AccessDenied':
    case 'AccessDeniedException':
      return `grant ${iamPrefix[api]}:${operation} to the IAM identity the tool runs as`;
    case 'InsufficientInstanceCapacity':
      return `AWS has no capacity for this instance type in ${where ?? 'this Availability Zone'}: retry later or use another instance type`;
    case 'RequestLimitExceeded':
    case 'Throttling':
    case 'ThrottlingException':
      return 'AWS kept throttling the requests after retries: retry later, or run fewer deploys at once';
    case 'CredentialsProviderError':
      return 'no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY';
  }
  // The SDK raises a plain Error for this one; its message is the only mark.
  if (message === 'Region is missing') return 'no AWS region: set AWS_REGION, a region in the AWS profile, or `region` in the config';
  return undefined;
};

// SDK errors carry the service's code as their name; socket errors are plain Errors with a `code`.
const codeOf = (error: Error): string => {
  const { code } = error as { code?: unknown };
  return error.name === 'Error' && typeof code === 'string' ? code : error.name;
};

/**
 * Runs one AWS call and turns its failure into an ApiError that names the call, the cause and the fix.
 * Only the error's name and message are kept: never the request, whose body and headers may carry
 * user data or signatures. An abort passes through untouched. `where` names the place for capacity hints.
 */
export const callAws = async <T>(api: AwsApi, operation: string, run: () => Promise<T>, where?: string): Promise<T> => {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof Error) || error.name === 'AbortError') throw error;
    const code = codeOf(error);
    const reason = error.message || code;
    throw new ApiError(api, operation, code, reason, hintFor(api, operation, code, error.message, where));
  }
};
