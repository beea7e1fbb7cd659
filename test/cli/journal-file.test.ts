import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createFileJournal } from '../../src/cli/journal-file.js';
import { JournalError, UsageError } from '../../src/rollout/errors.js';
import type { DeployRecord } from '../../src/rollout/record.js';
import { image, member } from '../rollout/fixtures.js';

const record = (deployId: string): DeployRecord => ({
  version: 1,
  deployId,
  env: 'staging',
  role: 'web',
  service: 'reactio-staging',
  runner: 'ci:1',
  startedAt: 1,
  updatedAt: 2,
  status: 'replaced',
  step: 'done',
  image,
  snapshot: [member('i-1', 'ap-northeast-1a')],
  launches: [{ az: 'ap-northeast-1a', subnetId: 'subnet-a', count: 1, clientToken: `${deployId}/ap-northeast-1a/0` }],
  launched: { 'ap-northeast-1a': ['i-2'] },
  registeredGroups: [],
  cutoverBegun: true,
  terminated: ['i-1'],
  leftovers: [],
});

const A = '20261129-100000-aaaa';
const B = '20261129-110000-bbbb';

const journalWith = async (name: string, content: string) => {
  const dir = await mkdtemp(join(tmpdir(), 'journal-'));
  await writeFile(join(dir, `${name}.json`), content);
  return { journal: createFileJournal(dir), file: join(dir, `${name}.json`) };
};

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as UsageError,
  );

describe('the file journal reads records back as evidence', () => {
  it('round-trips a record it wrote', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'journal-'));
    const journal = createFileJournal(dir);
    await journal.save(record(A));
    await expect(journal.load(A)).resolves.toEqual(record(A));
    expect(JSON.parse(await readFile(join(dir, `${A}.json`), 'utf8')).deployId).toBe(A);
  });

  it('round-trips what a deploy shipped (its variables, the deploy it promoted), and still reads records written without them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'journal-'));
    const journal = createFileJournal(dir);
    const shipped = { ...record(A), vars: { artifact: 's3://b/app-1.tar.gz' }, promotedFrom: { env: 'staging', deployId: B } };
    await journal.save(shipped);
    await expect(journal.load(A)).resolves.toEqual(shipped);
    await journal.save(record(B));
    await expect(journal.load(B)).resolves.toEqual(record(B));
  });

  it('round-trips the chunks a deploy launched and the bucket it paced to: resume and cutover never send them again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'journal-'));
    const journal = createFileJournal(dir);
    const launched = {
      ...record(A),
      launchBucket: { burst: 1000, refillPerSecond: 2 },
      launchedChunks: { [`${A}/ap-northeast-1a/0`]: { ids: ['i-0aaa'], at: 1_700_000_000_000 } },
    };
    await journal.save(launched);
    await expect(journal.load(A)).resolves.toEqual(launched);
  });

  it.each<[string, string, string]>([
    ['an unknown version', JSON.stringify({ ...record(A), version: 99 }), 'expected version 1'],
    ['null', 'null', 'is damaged'],
    ['an empty object', '{}', 'is damaged'],
    ['a truncated file', JSON.stringify(record(A)).slice(0, 40), 'not JSON'],
    ['an unknown status', JSON.stringify({ ...record(A), status: 'exploded' }), 'status'],
    ["another deploy's record", JSON.stringify(record(B)), `it holds deploy ${B}, not ${A}`],
  ])('refuses %s, naming the file', async (_, content, problem) => {
    const { journal, file } = await journalWith(A, content);
    for (const read of [() => journal.load(A), () => journal.list()]) {
      const error = await refusal(read());
      expect(error).toBeInstanceOf(UsageError);
      expect(error!.message).toContain(`the deploy record ${file} is damaged`);
      expect(error!.message).toContain(problem);
    }
  });

  // Every deploy reads the journal folder (the lock); a Jenkins workspace keeps every deploy it ran.
  it('lists 40 records without setting aside the 64 MiB a record may hold for each (peak virtual memory)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'journal-'));
    const journal = createFileJournal(dir);
    const ids = Array.from({ length: 40 }, (_, i) => `20261129-10${String(i).padStart(4, '0')}-aaaa`);
    for (const id of ids) await journal.save(record(id));
    const built = fileURLToPath(new URL('../../dist/src/cli/journal-file.js', import.meta.url));
    const script = `const { createFileJournal } = await import(${JSON.stringify(built)});
      const journal = createFileJournal(${JSON.stringify(dir)});
      const { readFileSync } = await import('node:fs');
      const vmPeakKb = () => Number(/VmPeak:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
      await journal.load(${JSON.stringify(ids[0])});
      const before = vmPeakKb();
      const records = await journal.list();
      console.log(JSON.stringify({ listed: records.length, grewKb: vmPeakKb() - before }));`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
    const { listed, grewKb } = JSON.parse(out) as { listed: number; grewKb: number };
    expect(listed).toBe(40);
    // Node and V8 reserve address space of their own as the heap grows: 12 MB here on Node 20, 46 MB on
    // Node 24 (160 MB without the warm-up read); the 40 reads of 64 MiB took 2.6 GB.
    expect(grewKb).toBeLessThan(256 * 1024);
  });
});

describe('a record the journal cannot write', () => {
  // Faults at the file system, as root meets them too: the record's name taken by a folder fails the
  // rename after the temporary file was written, and a journal folder replaced by a file fails at once.
  it('fails with a JournalError naming the record and the OS error, and leaves no temporary file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'journal-'));
    const file = join(dir, `${A}.json`);
    await mkdir(join(file, 'taken'), { recursive: true });
    const error = await refusal(createFileJournal(dir).save(record(A)));
    expect(error).toBeInstanceOf(JournalError);
    expect(error!.message).toMatch(new RegExp(`^cannot write the deploy record ${file}: (EISDIR|ENOTEMPTY|EEXIST)`));
    expect((await readdir(dir)).sort()).toEqual([`${A}.json`]);
  });

  it('fails with a JournalError when the journal folder became a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'journal-'));
    await rm(dir, { recursive: true });
    await writeFile(dir, '');
    const error = await refusal(createFileJournal(dir).save(record(A)));
    expect(error).toBeInstanceOf(JournalError);
    expect(error!.message).toMatch(new RegExp(`^cannot write the deploy record ${join(dir, `${A}.json`)}: E[A-Z]+`));
    await rm(dir);
  });
});

describe("the file journal's deploy lock", () => {
  const holder = (runner: string) => ({ runner, command: 'rollback', since: 1 });
  const keepsUnless = (dead: string) => (current: { runner: string }) => current.runner !== dead;

  it('goes to one of two commands taking it at once; the other learns who holds it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'journal-'));
    const [a, b] = [createFileJournal(dir), createFileJournal(dir)];
    const results = await Promise.all([a.lock(A, holder('h:1'), () => true), b.lock(A, holder('h:2'), () => true)]);
    expect(results.filter((other) => other === undefined)).toHaveLength(1);
    const winner = (await a.holder(A))!;
    expect(results.find((other) => other !== undefined)).toEqual(winner);
    await b.unlock(A, holder(winner.runner === 'h:1' ? 'h:2' : 'h:1'));
    await expect(a.holder(A)).resolves.toEqual(winner);
    await a.unlock(A, winner);
    await expect(a.holder(A)).resolves.toBeUndefined();
  });

  it('is taken over from a dead holder by exactly one of two commands at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'journal-'));
    const journal = createFileJournal(dir);
    await journal.lock(A, holder('h:dead'), () => true);
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all(
        ['h:1', 'h:2', 'h:3'].map((runner) => createFileJournal(dir).lock(A, holder(runner), keepsUnless('h:dead'))),
      );
      expect(results.filter((other) => other === undefined)).toHaveLength(1);
      const winner = (await journal.holder(A))!;
      expect(winner.runner).not.toBe('h:dead');
      await journal.unlock(A, winner);
      await journal.lock(A, holder('h:dead'), () => true);
    }
    expect(await readdir(dir)).toEqual([`${A}.lock`]);
  });
});
