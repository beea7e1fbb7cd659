import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileJournal } from '../../src/cli/journal-file.js';
import { UsageError } from '../../src/rollout/errors.js';
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
});
