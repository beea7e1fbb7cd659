// Flags are checked before anything runs: each refusal exits 2 and names the flag.
import { describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { configYaml } from '../integration/harness.js';

const run = async (...argv: string[]) => {
  const err: string[] = [];
  const code = await main(argv, { out: () => {}, err: (line) => err.push(line), env: {}, signal: new AbortController().signal });
  return { code, stderr: err.join('\n') };
};

describe('a single-valued flag given twice is an error, not "the last one wins"', () => {
  it.each([
    ['--role', ['replace', '--role', 'web', '--role', 'worker']],
    ['--env', ['plan', '--role', 'web', '--env', 'staging', '--env', 'production']],
    ['--config', ['replace', '--config', 'a.yml', '--role', 'web', '--config=b.yml']],
    ['--ami', ['replace', '--role', 'web', '--ami', 'ami-0123abcd', '--ami', 'ami-0123abce']],
    ['--journal-dir', ['resume', '20261123-153600-3fa9', '--journal-dir', 'a', '--journal-dir', 'b']],
    ['--force-unlock', ['replace', '--role', 'web', '--force-unlock', 'x', '--force-unlock', 'y']],
    ['--role', ['rollback', '20261123-153600-3fa9', '--role', 'web', '--role', 'worker']],
    ['--port', ['sandbox', '--port', '1', '--port', '2']],
  ])('%s in %j', async (flag, argv) => {
    const { code, stderr } = await run(...argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      new RegExp(`^error: ${flag} is given twice \\(".+", then ".+"\\)\nhint: give ${flag} once\nnothing was changed$`),
    );
  });
});

describe('--batch and --canary are checked here', () => {
  it.each(['0', '0%', '101%', '25 %', '-1', 'a'])('--batch %j is refused', async (batch) => {
    const { code, stderr } = await run('replace', '--role', 'web', '--batch', batch);
    expect(code).toBe(2);
    expect(stderr).toContain(`error: --batch must be a number of instances per wave like 5, or a share of the new fleet like "25%"`);
  });

  it.each(['0', '1.5', 'x'])('--canary %j is refused', async (canary) => {
    const { code, stderr } = await run('replace', '--role', 'web', '--canary', canary);
    expect(code).toBe(2);
    expect(stderr).toContain(`error: --canary must be a positive number of instances, got ${JSON.stringify(canary)}`);
  });
});

describe('--ami is checked here, not by EC2', () => {
  it.each(['ami-0123abcd', 'ami-0123456789abcdef0'])('accepts %s', async (ami) => {
    // It gets as far as the config file, which does not exist.
    const { stderr } = await run('plan', '--config', '/nonexistent.yml', '--role', 'web', '--ami', ami);
    expect(stderr).toContain('/nonexistent.yml: cannot read');
  });

  it.each(['ami-XYZ', 'ami-0123abc', 'ami-0123ABCD', 'ami-0123456789abcdef', '0123abcd', 'ami-0123abcd '])('refuses %j', async (ami) => {
    const { code, stderr } = await run('replace', '--role', 'web', '--ami', ami);
    expect(code).toBe(2);
    expect(stderr).toContain(`error: --ami must be an AMI id like "ami-0123abcd" (8 or 17 hex digits), got ${JSON.stringify(ami)}`);
  });

  it('an empty --ami is an error, not "the newest image"', async () => {
    const { code, stderr } = await run('replace', '--role', 'web', '--ami', '');
    expect(code).toBe(2);
    expect(stderr).toContain('error: --ami is empty');
  });
});

describe('sandbox --port', () => {
  it.each(['65536', '-1', '1.5', 'http', '0x10', ''])('refuses %j', async (port) => {
    const { code, stderr } = await run('sandbox', '--port', port);
    expect(code).toBe(2);
    expect(stderr).toMatch(/error: --port (must be an integer from 0 to 65535, got|is empty)/);
  });

  it('in use is refused as such (exit 2), not reported as a bug', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    const dir = await mkdtemp(join(tmpdir(), 'port-'));
    await writeFile(join(dir, 'replacer.yml'), configYaml());
    await mkdir(join(dir, 'user_data'));
    await writeFile(join(dir, 'user_data', 'boot.sh'), '#!/bin/sh\n');
    try {
      const { code, stderr } = await run('sandbox', '--config', join(dir, 'replacer.yml'), '--port', String(port));
      expect(stderr).toMatch(new RegExp(`error: port ${port} on 127.0.0.1 is already in use`));
      expect(stderr).not.toMatch(/a bug/);
      expect(code).toBe(2);
    } finally {
      taken.close();
    }
  });
});

describe('very long values', () => {
  it('are shortened in messages', async () => {
    const blob = `ami-${'f'.repeat(5000)}`;
    const { code, stderr } = await run('replace', '--role', 'web', '--ami', blob);
    expect(code).toBe(2);
    expect(stderr).toContain(`got "${blob.slice(0, 79)}…(5006 characters)`);
    expect(stderr.length).toBeLessThan(600);
  });

  it('are shortened in commander messages too', async () => {
    const { code, stderr } = await run('replace', '--role', 'web', `--${'x'.repeat(1000)}`);
    expect(code).toBe(2);
    expect(stderr).toContain('(1004 characters)');
    expect(stderr.length).toBeLessThan(400);
  });
});

describe('--var NAME=VALUE', () => {
  it.each(['artifact', '=x', '1x=y', 'app-url=x', ''])('refuses %j', async (given) => {
    const { code, stderr } = await run('replace', '--role', 'web', '--var', given);
    expect(code).toBe(2);
    expect(stderr).toContain('error: --var must be NAME=VALUE');
  });

  it('refuses the same name twice, not "the last one wins"', async () => {
    const { code, stderr } = await run('plan', '--role', 'web', '--var', 'a=1', '--var', 'b=2', '--var', 'a=3');
    expect(code).toBe(2);
    expect(stderr).toContain('error: --var a is given twice ("1", then "3")');
  });

  it('refuses a value longer than an EC2 tag holds', async () => {
    const { code, stderr } = await run('replace', '--role', 'web', '--var', `artifact=s3://b/${'x'.repeat(250)}`);
    expect(code).toBe(2);
    expect(stderr).toContain('error: --var artifact is 257 characters long; each value is recorded in an EC2 tag, which holds at most 256');
  });

  it('takes everything after the first "=" as the value, an empty one included', async () => {
    const { stderr } = await run('plan', '--config', '/nonexistent.yml', '--role', 'web', '--var', 'q=a=b', '--var', 'empty=');
    expect(stderr).toContain('/nonexistent.yml: cannot read');
  });
});

describe('--promote-from', () => {
  it.each([
    [['--ami', 'ami-0123abcd'], 'error: --promote-from cannot be combined with --ami'],
    [['--var', 'artifact=x'], 'error: --promote-from cannot be combined with --var (artifact)'],
  ])('with %j is an error, before the config is read', async (extra, message) => {
    const { code, stderr } = await run(
      'replace',
      '--config',
      '/nonexistent.yml',
      '--env',
      'production',
      '--role',
      'web',
      '--promote-from',
      'staging',
      ...extra,
    );
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).not.toContain('/nonexistent.yml');
  });
});
