// Hooks, workerDrain and instanceTypes as the engine gets them: a bare command takes the default timeout.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig, resolveRole } from '../../src/config/load.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'replacer-hooks-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('a hook is a command (timeout 5m) or { command, timeout }; workerDrain is in milliseconds; the first of instanceTypes is preferred', async () => {
  const file = join(dir, 'replacer.yml');
  const worker = {
    ami: { id: 'ami-0123abcd' },
    instanceTypes: ['c7g.large', 'c6g.large'],
    subnets: ['subnet-0aaa1111'],
    securityGroupIds: ['sg-0123abcd'],
    workerDrain: '2m',
    hooks: { beforeTerminate: './stop-polling.sh', afterDeploy: { command: 'notify', timeout: '30s' } },
  };
  await writeFile(file, stringify({ environments: { staging: { mackerel: { service: 'svc' }, roles: { worker } } } }));
  const spec = await resolveRole(await loadConfig(file), { role: 'worker' });
  expect(spec.workerDrain).toBe(120_000);
  expect([spec.instanceType, spec.instanceTypes]).toEqual(['c7g.large', ['c7g.large', 'c6g.large']]);
  expect(spec.hooks).toEqual({
    beforeTerminate: { command: './stop-polling.sh', timeout: 300_000 },
    afterDeploy: { command: 'notify', timeout: 30_000 },
  });
});
