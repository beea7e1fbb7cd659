// Between two waves: the wave just cut over joins the served fleet and the next one starts from
// launch, saved at once so a crash here resumes with the next wave.
import { type Deployment, save, setStatus } from './context.js';
import type { Outcome } from './outcome.js';
import type { DeployRecord } from './record.js';

export const hasNextWave = (record: DeployRecord): boolean => record.waves !== undefined && (record.wave ?? 0) < record.waves.length - 1;

/** How many waves completed before the one in flight; undefined for a deploy in one wave. */
export const wavesDone = (record: DeployRecord): { completed: number; total: number } | undefined =>
  record.waves ? { completed: record.wave ?? 0, total: record.waves.length } : undefined;

/**
 * Moves the record on to the next wave. An interrupt between waves stops here, with the waves
 * done in service: `resume` starts the next wave, `rollback` undoes nothing of them.
 */
export const nextWave = async (run: Deployment): Promise<Outcome | undefined> => {
  const { record } = run;
  const served = record.served ?? {};
  record.served = served;
  for (const [az, ids] of Object.entries(record.launched)) served[az] = [...(served[az] ?? []), ...ids];
  record.launched = {};
  record.registeredGroups = [];
  record.cutoverBegun = false;
  record.wave = (record.wave ?? 0) + 1;
  record.step = 'launch';
  await save(run);
  if (!run.signal.aborted) return undefined;
  await setStatus(run, 'interrupted');
  return { kind: 'interrupted', deployId: record.deployId, step: 'launch' };
};
