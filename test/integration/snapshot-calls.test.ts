// The snapshot and the re-check before terminating, against the sandbox: a tag listing describes
// the old fleet, so EC2 is asked as often for 300 old instances as for 2 (the sandbox's request log).
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/sandbox/control.js';
import { type World, configYaml, startWorld } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** The worker role of `perAz` instances in each of 2 AZs: the CLI's exit code and the sandbox's requests of its `command`. */
const workerRun = async (perAz: number, command: 'plan' | 'replace') => {
  await world?.close();
  // Only the worker's fleet grows.
  const started = await startWorld(configYaml({ worker: '        maxInstances: 1000' }).replace(/(worker:[\s\S]*perAz: )1/, `$1${perAz}`));
  world = started;
  const run = await started.cli(command, '--config', started.configPath, '--role', 'worker');
  const requests = (await started.requests()).filter((request) => request.by === 'client');
  return { code: run.code, stderr: run.stderr, requests };
};

const describes = (requests: readonly RequestRecord[]) => requests.filter((request) => request.action === 'DescribeInstances').length;

const planCalls = async (perAz: number) => {
  const { code, stderr, requests } = await workerRun(perAz, 'plan');
  return { code, stderr, describes: describes(requests) };
};

/** DescribeInstances calls after the cutover's last status change, before the old fleet is terminated. */
const recheckCalls = async (perAz: number) => {
  const { code, stderr, requests } = await workerRun(perAz, 'replace');
  const cutover = requests.findLastIndex((request) => request.action === 'POST /api/v0/hosts/bulk-update-statuses');
  const terminate = requests.findIndex((request, index) => index > cutover && request.action === 'TerminateInstances');
  expect(cutover, 'the cutover set statuses').toBeGreaterThan(0);
  expect(terminate, 'the old fleet was terminated after the cutover').toBeGreaterThan(cutover);
  return { code, stderr, describes: describes(requests.slice(cutover, terminate)) };
};

describe('snapshot (sandbox)', () => {
  it('describes an old fleet that carries the ownership tag by its listing: no call per 100 ids', async () => {
    const small = await planCalls(1);
    expect(small.code, small.stderr).toBe(0);
    const large = await planCalls(150);
    expect(large.code, large.stderr).toBe(0);
    expect(large.describes).toBe(small.describes);
  });
});

describe('terminate (sandbox)', () => {
  it('re-checks an old fleet by the tag the deploy gave it: no call per 100 ids', async () => {
    const small = await recheckCalls(1);
    expect(small.code, small.stderr).toBe(0);
    const large = await recheckCalls(150);
    expect(large.code, large.stderr).toBe(0);
    expect(small.describes).toBeGreaterThan(0);
    expect(large.describes).toBe(small.describes);
  });
});
