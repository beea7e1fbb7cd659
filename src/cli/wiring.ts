import type { AwsClients } from '../aws/clients.js';
import type { Config } from '../config/load.js';
import type { AwsAccount } from '../config/schema.js';
import type { Deps } from '../rollout/deploy.js';
import { UsageError } from '../rollout/errors.js';
import type { Emit } from '../rollout/events.js';
import type { Balancer, Capacity, Clock, Fleet } from '../rollout/ports.js';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkEndpoints } from './endpoints.js';
import { createHooks } from './hooks.js';
import { createFileJournal } from './journal-file.js';
import { lazily } from './lazy.js';
import { runnerState } from './runner.js';

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    await sleep(ms, undefined, { signal });
  },
  deadline: (ms) => AbortSignal.timeout(ms),
};

/** An environment of the config as the adapters need it: its name, region, AWS credentials and Mackerel key. */
export interface Target {
  readonly env: string;
  readonly region?: string;
  readonly aws?: AwsAccount;
  /** The variable holding its Mackerel API key. */
  readonly apiKeyEnv: string;
}

export const targetOf = (config: Config, env: string): Target => {
  const environment = config.environments[env]!;
  const region = environment.aws?.region ?? config.region;
  return {
    env,
    ...(region !== undefined && { region }),
    ...(environment.aws && { aws: environment.aws }),
    apiKeyEnv: environment.mackerel.apiKeyEnv,
  };
};

interface AwsPorts {
  readonly fleet: Fleet;
  readonly balancer: Balancer;
  readonly capacity: Capacity;
  /** Resolves once the credentials are known to be for the environment's account (at once when it names none). */
  readonly guard: () => Promise<void>;
}

/** EC2, ELBv2 and Service Quotas with the environment's credentials; the account guard runs before their first request. */
export const awsPorts = (env: NodeJS.ProcessEnv, target: Target): AwsPorts => {
  checkEndpoints(env);
  let clients: Promise<AwsClients> | undefined;
  const aws = () =>
    (clients ??= import('../aws/clients.js').then(async ({ createAwsClients }) => {
      const created = createAwsClients({ region: target.region, account: target.aws });
      await (await import('../aws/account.js')).checkAccount(created.sts, target.env, target.aws, env);
      return created;
    }));
  return {
    fleet: lazily(async () => (await import('../aws/ec2.js')).createFleet((await aws()).ec2)),
    balancer: lazily(async () => (await import('../aws/elbv2.js')).createBalancer((await aws()).elbv2)),
    capacity: lazily(async () => {
      const { ec2, quotas } = await aws();
      return (await import('../aws/capacity.js')).createCapacity(ec2, quotas);
    }),
    guard: async () => {
      if (target.aws?.accountId !== undefined) await aws();
    },
  };
};

/** The real adapters, configured from the environment the way mkr and the AWS CLI are. */
export const buildDeps = (env: NodeJS.ProcessEnv, target: Target, journalDir: string, emit: Emit): Deps => {
  const { fleet, balancer, capacity, guard } = awsPorts(env, target);
  const apiKey = env[target.apiKeyEnv];
  if (!apiKey)
    throw new UsageError(`${target.apiKeyEnv} is not set`, `export ${target.apiKeyEnv} with a Read+Write API key of the organization`);
  return {
    fleet,
    balancer,
    capacity,
    monitor: lazily(async () => {
      // Nothing reaches Mackerel either before the guard has passed.
      await guard();
      return (await import('../mackerel/client.js')).createMackerelClient({
        apiKey,
        apiBase: env.MACKEREL_APIBASE || 'https://api.mackerelio.com',
        // Throttling and outages are shown as they happen, not only when the retries run out.
        onRetry: ({ operation, attempt, code, waitMs }) =>
          emit({
            type: 'warning',
            message: `Mackerel ${operation} answered ${code}; retry ${attempt}${waitMs === undefined ? '' : ` in ${Math.round(waitMs / 1000)}s, as the API asked`}`,
          }),
      });
    }),
    journal: createFileJournal(journalDir),
    hooks: createHooks(env),
    clock: systemClock,
    emit,
    runner: `${hostname()}:${process.pid}`,
    runnerState,
  };
};
