import { describe, expect, it } from 'vitest';
import { checkEndpoints } from '../../src/cli/endpoints.js';

const refusal = (env: NodeJS.ProcessEnv): string => {
  try {
    checkEndpoints(env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('accepted');
};

describe('endpoint switches', () => {
  it('accept http and https URLs, and unset or empty ones', () => {
    expect(() =>
      checkEndpoints({
        MACKEREL_APIBASE: 'https://api.mackerelio.com',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:4580',
        AWS_ENDPOINT_URL_EC2: '',
      }),
    ).not.toThrow();
  });

  it.each([
    [{ AWS_ENDPOINT_URL: 'ftp://files.example.com/' }, 'AWS_ENDPOINT_URL must be an http or https URL; its scheme is ftp:'],
    [{ AWS_ENDPOINT_URL_EC2: 'file:///etc/passwd' }, 'AWS_ENDPOINT_URL_EC2 must be an http or https URL; its scheme is file:'],
    [{ MACKEREL_APIBASE: 'api.mackerelio.com' }, 'MACKEREL_APIBASE is not a URL'],
  ])('refuse %j', (env, said) => {
    expect(refusal(env)).toBe(said);
  });

  it('refuse credentials in the URL and never repeat them', () => {
    const said = refusal({ MACKEREL_APIBASE: 'https://admin:hunter2-SECRET@api.example.com/' });
    expect(said).toBe('MACKEREL_APIBASE carries credentials (user:password@ before api.example.com)');
    expect(refusal({ AWS_ENDPOINT_URL: 'ftp://admin:hunter2-SECRET@host/' })).not.toContain('hunter2');
  });
});
