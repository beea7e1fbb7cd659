// The config every chaos run deploys with, against the sandbox or the fakes alike.
import { TG_ARN } from './sandbox-world.js';
import type { HookBehaviour, Options } from './schedule.js';

/** Real ms per simulated ms: a 20 s boot takes 400 ms. Slower runs wait more but poll less. */
export const TIME_SCALE = 0.02;

/** Simulated: long enough that a kill lands inside it, short next to the verify timeout. */
const WORKER_DRAIN = '2s';

/** The file whose existence fixes the failing hooks: the operator creates it before the recovery of an exit 4. */
export const HOOKS_FIXED = 'hooks-fixed';

/** A hook's shell command in the sandbox (the fakes answer from the schedule and show the command only). */
const hookCommand = (name: string, behaviour: HookBehaviour, dir: string): string =>
  behaviour === 'pass' ? `echo ${name} ok` : `test -e '${dir}/${HOOKS_FIXED}' || { echo ${name} refuses; exit 1; }`;

const optionsYaml = (role: string, options: Options, dir: string): string => {
  const hooks = Object.entries(options.hooks ?? {});
  return [
    ...(options.keep ? ['        keepOld: 1h'] : []),
    ...(role === 'worker' && options.workerDrain ? [`        workerDrain: ${WORKER_DRAIN}`] : []),
    ...(hooks.length > 0
      ? ['        hooks:', ...hooks.map(([name, behaviour]) => `          ${name}: "${hookCommand(name, behaviour, dir)}"`)]
      : []),
  ]
    .map((line) => `${line}\n`)
    .join('');
};

// Short waits, so a fault that cannot heal fails the deploy in a second or two instead of minutes.
const roleYaml = (
  role: string,
  perAz: number,
  targetGroups: string,
  batch: number | undefined,
  options: Options,
  dir: string,
) => `      ${role}:
        ami: { owners: [self], name: "reactio-${role}-*" }
        instanceType: t3.small
        subnets: [subnet-0aaa1111, subnet-0ccc3333]
        securityGroupIds: [sg-0123abcd]
        perAz: ${perAz}
${batch === undefined ? '' : `        batch: ${batch}\n`}        stableFor: 500ms
${targetGroups}        timeouts: { launch: 2s, verify: 3s, unhealthy: 500ms, total: 8s }
${optionsYaml(role, options, dir)}`;

/** `dir`: the run's folder, where the failing hooks look for HOOKS_FIXED. */
export const chaosYaml = (perAz: number, batch?: number, options: Options = {}, dir = '.'): string => `region: ap-northeast-1
pollInterval: 100ms
environments:
  staging:
    mackerel: { service: reactio-staging }
    roles:
${roleYaml('web', perAz, `        targetGroups: [${TG_ARN}]\n`, batch, options, dir)}${roleYaml('worker', perAz, '', batch, options, dir)}`;
