import { loadConfig, resolveRole } from '../config/load.js';
import { newDeployId, replace } from '../rollout/deploy.js';
import { EXIT, type Io, interruptCode, reportError } from './io.js';
import { renderEvent, renderFailure, renderPlan, renderSummary } from './render.js';
import { systemClock, buildDeps } from './wiring.js';

export interface ReplaceFlags {
  readonly config: string;
  readonly env?: string;
  readonly role: string;
  readonly ami?: string;
  readonly dryRun?: boolean;
}

const stamp = (): string => new Date().toISOString().slice(11, 19);

/** `replace` and `plan`: returns the exit code. */
export const runReplace = async (flags: ReplaceFlags, io: Io): Promise<number> => {
  const log = (text: string) => {
    for (const line of text.split('\n')) io.out(`[${stamp()}] ${line}`);
  };
  try {
    const config = await loadConfig(flags.config);
    const resolved = await resolveRole(config, { env: flags.env, role: flags.role });
    const spec = flags.ami ? { ...resolved, ami: { id: flags.ami } } : resolved;
    const deps = buildDeps(io.env, config.region, (event) => {
      const line = renderEvent(event);
      if (line) log(line);
    });
    const outcome = await replace(spec, { deployId: newDeployId(systemClock.now()), dryRun: flags.dryRun ?? false }, deps, io.signal);
    switch (outcome.kind) {
      case 'planned':
        for (const line of renderPlan(outcome.plan, outcome.snapshot, spec.targetGroups)) log(line);
        return EXIT.replaced;
      case 'replaced':
        for (const line of renderSummary(outcome.summary)) log(line);
        return EXIT.replaced;
      case 'rolled-back':
        for (const line of renderFailure(outcome)) io.err(line);
        return outcome.aborted ? interruptCode(io.signal) : EXIT.rolledBack;
      case 'incomplete':
        for (const line of renderFailure(outcome)) io.err(line);
        return EXIT.incomplete;
    }
  } catch (error) {
    return reportError(error, io);
  }
};
