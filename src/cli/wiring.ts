import { createAwsClients } from '../aws/clients.js';
import { createFleet } from '../aws/ec2.js';
import { createBalancer } from '../aws/elbv2.js';
import { createMackerelClient } from '../mackerel/client.js';
import type { Deps } from '../rollout/deploy.js';
import { UsageError } from '../rollout/errors.js';
import type { Emit } from '../rollout/events.js';
import type { Clock } from '../rollout/ports.js';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkEndpoints } from './endpoints.js';
import { createHooks } from './hooks.js';
import { createFileJournal } from './journal-file.js';

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
  const { ec2, elbv2 } = createAwsClients({ region });
  return {
    fleet: createFleet(ec2),
    balancer: createBalancer(elbv2),
    monitor: createMackerelClient({
      apiKey,
      apiBase: env.MACKEREL_APIBASE || 'https://api.mackerelio.com',
      // Throttling and outages are shown as they happen, not only when the retries run out.
      onRetry: ({ operation, attempt, code, waitMs }) =>
        emit({
          type: 'warning',
          message: `Mackerel ${operation} answered ${code}; retry ${attempt}${waitMs === undefined ? '' : ` in ${Math.round(waitMs / 1000)}s, as the API asked`}`,
        }),
    }),
    journal: createFileJournal(journalDir),
    hooks: createHooks(env),
    clock: systemClock,
    emit,
    runner: `${hostname()}:${process.pid}`,
  };
};
