import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { FileProblem, osReason, readRegularFile } from '../config/read.js';
import { basename, join } from 'node:path';
import * as z from 'zod';
import { DEPLOY_ID } from '../rollout/deploy.js';
import { JournalError, UsageError } from '../rollout/errors.js';
import type { Journal } from '../rollout/ports.js';
import type { DeployRecord } from '../rollout/record.js';
import { recordSchema } from './record-schema.js';

export { DEFAULT_JOURNAL_DIR } from './journal-dir.js';

/** Far above a record of 10,000 instances (about 2 MB); a FIFO or /dev/zero is refused, never read. */
const RECORD_MAX_BYTES = 64 * 1024 * 1024;

const damaged = (file: string, problem: string) =>
  new UsageError(
    `the deploy record ${file} is damaged: ${problem}; nothing was changed`,
    'restore the file, or move it out of the journal folder: resume and rollback then rebuild the deploy from its tags in AWS (pass --env and --role)',
  );

/** Checks a record's shape, its version and that it is the deploy its file is named after. */
const parseRecord = (file: string, text: string): DeployRecord => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw damaged(file, `not JSON (${(error as Error).message})`);
  }
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success) throw damaged(file, z.prettifyError(parsed.error).replaceAll('\n', '; '));
  const named = basename(file, '.json');
  if (parsed.data.deployId !== named) throw damaged(file, `it holds deploy ${parsed.data.deployId}, not ${named}`);
  return parsed.data as DeployRecord;
};

/** A JSON file per deploy, replaced atomically: write a temp file, fsync it, rename, fsync the folder. */
export const createFileJournal = (dir: string): Journal => {
  const fileOf = (deployId: string) => {
    if (!DEPLOY_ID.test(deployId)) throw new UsageError(`"${deployId}" is not a deploy id (they look like 20261123-153600-3fa9)`);
    return join(dir, `${deployId}.json`);
  };
  const read = async (file: string): Promise<DeployRecord | undefined> => {
    let text: string;
    try {
      text = await readRegularFile(file, RECORD_MAX_BYTES, 'a deploy record is far smaller');
    } catch (error) {
      if (error instanceof FileProblem && error.code === 'ENOENT') return undefined;
      throw new UsageError(`cannot read the deploy record ${file}: ${(error as Error).message}`);
    }
    return parseRecord(file, text);
  };
  // Saves are chained: two AZs finishing their launch at once must not interleave their writes.
  let queue: Promise<unknown> = Promise.resolve();
  const write = async (record: DeployRecord) => {
    const file = fileOf(record.deployId);
    const temp = `${file}.${process.pid}.tmp`;
    try {
      await mkdir(dir, { recursive: true });
      const handle = await open(temp, 'w');
      try {
        await handle.writeFile(`${JSON.stringify(record, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
      const folder = await open(dir, 'r');
      try {
        await folder.sync();
      } finally {
        await folder.close();
      }
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw new JournalError(`cannot write the deploy record ${file}: ${osReason(error)}`);
    }
  };
  return {
    save: (record) => {
      const saved = queue.then(() => write(record));
      queue = saved.catch(() => undefined);
      return saved;
    },
    load: (deployId) => read(fileOf(deployId)),
    list: async () => {
      const names = await readdir(dir).catch(() => []);
      const records = await Promise.all(names.filter((name) => name.endsWith('.json')).map((name) => read(join(dir, name))));
      return records.filter((record): record is DeployRecord => record !== undefined).sort((a, b) => a.startedAt - b.startedAt);
    },
  };
};
