import { describe, expect, it } from 'vitest';
import { reportError } from '../../src/cli/io.js';

const KEY = 'sk-SECRET-bug-5a1c';
const TOKEN = 'aws-SECRET-bug-token-e2f0';

const report = (error: unknown, env: NodeJS.ProcessEnv) => {
  const err: string[] = [];
  const code = reportError(error, { out: () => {}, err: (line) => err.push(line), env, signal: new AbortController().signal });
  return { code, stderr: err.join('\n') };
};

describe('the last-resort error printer', () => {
  it('masks the secrets of the environment in a bug, stack included', () => {
    const bug = new TypeError(`cannot read x of undefined (headers: x-api-key=${KEY}, x-amz-security-token=${TOKEN})`);
    const { code, stderr } = report(bug, { MACKEREL_APIKEY: KEY, AWS_SESSION_TOKEN: TOKEN, AWS_SECRET_ACCESS_KEY: 'unused-secret' });
    expect(code).toBe(1);
    expect(stderr).toContain('internal error (a bug, please report it): TypeError: cannot read x of undefined');
    expect(stderr).toContain('x-api-key=[redacted], x-amz-security-token=[redacted]');
    expect(stderr).toMatch(/\n\s+at /);
    expect(stderr).not.toContain(KEY);
    expect(stderr).not.toContain(TOKEN);
  });

  it('masks them in a thrown non-Error too', () => {
    const { stderr } = report(`failed with ${KEY}`, { MACKEREL_APIKEY: KEY });
    expect(stderr).toBe('internal error (a bug, please report it): failed with [redacted]');
  });
});
