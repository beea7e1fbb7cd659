// The journal as files on a disk that outlives every process: each record is kept as the JSON text
// a save wrote (so a process never shares objects with the next), replaced whole on every save.
import type { Holder, Journal } from '../../../src/rollout/ports.js';
import type { DeployRecord } from '../../../src/rollout/record.js';
import type { FakeProcess } from './process.js';

export type JournalDisk = Map<string, string>;
/** The deploys' lock files: each taken or freed in one step, as a link or an unlink is. */
export type LockFiles = Map<string, Holder>;

export const createJournal = (disk: JournalDisk, locks: LockFiles, process: FakeProcess): Journal => ({
  lock: async (deployId, holder, keeps) => {
    await process.pass();
    const current = locks.get(deployId);
    if (current && keeps(current)) return current;
    locks.set(deployId, holder);
    return undefined;
  },
  unlock: async (deployId, holder) => {
    await process.pass();
    const current = locks.get(deployId);
    if (current?.runner === holder.runner && current.since === holder.since) locks.delete(deployId);
  },
  holder: async (deployId) => {
    await process.pass();
    return locks.get(deployId);
  },
  save: async (record) => {
    await process.pass();
    disk.set(record.deployId, JSON.stringify(record, null, 2));
  },
  load: async (deployId) => {
    await process.pass();
    const text = disk.get(deployId);
    return text === undefined ? undefined : (JSON.parse(text) as DeployRecord);
  },
  list: async () => {
    await process.pass();
    return [...disk.values()].map((text) => JSON.parse(text) as DeployRecord);
  },
});
