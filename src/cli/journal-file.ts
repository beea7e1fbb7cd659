import { mkdir, open, readFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../rollout/errors.js';
import type { Journal } from '../rollout/ports.js';
import type { DeployRecord } from '../rollout/record.js';

export const DEFAULT_JOURNAL_DIR = '.mackerel-replacer/deploys';

const ID = /^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$/;

/** A JSON file per deploy, replaced atomically: write a temp file, fsync it, rename, fsync the folder. */
export const createFileJournal = (dir: string): Journal => {
  const fileOf = (deployId: string) => {
    if (!ID.test(deployId)) throw new UsageError(`"${deployId}" is not a deploy id (they look like 20261123-153600-3fa9)`);
    return join(dir, `${deployId}.json`);
  };
  const read = async (file: string): Promise<DeployRecord | undefined> => {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as DeployRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new UsageError(`cannot read the deploy record ${file}: ${(error as Error).message}`);
    }
  };
  // Saves are chained: two AZs finishing their launch at once must not interleave their writes.
  let queue: Promise<unknown> = Promise.resolve();
  const write = async (record: DeployRecord) => {
    await mkdir(dir, { recursive: true });
    const file = fileOf(record.deployId);
    const temp = `${file}.${process.pid}.tmp`;
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
