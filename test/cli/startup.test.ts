// What the built CLI loads before it answers: a hook that sees every module resolved prints its
// specifier, so a static import of the AWS SDK, undici or zod on the way to `--help` shows up here.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../dist/src/cli/bin.js', import.meta.url));
const MARK = 'resolved: ';

let recorder: string;
beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mr-startup-'));
  await writeFile(
    join(dir, 'hooks.mjs'),
    // Appended synchronously: Node 24 runs the hooks off the main thread, and a stream write from there
    // can be lost when the CLI exits.
    `import { appendFileSync } from 'node:fs';
export const resolve = async (specifier, context, next) => {
  appendFileSync(process.env.MR_RESOLVED_LOG, ${JSON.stringify(MARK)} + specifier + '\\n');
  return next(specifier, context);
};\n`,
  );
  recorder = join(dir, 'record.mjs');
  await writeFile(
    recorder,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
  );
});

/** The bare package names the CLI resolved while running `args`, and its exit code. */
const loadedPackages = async (...args: string[]) => {
  const log = join(await mkdtemp(join(tmpdir(), 'mr-resolved-')), 'resolved.log');
  await writeFile(log, '');
  const code = await new Promise<number>((resolve) => {
    execFile(
      process.execPath,
      ['--import', recorder, BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', MR_RESOLVED_LOG: log } },
      (error) => resolve(error ? Number(error.code) : 0),
    );
  });
  const specifiers = (await readFile(log, 'utf8')).split('\n').flatMap((line) => (line.startsWith(MARK) ? [line.slice(MARK.length)] : []));
  const bare = specifiers.filter((specifier) => !/^(\.|\/|file:|node:)/.test(specifier));
  const packages = new Set(
    bare.map((specifier) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/'),
    ),
  );
  return { code, packages };
};

describe('startup', () => {
  it('runs, as npx runs it, through its shebang with the heap flags that keep the peak RSS down', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mr-exec-argv-'));
    const hook = join(dir, 'exec-argv.mjs');
    await writeFile(
      hook,
      `import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.MR_EXEC_ARGV, JSON.stringify(process.execArgv));\n`,
    );
    const out = join(dir, 'exec-argv.json');
    const code = await new Promise<number>((resolve) => {
      execFile(BIN, ['--help'], { env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: `--import=${hook}`, MR_EXEC_ARGV: out } }, (error) =>
        resolve(error ? Number(error.code) : 0),
      );
    });
    expect(code).toBe(0);
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(['--max-semi-space-size=2', '--heap-growing-percent=100']);
  });

  it.runIf(Number(process.versions.node.split('.')[0]) >= 22)('keeps the compiled code in a cache on Node 22 and later', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'mr-compile-cache-'));
    const code = await new Promise<number>((resolve) => {
      execFile(BIN, ['--help'], { env: { PATH: process.env.PATH ?? '', TMPDIR: tmp } }, (error) => resolve(error ? Number(error.code) : 0));
    });
    expect(code).toBe(0);
    expect(await readdir(tmp)).toEqual(['node-compile-cache']);
  });

  it('--help loads commander alone: no AWS SDK, undici or zod', async () => {
    const { code, packages } = await loadedPackages('--help');
    expect(code).toBe(0);
    expect([...packages]).toEqual(['commander']);
  });

  it('status of an empty journal loads neither the AWS SDK nor undici', async () => {
    const journal = await mkdtemp(join(tmpdir(), 'mr-startup-journal-'));
    const { code, packages } = await loadedPackages('status', '--journal-dir', journal);
    expect(code).toBe(0);
    expect(packages).toContain('commander');
    expect([...packages].filter((name) => name.startsWith('@aws-sdk/') || name === 'undici')).toEqual([]);
  });

  it('takes the AWS SDK through require (src/aws/sdk.ts): no module of src imports a value from it', async () => {
    const src = fileURLToPath(new URL('../../src/', import.meta.url));
    const files = (await readdir(src, { recursive: true })).filter((file) => file.endsWith('.ts'));
    const importing = [];
    for (const file of files) {
      const source = await readFile(join(src, file), 'utf8');
      if (/^import\s+(?!type\b)[^;]*from\s+'@aws-sdk\//m.test(source)) importing.push(file);
    }
    expect(files).toContain(join('aws', 'sdk.ts'));
    expect(importing).toEqual([]);
  });
});
