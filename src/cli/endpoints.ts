import { UsageError } from '../rollout/errors.js';

/** The switches that point the tool at another Mackerel or AWS endpoint (the sandbox's among them). */
const ENDPOINTS = ['MACKEREL_APIBASE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_EC2', 'AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2'];

/**
 * Refuses an endpoint that is not an http(s) URL, or that carries credentials: the tool sends its
 * own there. A refused value is never printed, as it may hold a password.
 */
export const checkEndpoints = (env: NodeJS.ProcessEnv): void => {
  for (const name of ENDPOINTS) {
    const value = env[name];
    if (!value) continue;
    const hint = `set ${name} to an http(s) URL like https://example.com, or unset it`;
    if (!URL.canParse(value)) throw new UsageError(`${name} is not a URL`, hint);
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`${name} must be an http or https URL; its scheme is ${url.protocol}`, hint);
    }
    if (url.username || url.password) {
      throw new UsageError(
        `${name} carries credentials (user:password@ before ${url.host})`,
        'remove them: the Mackerel API key comes from MACKEREL_APIKEY, AWS credentials from the AWS variables or profiles',
      );
    }
  }
};
