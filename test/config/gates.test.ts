import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig, resolveRole } from '../../src/config/load.js';
import { ConfigError } from '../../src/rollout/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'replacer-gates-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const withGates = async (gates: unknown): Promise<string> => {
  const web = {
    ami: { id: 'ami-0123abcd' },
    instanceType: 't3.small',
    subnets: ['subnet-0aaa1111'],
    securityGroupIds: ['sg-0123abcd'],
    gates,
  };
  const file = join(dir, 'replacer.yml');
  await writeFile(file, stringify({ environments: { staging: { mackerel: { service: 'svc' }, roles: { web } } } }));
  return file;
};

const gatesOf = async (gates: unknown) => (await resolveRole(await loadConfig(await withGates(gates)), { role: 'web' })).gates;

describe('gates', () => {
  it('takes the defaults: loadavg5 no older than 3m, CRITICAL alerts', async () => {
    expect(await gatesOf({ metrics: {}, alerts: {} })).toEqual({
      metrics: { name: 'loadavg5', maxAge: 180_000 },
      alerts: { statuses: ['CRITICAL'] },
    });
  });

  it('takes a metric, an age and statuses', async () => {
    expect(await gatesOf({ metrics: { name: 'custom.app.ready', maxAge: '90s' }, alerts: { statuses: ['CRITICAL', 'WARNING'] } })).toEqual({
      metrics: { name: 'custom.app.ready', maxAge: 90_000 },
      alerts: { statuses: ['CRITICAL', 'WARNING'] },
    });
  });

  it('leaves a role without gates as it was', async () => {
    expect(await gatesOf(undefined)).toBeUndefined();
  });

  it.each<[unknown, string, string]>([
    [{ metrics: { maxAge: '0s' } }, 'gates.metrics.maxAge', 'expected a positive duration like "100ms", "30s", "5m" or "1h30m", got "0s"'],
    [
      { metrics: { name: 'load avg' } },
      'gates.metrics.name',
      'expected a host metric name like "loadavg5" (letters, digits, ".", "_", "-"), got "load avg"',
    ],
    [{ alerts: { statuses: ['OK'] } }, 'gates.alerts.statuses[0]', 'expected CRITICAL, WARNING or UNKNOWN, got "OK"'],
    [{ alerts: { statuses: [] } }, 'gates.alerts.statuses', 'expected at least one alert status'],
    [{ alert: {} }, 'gates.alert', 'unknown key; allowed: metrics, alerts'],
  ])('%j is refused at its field path, saying what is allowed', async (gates, path, problem) => {
    const file = await withGates(gates);
    const error = await loadConfig(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`environments.staging.roles.web.${path}`);
    expect((error as Error).message).toContain(problem);
    expect((error as Error).message).toContain(file);
  });
});
