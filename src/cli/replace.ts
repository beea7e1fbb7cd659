import { newDeployId, replace } from '../rollout/deploy.js';
import { reviewedPlan } from '../rollout/plan.js';
import { readPlanFile, writePlanFile } from './plan-file.js';
import type { Io } from './io.js';
import { type DeployFlags, runDeploy } from './run-deploy.js';
import { systemClock } from './wiring.js';

export interface ReplaceFlags extends DeployFlags {
  readonly ami?: string;
  readonly forceUnlock?: string;
  readonly allowStale?: boolean;
  readonly allowEmpty?: boolean;
  /** `plan --out`: where to save the plan for review. */
  readonly out?: string;
  /** `replace --plan`: the reviewed plan to apply exactly. */
  readonly plan?: string;
}

/** `replace` and `plan`: returns the exit code. */
export const runReplace = (flags: ReplaceFlags, io: Io): Promise<number> =>
  runDeploy(flags, io, async (resolved, deps) => {
    const spec = flags.ami ? { ...resolved, ami: { id: flags.ami } } : resolved;
    const options = {
      deployId: newDeployId(systemClock.now()),
      dryRun: flags.dryRun ?? false,
      forceUnlock: flags.forceUnlock,
      allowStale: flags.allowStale ?? false,
      allowEmpty: flags.allowEmpty ?? false,
      ...(flags.plan !== undefined && { reviewed: await readPlanFile(flags.plan) }),
    };
    const outcome = await replace(spec, options, deps, io.signal);
    if (outcome.kind === 'planned' && flags.out !== undefined) {
      await writePlanFile(flags.out, reviewedPlan(spec, outcome.plan, outcome.snapshot));
    }
    return outcome;
  });
