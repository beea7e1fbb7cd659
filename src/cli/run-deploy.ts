import { loadConfig, resolveRole } from '../config/load.js';
import type { Deps, Outcome } from '../rollout/deploy.js';
import type { Plan } from '../rollout/plan.js';
import type { Finished } from '../rollout/resume.js';
import type { Snapshot } from '../rollout/snapshot.js';
import type { RoleSpec } from '../rollout/spec.js';
import { EXIT, type Io, interruptCode, reportError } from './io.js';
import { DEFAULT_JOURNAL_DIR } from './journal-file.js';
import { renderEvent, renderFailure, renderPlan, renderSummary } from './render.js';
import { buildDeps } from './wiring.js';

export interface DeployFlags {
  readonly config: string;
  readonly env?: string;
  readonly role: string;
  readonly journalDir?: string;
}

export type AnyOutcome = Outcome | Finished | { readonly kind: 'planned'; readonly plan: Plan; readonly snapshot: Snapshot };

const stamp = (): string => new Date().toISOString().slice(11, 19);

/** Loads the role, wires the real adapters with a progress renderer, runs `act`, reports the outcome as an exit code. */
export const runDeploy = async (
  flags: DeployFlags,
  io: Io,
  act: (spec: RoleSpec, deps: Deps) => Promise<AnyOutcome>,
): Promise<number> => {
  const log = (text: string) => {
    for (const line of text.split('\n')) io.out(`[${stamp()}] ${line}`);
  };
  try {
    const config = await loadConfig(flags.config);
    const spec = await resolveRole(config, { env: flags.env, role: flags.role });
    const deps = buildDeps(io.env, config.region, flags.journalDir ?? DEFAULT_JOURNAL_DIR, (event) => {
      if (event.type === 'deploy.started') io.onDeploy?.(event.deployId);
      const line = renderEvent(event);
      if (line) log(line);
    });
    return report(await act(spec, deps), spec, io, log);
  } catch (error) {
    return reportError(error, io);
  }
};

const report = (outcome: AnyOutcome, spec: RoleSpec, io: Io, log: (line: string) => void): number => {
  const where = `--config <file> --env ${spec.env} --role ${spec.role}`;
  switch (outcome.kind) {
    case 'planned':
      for (const line of renderPlan(outcome.plan, outcome.snapshot, spec.targetGroups)) log(line);
      return EXIT.ok;
    case 'replaced':
      for (const line of renderSummary(outcome.summary)) log(line);
      return EXIT.ok;
    case 'finished':
      log(`deploy ${outcome.deployId} is already ${outcome.status}; nothing to do`);
      return EXIT.ok;
    case 'rolled-back':
      if (outcome.requested) {
        for (const line of renderFailure(outcome)) log(line);
        return EXIT.ok;
      }
      for (const line of renderFailure(outcome)) io.err(line);
      return outcome.aborted ? interruptCode(io.signal) : EXIT.rolledBack;
    case 'incomplete':
      for (const line of renderFailure(outcome)) io.err(line);
      return EXIT.incomplete;
    case 'interrupted':
      io.err(`interrupted before ${outcome.step}: the new fleet is verified and serving; the old one is not yet fully retired`);
      io.err(`  finish it with: mackerel-replacer resume ${outcome.deployId} ${where}`);
      return interruptCode(io.signal);
  }
};
