import { constants, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

/** Why a file could not be read; the message names the file and says what was wrong. */
export class FileProblem extends Error {
  override readonly name = 'FileProblem';
  constructor(
    message: string,
    /** The OS error code (`ENOENT`, …), when the OS refused. */
    readonly code?: string,
  ) {
    super(message);
  }
}

const KINDS: readonly [(stats: Stats) => boolean, string][] = [
  [(stats) => stats.isFile(), 'a regular file'],
  [(stats) => stats.isDirectory(), 'a directory'],
  [(stats) => stats.isFIFO(), 'a FIFO (named pipe)'],
  [(stats) => stats.isCharacterDevice(), 'a character device'],
  [(stats) => stats.isBlockDevice(), 'a block device'],
  [(stats) => stats.isSocket(), 'a socket'],
];

/** "a directory", "a FIFO (named pipe)", …: what a path is, for messages. */
export const fileKind = (stats: Stats): string => KINDS.find(([is]) => is(stats))?.[1] ?? 'an unknown kind of file';

/**
 * Reads a regular file of at most `maxBytes` as UTF-8. O_NONBLOCK keeps a FIFO from blocking the
 * open, and the size is checked on the opened file before a byte is read, so neither a pipe nor
 * /dev/zero nor a huge file can hang the tool or fill its memory.
 */
export const readRegularFile = async (target: string, maxBytes: number, limit: string): Promise<string> => {
  try {
    const handle = await open(target, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      return await readBounded(handle, target, maxBytes, limit);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof FileProblem) throw error;
    throw new FileProblem(`cannot read ${target}: ${osReason(error)}`, (error as NodeJS.ErrnoException).code);
  }
};

const readBounded = async (handle: FileHandle, target: string, maxBytes: number, limit: string): Promise<string> => {
  const stats = await handle.stat();
  if (!stats.isFile()) throw new FileProblem(`${target} is ${fileKind(stats)}; expected a regular file`);
  if (stats.size > maxBytes) throw new FileProblem(`${target} is ${stats.size} bytes; ${limit}`);
  // Sized by the stat, not by the limit: every deploy reads the whole journal (the lock), and each
  // record must not cost `maxBytes`. It grows (to at most one byte past the limit) if the file grew
  // since the stat.
  let buffer = Buffer.alloc(stats.size + 1);
  let length = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
    if (bytesRead === 0) break;
    length += bytesRead;
    if (length < buffer.length) continue;
    if (length > maxBytes) throw new FileProblem(`${target} is more than ${maxBytes} bytes; ${limit}`);
    buffer = Buffer.concat([buffer], Math.min(2 * buffer.length, maxBytes + 1));
  }
  return buffer.subarray(0, length).toString('utf8');
};

// Node's fs messages end in ", open '<path>'"; the path is already in our message.
export const osReason = (error: unknown): string => String((error as Error).message).replace(/, \w+ '.*'$/s, '');
