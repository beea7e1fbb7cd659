import { type Config, resolveRole } from '../config/load.js';
import { newDeployId, replace } from '../rollout/deploy.js';
import { UsageError } from '../rollout/errors.js';
import { finishAll, keptToFinish } from '../rollout/finish.js';
import type { ReviewedPlan } from '../rollout/plan.js';
import type { Batch } from '../rollout/waves.js';
import type { KeepPolicy } from '../rollout/record.js';
import type { PromotionSource } from '../rollout/promotion.js';
import { readPlanFile, writePlanFile } from './plan-file.js';
import { type Io, reportError } from './io.js';
import { type DeployFlags, runDeploy } from './run-deploy.js';
import { awsPorts, systemClock, targetOf } from './wiring.js';

export interface ReplaceFlags extends DeployFlags {
  readonly ami?: string;
  /** `--var name=value`, repeatable. */
  readonly var?: Readonly<Record<string, string>>;
  /** `--promote-from <env>`: ship what that environment's last successful deploy of the role shipped. */
  readonly promoteFrom?: string;
  readonly forceUnlock?: string;
  readonly allowStale?: boolean;
  readonly allowEmpty?: boolean;
  /** `plan --out`: where to save the plan for review. */
  readonly out?: string;
  /** `replace --plan`: the reviewed plan to apply exactly. */
  readonly plan?: string;
  /** `--batch`: over the config's `batch`. */
  readonly batch?: Batch;
  readonly canary?: number;
  /** `--yes`: act without asking, even on a terminal. */
  readonly yes?: boolean;
  /** `--keep-old`: the rollback window, over the role's `keepOld:`. */
  readonly keepOld?: KeepPolicy;
  /** `--hold`: stop once the new fleet is verified. */
  readonly hold?: boolean;
  /** `--finish-previous`: finish an earlier deploy of the role that keeps its old fleet first. */
  readonly finishPrevious?: boolean;
}

/** A promotion ships the promoted image and values, and nothing given beside them. */
const checkPromotionFlags = (flags: ReplaceFlags): void => {
  if (flags.promoteFrom === undefined) return;
  if (flags.ami !== undefined) {
    throw new UsageError(
      `--promote-from cannot be combined with --ami: a promotion launches the image ${flags.promoteFrom} runs`,
      'leave --ami out, or leave --promote-from out to launch that AMI',
    );
  }
  const names = Object.keys(flags.var ?? {});
  if (names.length > 0) {
    throw new UsageError(
      `--promote-from cannot be combined with --var (${names.join(', ')}): a promotion ships the variable values ${flags.promoteFrom} ran with`,
      "leave --var out; a value that differs per environment belongs in the role's vars: in the config, which a promotion keeps",
    );
  }
};

/** The promoted environment's EC2 with its own credentials (its account guarded), and both accounts when they differ. */
const sourceOf = (config: Config, from: string, to: string, env: NodeJS.ProcessEnv): PromotionSource => {
  const source = config.environments[from]!.aws?.accountId;
  const target = config.environments[to]!.aws?.accountId;
  return {
    fleet: awsPorts(env, targetOf(config, from)).fleet,
    ...(source !== undefined && target !== undefined && source !== target && { accounts: { source, target } }),
    shareImage: config.environments[to]!.promotion?.shareImage ?? false,
  };
};

/** A manual `replace` on a terminal asks before acting; `--yes`, a dry run or no terminal (Jenkins) never asks. */
export const mustAsk = (flags: Pick<ReplaceFlags, 'dryRun' | 'yes'>, io: Pick<Io, 'interactive'>): boolean =>
  io.interactive === true && flags.dryRun !== true && flags.yes !== true;

/** `replace` and `plan`: returns the exit code. */
export const runReplace = (flags: ReplaceFlags, io: Io): Promise<number> => {
  try {
    checkPromotionFlags(flags);
  } catch (error) {
    return Promise.resolve(reportError(error, io));
  }
  return runDeploy(flags, io, async (resolved, deps, config, prompt) => {
    const spec = {
      ...resolved,
      ...(flags.ami && { ami: { id: flags.ami } }),
      ...(flags.batch && { batch: flags.batch }),
      ...(flags.canary !== undefined && { canary: flags.canary }),
    };
    if (flags.promoteFrom !== undefined) {
      if (flags.promoteFrom === spec.env) throw new UsageError(`--promote-from ${flags.promoteFrom} names the environment being deployed`);
      // The source must be an environment of the config with this role: a typo is named, not searched for in AWS.
      await resolveRole(config, { env: flags.promoteFrom, role: spec.role });
    }
    const promotionSource = flags.promoteFrom === undefined ? undefined : sourceOf(config, flags.promoteFrom, spec.env, io.env);
    const options = {
      deployId: newDeployId(systemClock.now()),
      dryRun: flags.dryRun ?? false,
      forceUnlock: flags.forceUnlock,
      allowStale: flags.allowStale ?? false,
      allowEmpty: flags.allowEmpty ?? false,
      vars: flags.var ?? {},
      ...(flags.promoteFrom !== undefined && { promoteFrom: flags.promoteFrom, promotionSource }),
      ...(flags.plan !== undefined && { reviewed: await readPlanFile(flags.plan) }),
      ...(flags.keepOld && { keepOld: flags.keepOld }),
      ...(flags.hold && { hold: true }),
      finishing: await keptToFinish(spec, deps, { signal: io.signal }, { finishPrevious: flags.finishPrevious === true }),
    };
    // Deploys that keep an old fleet are finished only once this one goes ahead; a plan leaves them be.
    const goAhead = async (reviewed?: ReviewedPlan) =>
      (await finishAll(spec, options.finishing, deps, io.signal)) ??
      replace(spec, { ...options, ...(reviewed && { reviewed }) }, deps, io.signal);
    if (options.dryRun) {
      const outcome = await replace(spec, options, deps, io.signal);
      if (outcome.kind === 'planned' && flags.out !== undefined) {
        await writePlanFile(flags.out, outcome.reviewed);
      }
      return outcome;
    }
    if (mustAsk(flags, io)) {
      // The plan is made and shown without changing anything; the deploy then goes ahead only if the
      // world still gives exactly the plan the person agreed to.
      const shown = await replace(spec, { ...options, dryRun: true }, deps, io.signal);
      if (shown.kind !== 'planned') return shown;
      if (!(await prompt.confirm(shown))) {
        throw new UsageError('the deploy was not confirmed', 'answer y to proceed, or pass --yes to act without asking');
      }
      return goAhead(shown.reviewed);
    }
    return goAhead();
  });
};
