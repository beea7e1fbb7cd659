import { randomBytes } from 'node:crypto';
import { mkdir, open, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileKind, osReason } from '../config/read.js';
import { UsageError } from '../rollout/errors.js';

export const DEFAULT_JOURNAL_DIR = '.mackerel-replacer/deploys';

/**
 * Creates the journal folder and proves a deploy record can be kept there (a probe file written,
 * fsynced and removed), so a deploy never changes anything it could not then record.
 */
export const proveWritable = async (dir: string): Promise<void> => {
  try {
    await makeFolder(resolve(dir));
    const probe = join(dir, `.probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    const handle = await open(probe, 'wx');
    try {
      await handle.writeFile('probe\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await unlink(probe);
  } catch (error) {
    throw new UsageError(
      `the journal folder ${dir} cannot hold deploy records: ${osReason(error)}`,
      'pass --journal-dir (or set MACKEREL_REPLACER_JOURNAL_DIR to) a folder this user can write',
    );
  }
};

// Not mkdir's `recursive`: Node's retries it forever where the kernel answers ENOENT for a parent that exists (/proc).
const makeFolder = async (dir: string): Promise<void> => {
  const stats = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (stats?.isDirectory()) return;
  if (stats) throw new Error(`${dir} is ${fileKind(stats)}, not a folder`);
  if (dirname(dir) !== dir) await makeFolder(dirname(dir));
  await mkdir(dir);
};
