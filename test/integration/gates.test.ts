// The Mackerel gates (issue 11 §4) in whole deploys against the sandbox: metrics flowing, no open
// alert, and the stable period covering every gate.
import { afterEach, describe, expect, it } from 'vitest';
import { type Run, type State, type World, configYaml, startWorld } from './harness.js';
import { expectReplaced, expectUntouched, live, roleInstances } from './expect.js';

let world: World;
afterEach(() => world?.close());

const gates = (extra = '') => `        gates:
          metrics: {}
          alerts: { statuses: [CRITICAL] }
${extra}`;

const yaml = (options: { stableFor?: string; verify?: string; maxAge?: string } = {}) =>
  configYaml({
    web: `        gates:
          metrics: { name: loadavg5${options.maxAge ? `, maxAge: ${options.maxAge}` : ''} }
          alerts: { statuses: [CRITICAL] }`,
    worker: gates(),
  })
    .replace('stableFor: 150ms', `stableFor: ${options.stableFor ?? '150ms'}`)
    .replaceAll('verify: 3s', `verify: ${options.verify ?? '3s'}`);

type Line = { type: string; [field: string]: unknown };
const ndjson = (run: Run): Line[] =>
  run.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Line);

const editWorld = async (edits: unknown[]) => {
  const response = await fetch(`${world.sandbox.url}/_sandbox/world`, { method: 'POST', body: JSON.stringify(edits) });
  expect(response.status, await response.clone().text()).toBe(200);
};

/** Polls every few ms until `probe` returns something. */
const until = async <T>(probe: () => Promise<T | undefined>, what: string): Promise<T> => {
  for (let i = 0; i < 2000; i++) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
};

/** The new web instances once each is healthy and has a live host. */
const newFleetUp = (before: State) => (state: State) => {
  const oldIds = new Set(roleInstances(before, 'web').map((i) => i.id));
  const fresh = roleInstances(state, 'web').filter((i) => !oldIds.has(i.id) && i.state === 'running');
  const healthy = new Set(state.targetGroups.flatMap((g) => g.targets.filter((t) => t.state === 'healthy').map((t) => t.id)));
  const hosts = live(state, 'web').hosts.map((h) => h.customIdentifier?.split('.')[0]);
  const up = fresh.filter((i) => healthy.has(i.id) && hosts.includes(i.id));
  return fresh.length === 2 && up.length === 2 ? fresh.map((i) => i.id) : undefined;
};

/** The newest loadavg5 time of each new web host, by instance, as the sandbox's Mackerel answers it. */
const newestPosts = async (before: State): Promise<Map<string, number>> => {
  const oldIds = new Set(roleInstances(before, 'web').map((i) => i.id));
  const hosts = live(await world.state(), 'web').hosts.filter((h) => !oldIds.has(h.customIdentifier?.split('.')[0] ?? ''));
  const query = `${hosts.map((h) => `hostId=${h.id}`).join('&')}&name=loadavg5`;
  const response = await fetch(`${world.sandbox.url}/api/v0/tsdb/latest?${query}`, {
    headers: { 'X-Api-Key': world.env.MACKEREL_APIKEY! },
  });
  const { tsdbLatest } = (await response.json()) as { tsdbLatest: Record<string, { loadavg5: { time: number } | null }> };
  return new Map(hosts.map((h) => [h.customIdentifier!.split('.')[0]!, tsdbLatest[h.id]?.loadavg5?.time ?? 0]));
};

/** Until the target's newest value is `seconds` older than another new host's. */
const untilStale = (before: State, target: string, seconds: number) =>
  until(async () => {
    const times = await newestPosts(before);
    const others = [...times].filter(([id]) => id !== target).map(([, time]) => time);
    return Math.max(...others) - times.get(target)! > seconds ? true : undefined;
  }, `${target}'s metrics to go stale`);

/**
 * Until every gate passes in the sandbox (the new fleet up, both new hosts posting) and the tool
 * has looked at the alerts three more times since: its stable period has begun. The target's id.
 */
const untilStable = async (before: State): Promise<string> => {
  const [target] = await until(async () => newFleetUp(before)(await world.state()), 'the new fleet up');
  await until(async () => ([...(await newestPosts(before)).values()].every((time) => time > 0) ? true : undefined), 'metrics');
  await untilLooked(3);
  return target!;
};

/** Until the tool has looked at the gates `times` more times from now (its alerts requests count its looks). */
const untilLooked = async (times: number) => {
  const since = (await world.requests()).at(-1)?.t ?? 0;
  const looks = async () => (await world.requests()).filter((r) => r.by === 'client' && r.action === 'GET /api/v0/alerts' && r.t > since);
  await until(async () => ((await looks()).length >= times ? true : undefined), `${times} looks of the tool`);
};

const gateCalls = async () => {
  const requests = (await world.requests()).filter((r) => r.by === 'client');
  return {
    latest: requests.filter((r) => r.action === 'GET /api/v0/tsdb/latest').length,
    alerts: requests.filter((r) => r.action === 'GET /api/v0/alerts').length,
  };
};

/** The pending lists of the verify phase's `gates` waits, in order. */
const gateWaits = (events: Line[]) =>
  events.filter((e) => e.type === 'waiting' && e.what === 'gates').map((e) => (e.pending as string[]).join(' | '));

describe('Mackerel gates (sandbox)', () => {
  it('metrics gate passes when all post: one tsdb/latest and one alerts page per look, none per host', async () => {
    world = await startWorld(yaml());
    const before = await world.state();
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'web');
    expect(run.code, run.stderr).toBe(0);
    await expectReplaced(world, 'web', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
    const calls = await gateCalls();
    expect(calls.latest).toBeGreaterThan(0);
    expect(calls.alerts).toBe(calls.latest);
  });

  it('metrics gate names the host: one new agent posting nothing rolls back, naming host and instance', async () => {
    world = await startWorld(yaml());
    const before = await world.state();
    await world.inject({ type: 'metrics-silent', count: 1 });
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'web');
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(
      /rolled back deploy \S+: gates: gave up after 3s; still waiting for metrics flowing \(loadavg5\): host sbh\w+ \(i-\w+\): no loadavg5 value yet/,
    );
    const [silent] = /\(i-\w+\): no loadavg5/.exec(run.stderr) ?? [];
    const after = await expectUntouched(world, 'web', before);
    expect(after.instances.find((i) => silent?.includes(i.id))?.state).toMatch(/shutting-down|terminated/);
  });

  it('a worker with gates rolls back the same way: a silent agent fails the metrics gate', async () => {
    world = await startWorld(yaml());
    const before = await world.state();
    await world.inject({ type: 'metrics-silent', count: 1 });
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'worker');
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/metrics flowing \(loadavg5\): host sbh\w+ \(i-\w+\): no loadavg5 value yet/);
    await expectUntouched(world, 'worker', before);
  });

  it('an alert during the stable period rolls back: old fleet untouched, new ones terminated, the reason names gate, alert and host', async () => {
    world = await startWorld(yaml({ stableFor: '5s', verify: '20s' }));
    const before = await world.state();
    const running = world.cli('replace', '--json', '--config', world.configPath, '--role', 'web');
    const target = await untilStable(before);
    await editWorld([{ op: 'open-alert', instanceId: target, status: 'CRITICAL' }]);
    const run = await running;
    expect(run.code).toBe(3);
    const events = ndjson(run);
    const outcome = events.at(-1)!;
    expect(outcome.reason).toMatch(
      new RegExp(
        `^gates: no open CRITICAL alert: alert sbl\\w+ \\(CRITICAL, host monitor sbm-host\\) is open on host sbh\\w+ \\(${target}\\)$`,
      ),
    );
    // The alert came while every gate was passing: the stable period had begun.
    const stableAt = events.findIndex((e) => e.type === 'waiting' && (e.pending as string[])[0]?.startsWith('every gate passing for 5s'));
    expect(stableAt).toBeGreaterThan(-1);
    expect(stableAt).toBeLessThan(events.findIndex((e) => e.type === 'rollback.started'));
    const after = await expectUntouched(world, 'web', before);
    const oldIds = new Set(roleInstances(before, 'web').map((i) => i.id));
    const fresh = roleInstances(after, 'web').filter((i) => !oldIds.has(i.id));
    expect(fresh).toHaveLength(2);
    for (const instance of fresh) expect(instance.state).toMatch(/shutting-down|terminated/);
  });

  it('a gate that stops passing restarts the stable period: metrics going stale on one host, then flowing again', async () => {
    world = await startWorld(yaml({ stableFor: '6s', verify: '30s', maxAge: '90s' }));
    const before = await world.state();
    const running = world.cli('replace', '--json', '--config', world.configPath, '--role', 'web');
    const target = await untilStable(before);
    await editWorld([{ op: 'agent-metrics', instanceId: target, posting: false }]);
    await untilStale(before, target, 150);
    await untilLooked(3);
    await editWorld([{ op: 'agent-metrics', instanceId: target, posting: true }]);
    const run = await running;
    expect(run.code, run.stderr).toBe(0);
    const waits = gateWaits(ndjson(run));
    const stable = (wait: string) => wait.startsWith('every gate passing for 6s');
    const firstStable = waits.findIndex(stable);
    const stale = waits.findIndex(
      (wait, i) =>
        i > firstStable &&
        new RegExp(`metrics flowing \\(loadavg5\\): host sbh\\w+ \\(${target}\\): last loadavg5 value \\d+s old`).test(wait),
    );
    const restarted = waits.findIndex((wait, i) => i > stale && stable(wait));
    expect(firstStable).toBeGreaterThan(-1);
    expect(stale).toBeGreaterThan(firstStable);
    expect(restarted).toBeGreaterThan(stale);
  });
});
