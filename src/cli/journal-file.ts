import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { FileProblem, osReason, readRegularFile } from '../config/read.js';
import { basename, join } from 'node:path';
import * as z from 'zod';
import { DEPLOY_ID } from '../rollout/deploy.js';
import { JournalError, UsageError } from '../rollout/errors.js';
import type { Holder, Journal } from '../rollout/ports.js';
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

const holderSchema = z.object({ runner: z.string(), command: z.string(), since: z.number() });

/** The holder a lock file names; undefined when it is gone, or unreadable (a holder that died writing it). */
const readHolder = async (file: string): Promise<Holder | undefined> => {
  try {
    const parsed = holderSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
};

const sameHolder = (a: Holder | undefined, b: Holder): boolean => a?.runner === b.runner && a.since === b.since;

/**
 * `<id>.lock` beside the record names the command working on the deploy. It appears whole or not at
 * all (a link of a written file, which fails if one is there); a holder that does not keep it is
 * moved aside first, and put back if another process took it over in between.
 */
const fileLock = (dir: string, fileOf: (deployId: string) => string): Pick<Journal, 'lock' | 'unlock' | 'holder'> => {
  const lockOf = (deployId: string) => fileOf(deployId).replace(/\.json$/, '.lock');
  return {
    lock: async (deployId, holder, keeps) => {
      await mkdir(dir, { recursive: true });
      const file = lockOf(deployId);
      const unique = `${process.pid}.${randomUUID().slice(0, 8)}`;
      const mine = `${file}.${unique}.tmp`;
      const aside = `${file}.${unique}.stale`;
      await writeFile(mine, JSON.stringify(holder));
      try {
        for (;;) {
          try {
            await link(mine, file);
            return undefined;
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          }
          const current = await readHolder(file);
          if (current && keeps(current)) return current;
          const moved = await rename(file, aside).then(
            () => true,
            () => false,
          );
          if (!moved) continue;
          const taken = await readHolder(aside);
          if (taken && keeps(taken)) {
            await link(aside, file).catch(() => undefined);
            await unlink(aside);
            return taken;
          }
          await unlink(aside);
        }
      } finally {
        await unlink(mine);
      }
    },
    unlock: async (deployId, holder) => {
      const file = lockOf(deployId);
      if (sameHolder(await readHolder(file), holder)) await unlink(file).catch(() => undefined);
    },
    holder: (deployId) => readHolder(lockOf(deployId)),
  };
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
    ...fileLock(dir, fileOf),
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
