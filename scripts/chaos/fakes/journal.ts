// The journal as files on a disk that outlives every process: each record is kept as the JSON text
// a save wrote (so a process never shares objects with the next), replaced whole on every save.
import type { Journal } from '../../../src/rollout/ports.js';
import type { DeployRecord } from '../../../src/rollout/record.js';
import type { FakeProcess } from './process.js';

export type JournalDisk = Map<string, string>;

export const createJournal = (disk: JournalDisk, process: FakeProcess): Journal => ({
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
