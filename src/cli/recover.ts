import { UsageError } from '../rollout/errors.js';
import { cutoverHeld } from '../rollout/cutover-held.js';
import type { Deps, Outcome } from '../rollout/deploy.js';
import { finishKept } from '../rollout/finish.js';
import { holdDeploy } from '../rollout/lock.js';
import { type Finished, resumeDeploy, rollbackDeploy } from '../rollout/resume.js';
import type { RoleSpec } from '../rollout/spec.js';
import { type Io, reportError } from './io.js';
import { DEFAULT_JOURNAL_DIR, createFileJournal } from './journal-file.js';
import { type DeployFlags, runDeploy } from './run-deploy.js';

export interface RecoverFlags extends Omit<DeployFlags, 'role'> {
  readonly role?: string;
}

export type RecoverAct = (spec: RoleSpec, deployId: string, deps: Deps, signal: AbortSignal) => Promise<Outcome | Finished>;

/** What each command taking a deploy id does to it (`shrink` adds its `--to`). */
export const RECOVER_ACTS = {
  resume: resumeDeploy,
  rollback: rollbackDeploy,
  finish: finishKept,
  cutover: cutoverHeld,
} as const satisfies Record<string, RecoverAct>;

/**
 * `resume`, `rollback`, `finish`, `cutover` and `shrink` of a deploy id: env and role come from the
 * journal unless given (needed when the journal is gone).
 */
export const runRecover = async (
  command: 'resume' | 'rollback' | 'finish' | 'cutover' | 'shrink',
  deployId: string,
  flags: RecoverFlags,
  io: Io,
  act: RecoverAct,
): Promise<number> => {
  let env = flags.env;
  let role = flags.role;
  try {
    const record = await createFileJournal(flags.journalDir ?? DEFAULT_JOURNAL_DIR).load(deployId);
    if (!role) {
      if (!record) {
        throw new UsageError(
          `deploy ${deployId} is not in the journal (${flags.journalDir ?? DEFAULT_JOURNAL_DIR})`,
          `pass --env and --role: the deploy is then found through its instances' tags in AWS`,
        );
      }
      env = record.env;
      role = record.role;
    }
  } catch (error) {
    return reportError(error, io);
  }
  return runDeploy({ ...flags, env, role }, io, async (spec, deps) => {
    const outcome = await holdDeploy(command, deployId, deps, io.signal, () => act(spec, deployId, deps, io.signal));
    if (command === 'rollback' && outcome.kind === 'finished' && outcome.status === 'replaced') {
      throw new UsageError(`deploy ${deployId} already replaced the fleet and terminated the old instances; it cannot be rolled back`);
    }
    return outcome;
  });
};
