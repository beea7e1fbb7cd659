import { newDeployId, replace } from '../rollout/deploy.js';
import type { Io } from './io.js';
import { type DeployFlags, runDeploy } from './run-deploy.js';
import { systemClock } from './wiring.js';

export interface ReplaceFlags extends DeployFlags {
  readonly ami?: string;
  readonly forceUnlock?: string;
  readonly allowStale?: boolean;
  readonly allowEmpty?: boolean;
}

/** `replace` and `plan`: returns the exit code. */
export const runReplace = (flags: ReplaceFlags, io: Io): Promise<number> =>
  runDeploy(flags, io, (resolved, deps) => {
    const spec = flags.ami ? { ...resolved, ami: { id: flags.ami } } : resolved;
    const options = {
      deployId: newDeployId(systemClock.now()),
      dryRun: flags.dryRun ?? false,
      forceUnlock: flags.forceUnlock,
      allowStale: flags.allowStale ?? false,
      allowEmpty: flags.allowEmpty ?? false,
    };
    return replace(spec, options, deps, io.signal);
  });
