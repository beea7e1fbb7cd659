import { loadConfig, resolveRole } from '../config/load.js';
import { planRecovery } from '../rollout/unfinished.js';
import { pasteableIo } from './commands.js';
import { EXIT, type Io, reportError } from './io.js';
import { DEFAULT_JOURNAL_DIR } from './journal-file.js';
import { RECOVER_ACTS, runRecover } from './recover.js';
import { jsonOutcome } from './render-json.js';
import { buildDeps, targetOf } from './wiring.js';

export interface RecoverRoleFlags {
  readonly config: string;
  readonly env?: string;
  readonly role: string;
  readonly journalDir?: string;
  readonly json?: boolean;
  /** `--keep-held`: leave a held deploy as it is instead of rolling it back. */
  readonly keepHeld?: boolean;
}

/**
 * `recover --env E --role R`: finds the role's unfinished deploy and rolls it back or resumes it
 * through the same path as `rollback <id>` and `resume <id>`; a kept deploy (or, with --keep-held,
 * a held one) is left as it is. Nothing unfinished: says so, exit 0.
 */
export const runRecoverRole = async (flags: RecoverRoleFlags, io: Io): Promise<number> => {
  let chosen: { readonly deployId: string; readonly act: 'rollback' | 'resume'; readonly env: string };
  try {
    const config = await loadConfig(flags.config);
    const spec = await resolveRole(config, { env: flags.env, role: flags.role });
    const journalDir = flags.journalDir ?? DEFAULT_JOURNAL_DIR;
    const say = pasteableIo(io, { config: flags.config, env: spec.env, role: spec.role, journalDir });
    const tell = flags.json ? say.err : say.out;
    const deps = buildDeps(io.env, targetOf(config, spec.env), journalDir, () => {});
    const { choices, act } = await planRecovery(spec, deps, { signal: io.signal }, { keepHeld: flags.keepHeld === true });
    for (const { record, recovery } of choices) tell(`recover: deploy ${record.deployId} of ${spec.env}/${spec.role} is ${recovery.why}`);
    if (!act) {
      if (choices.length === 0) tell(`recover: no deploy of ${spec.env}/${spec.role} is unfinished; nothing to do`);
      const left = choices.map(({ record, recovery }) => ({ deployId: record.deployId, status: record.status, why: recovery.why }));
      if (flags.json) io.out(jsonOutcome({ kind: 'nothing-to-recover', left }, EXIT.ok, Date.now()));
      return EXIT.ok;
    }
    chosen = { ...act, env: spec.env };
  } catch (error) {
    return reportError(error, io);
  }
  const { deployId, act, env } = chosen;
  return runRecover(act, deployId, { ...flags, env }, io, RECOVER_ACTS[act]);
};
