// The role's hooks: local commands at the phase boundaries of a deploy, run through the Hooks
// port with the deploy's facts in their environment. The engine decides what a failure means.
import type { Deployment } from './context.js';
import { terminateOld } from './cutover.js';
import { STEP_MS } from './deadlines.js';
import { message } from './errors.js';
import type { Leftover } from './leftovers.js';
import type { HookName } from './ports.js';
import { launchedIds, oldIds } from './record.js';

/** What a hook's command finds in its environment, beside what the tool itself inherited. */
export const hookEnv = (run: Deployment, name: HookName, newHostIds: readonly string[]): Record<string, string> => {
  const { spec, record } = run;
  return {
    MR_HOOK: name,
    MR_DEPLOY_ID: record.deployId,
    MR_ENV: spec.env,
    MR_ROLE: spec.role,
    MR_SERVICE: spec.service,
    MR_OLD_INSTANCE_IDS: oldIds(record).join(' '),
    MR_NEW_INSTANCE_IDS: launchedIds(record).join(' '),
    MR_OLD_HOST_IDS: record.snapshot.map((member) => member.hostId).join(' '),
    MR_NEW_HOST_IDS: newHostIds.join(' '),
    MR_AMI_OLD: [...new Set(record.snapshot.map((member) => member.imageId))].join(' '),
    MR_AMI_NEW: record.image.id,
  };
};

/** The Mackerel hosts of the new instances, as the role lists them now. */
const newHostIds = async (run: Deployment, signal: AbortSignal): Promise<string[]> => {
  const { spec, deps, record } = run;
  const ids = new Set(launchedIds(record));
  const hosts = await deps.monitor.hosts(spec.service, spec.role, { signal });
  return hosts.filter((host) => host.instanceId !== undefined && ids.has(host.instanceId)).map((host) => host.id);
};

/**
 * Runs the role's hook `name` if it has one; resolves to why it failed, or undefined when it
 * passed or is not configured. The command's output goes to the progress as it comes.
 */
export const runHook = async (run: Deployment, name: HookName, signal: AbortSignal): Promise<string | undefined> => {
  const hook = run.spec.hooks?.[name];
  if (!hook) return undefined;
  const { deps } = run;
  deps.emit({ type: 'hook.started', hook: name, command: hook.command });
  const startedAt = deps.clock.now();
  let failure: string | undefined;
  try {
    const env = hookEnv(run, name, await newHostIds(run, signal));
    const onLine = (line: string) => deps.emit({ type: 'hook.output', hook: name, line });
    failure = await deps.hooks.run({ name, command: hook.command, timeout: hook.timeout, env }, onLine, { signal });
  } catch (error) {
    failure = message(error);
  }
  deps.emit({ type: 'hook.done', hook: name, ms: deps.clock.now() - startedAt, ...(failure !== undefined && { failure }) });
  return failure === undefined ? undefined : `hook ${name} (${hook.command}) failed: ${failure}`;
};

/** Past verification an interrupt lets the step in flight finish: a hook there is bounded by its own timeout only. */
const ownDeadline = (run: Deployment, name: HookName): AbortSignal =>
  run.deps.clock.deadline((run.spec.hooks?.[name]?.timeout ?? 0) + STEP_MS);

/** The terminate step: `beforeTerminate` first; when it fails the old fleet keeps running and resume runs it again. */
export const terminateAfterHook = async (run: Deployment): Promise<Leftover[]> => {
  const failure = await runHook(run, 'beforeTerminate', ownDeadline(run, 'beforeTerminate'));
  if (failure === undefined) return terminateOld(run);
  return [
    {
      what: `${failure}; the old instances ${oldIds(run.record).join(', ')} are still running`,
      fix: `mackerel-replacer resume ${run.record.deployId}`,
    },
  ];
};

/** `afterDeploy` and `onRollback` come after the fact: a failure is a warning and changes no outcome. */
export const runHookAfter = async (run: Deployment, name: 'afterDeploy' | 'onRollback'): Promise<void> => {
  const failure = await runHook(run, name, ownDeadline(run, name));
  if (failure !== undefined) run.deps.emit({ type: 'warning', message: failure });
};
