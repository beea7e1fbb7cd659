import type { AwsClients } from '../aws/clients.js';
import type { Deps } from '../rollout/deploy.js';
import { UsageError } from '../rollout/errors.js';
import type { Emit } from '../rollout/events.js';
import type { Clock } from '../rollout/ports.js';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkEndpoints } from './endpoints.js';
import { createHooks } from './hooks.js';
import { createFileJournal } from './journal-file.js';
import { lazily } from './lazy.js';

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    await sleep(ms, undefined, { signal });
  },
  deadline: (ms) => AbortSignal.timeout(ms),
};

/** The real adapters, configured from the environment the way mkr and the AWS CLI are. */
export const buildDeps = (env: NodeJS.ProcessEnv, region: string | undefined, journalDir: string, emit: Emit): Deps => {
  checkEndpoints(env);
  const apiKey = env.MACKEREL_APIKEY;
  if (!apiKey) throw new UsageError('MACKEREL_APIKEY is not set', 'export MACKEREL_APIKEY with a Read+Write API key of the organization');
  let clients: Promise<AwsClients> | undefined;
  const aws = () => (clients ??= import('../aws/clients.js').then(({ createAwsClients }) => createAwsClients({ region })));
  return {
    fleet: lazily(async () => (await import('../aws/ec2.js')).createFleet((await aws()).ec2)),
    balancer: lazily(async () => (await import('../aws/elbv2.js')).createBalancer((await aws()).elbv2)),
    capacity: lazily(async () => {
      const { ec2, quotas } = await aws();
      return (await import('../aws/capacity.js')).createCapacity(ec2, quotas);
    }),
    monitor: lazily(async () =>
      (await import('../mackerel/client.js')).createMackerelClient({
        apiKey,
        apiBase: env.MACKEREL_APIBASE || 'https://api.mackerelio.com',
        // Throttling and outages are shown as they happen, not only when the retries run out.
        onRetry: ({ operation, attempt, code, waitMs }) =>
          emit({
            type: 'warning',
            message: `Mackerel ${operation} answered ${code}; retry ${attempt}${waitMs === undefined ? '' : ` in ${Math.round(waitMs / 1000)}s, as the API asked`}`,
          }),
      }),
    ),
    journal: createFileJournal(journalDir),
    hooks: createHooks(env),
    clock: systemClock,
    emit,
    runner: `${hostname()}:${process.pid}`,
  };
};
