import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { proveWritable } from '../../src/cli/journal-dir.js';
import { UsageError } from '../../src/rollout/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mr-journal-dir-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const refusal = async (path: string): Promise<string> => {
  const error = await proveWritable(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  return (error as UsageError).message;
};

describe('the journal folder is proven writable before a deploy', () => {
  it('creates missing folders and leaves nothing behind', async () => {
    const journal = join(dir, 'a', 'b', 'deploys');
    await proveWritable(journal);
    expect(await readdir(journal)).toEqual([]);
  });

  it('refuses a file, naming it and what it is', async () => {
    const file = join(dir, 'journal');
    await writeFile(file, '');
    expect(await refusal(file)).toBe(`the journal folder ${file} cannot hold deploy records: ${file} is a regular file, not a folder`);
  });

  it('refuses a folder under a file', async () => {
    const file = join(dir, 'journal');
    await writeFile(file, '');
    expect(await refusal(join(file, 'deploys'))).toContain(`the journal folder ${file}/deploys cannot hold deploy records: `);
  });

  it('refuses a FIFO without blocking on it', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    expect(await refusal(fifo)).toContain(`${fifo} is a FIFO (named pipe), not a folder`);
  });

  // Node's mkdir({ recursive: true }) never returns for a new folder under /proc.
  it.each(['/proc/mr-journal/deploys', '/proc/self', '/sys'])('refuses %s, at once', async (path) => {
    expect(await refusal(path)).toMatch(new RegExp(`^the journal folder ${path} cannot hold deploy records: (ENOENT|EACCES|EPERM)`));
  });
});
