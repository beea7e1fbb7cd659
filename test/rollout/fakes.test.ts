// The fakes must behave as the real services do (reference/real-service-facts.md), or an engine
// test could pass where production fails. Each behaviour the engine relies on, checked here.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/rollout/errors.js';
import type { LaunchRequest } from '../../src/rollout/ports.js';
import { type Stage, TG, createFakeClock, createProcess, stage } from './fakes.js';

const never = () => new AbortController().signal;
const call = () => ({ signal: never() });

const request = (s: Stage, overrides: Partial<LaunchRequest> = {}): LaunchRequest => ({
  imageId: s.newImage.id,
  instanceType: 't3.small',
  subnetId: 'subnet-0aaa1111',
  count: 2,
  securityGroupIds: ['sg-1'],
  tags: { Name: 'x' },
  clientToken: 'd1/ap-northeast-1a/0',
  ...overrides,
});

/** Lets `ms` of fake time pass. */
const pass = (s: Stage, ms: number) => s.fakes.run(s.fakes.clock.sleep(ms, never()));

describe('the fake clock', () => {
  it('sleeps in virtual time, in time order, without real waiting', async () => {
    const clock = createFakeClock(0);
    const order: string[] = [];
    const t0 = performance.now();
    await clock.run(
      Promise.all([
        clock.sleep(3_600_000, never()).then(() => order.push(`b@${clock.now()}`)),
        clock.sleep(60_000, never()).then(() => order.push(`a@${clock.now()}`)),
      ]),
    );
    expect(order).toEqual(['a@60000', 'b@3600000']);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('aborts a deadline at its instant, with the reason AbortSignal.timeout gives', async () => {
    const clock = createFakeClock(0);
    const signal = clock.deadline(5_000);
    await expect(clock.run(clock.sleep(10_000, signal))).rejects.toMatchObject({ name: 'AbortError' });
    expect(clock.now()).toBe(5_000);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('says so when the work waits on nothing it could fire', async () => {
    const clock = createFakeClock(0);
    await expect(clock.run(new Promise(() => undefined))).rejects.toThrow(/deadlock/);
  });

  it('drops the timers of a dead process', async () => {
    const clock = createFakeClock(0);
    const process = createProcess('p', clock.owned);
    let woke = false;
    void process.clock.sleep(1_000, never()).then(() => {
      woke = true;
    });
    process.kill();
    await clock.run(clock.sleep(2_000, never()));
    expect(woke).toBe(false);
  });
});

describe('EC2', () => {
  it('boots pending → running after the boot time; the same ClientToken returns the same instances', async () => {
    const s = stage('worker');
    const { deps } = s.fakes.start();
    const first = await s.fakes.run(deps.fleet.launch(request(s), call()));
    expect(first.map((i) => i.state)).toEqual(['pending', 'pending']);
    const again = await s.fakes.run(deps.fleet.launch(request(s), call()));
    expect(again.map((i) => i.id)).toEqual(first.map((i) => i.id));
    await pass(s, 20_000);
    expect(
      (
        await s.fakes.run(
          deps.fleet.describe(
            first.map((i) => i.id),
            call(),
          ),
        )
      ).map((i) => i.state),
    ).toEqual(['running', 'running']);
  });

  it('refuses the same ClientToken with other parameters', async () => {
    const s = stage('worker');
    const { deps } = s.fakes.start();
    await s.fakes.run(deps.fleet.launch(request(s), call()));
    await expect(s.fakes.run(deps.fleet.launch(request(s, { count: 3 }), call()))).rejects.toMatchObject({
      code: 'IdempotentParameterMismatch',
    });
  });

  it("fails a launch in an AZ without capacity, after the SDK's retries, naming the AZ", async () => {
    const s = stage('worker');
    s.fakes.world.inject({ type: 'capacity', az: 'ap-northeast-1a' });
    const { deps } = s.fakes.start();
    const error = await s.fakes.run(deps.fleet.launch(request(s), call())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'InsufficientInstanceCapacity', hint: expect.stringContaining('subnet-0aaa1111') });
    expect(s.fakes.world.stats.requests).toBe(5);
  });

  it('terminates all or nothing: one unknown id fails the whole call', async () => {
    const s = stage('worker');
    const { deps } = s.fakes.start();
    await expect(s.fakes.run(deps.fleet.terminate([s.old[0]!.id, 'i-0unknown'], call()))).rejects.toMatchObject({
      code: 'InvalidInstanceID.NotFound',
    });
    expect(s.old[0]!.state).toBe('running');
  });

  it('shows a terminated instance for an hour, and only when asked for terminated ones by tag', async () => {
    const s = stage('worker');
    const { deps } = s.fakes.start();
    const id = s.old[0]!.id;
    await s.fakes.run(deps.fleet.terminate([id], call()));
    await pass(s, 10_000);
    expect((await s.fakes.run(deps.fleet.describe([id], call())))[0]?.state).toBe('terminated');
    const role = s.old[0]!.tags['mackerel-replacer:role']!;
    expect((await s.fakes.run(deps.fleet.findByTag('mackerel-replacer:role', role, call()))).map((i) => i.id)).not.toContain(id);
    expect(
      (await s.fakes.run(deps.fleet.findByTag('mackerel-replacer:role', role, call(), { withTerminated: true }))).map((i) => i.id),
    ).toContain(id);
    await pass(s, 3_600_000);
    expect(await s.fakes.run(deps.fleet.describe([id], call()))).toEqual([]);
  });

  it('refuses a 51st tag', async () => {
    const s = stage('worker');
    const { deps } = s.fakes.start();
    const tags = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
    await expect(s.fakes.run(deps.fleet.tag([s.old[0]!.id], tags, call()))).rejects.toMatchObject({ code: 'TagLimitExceeded' });
  });

  it('removes a tag only where it has the given value', async () => {
    const s = stage('worker');
    const { deps } = s.fakes.start();
    const [a, b] = s.old.map((i) => i.id) as [string, string];
    await s.fakes.run(deps.fleet.tag([a], { owner: 'd1' }, call()));
    await s.fakes.run(deps.fleet.tag([b], { owner: 'd2' }, call()));
    await s.fakes.run(deps.fleet.untag([a, b], { owner: 'd1' }, call()));
    expect([s.old[0]!.tags.owner, s.old[1]!.tags.owner]).toEqual([undefined, 'd2']);
  });
});

describe('ELBv2', () => {
  it('refuses to register an instance that is not running', async () => {
    const s = stage('web');
    const { deps } = s.fakes.start();
    const [instance] = await s.fakes.run(deps.fleet.launch(request(s, { count: 1 }), call()));
    await expect(s.fakes.run(deps.balancer.register(TG, [instance!.id], call()))).rejects.toMatchObject({ code: 'InvalidTarget' });
  });

  it('checks a target initial → healthy; a deregistered one drains for the delay, then is gone', async () => {
    const s = stage('web');
    const { deps } = s.fakes.start();
    const [instance] = await s.fakes.run(deps.fleet.launch(request(s, { count: 1 }), call()));
    await pass(s, 20_000);
    await s.fakes.run(deps.balancer.register(TG, [instance!.id], call()));
    const stateOf = async (id: string) => (await s.fakes.run(deps.balancer.health(TG, call()))).find((t) => t.id === id)?.state;
    expect(await stateOf(instance!.id)).toBe('initial');
    await pass(s, 10_000);
    expect(await stateOf(instance!.id)).toBe('healthy');
    await s.fakes.run(deps.balancer.deregister(TG, [s.old[0]!.id], call()));
    expect(await stateOf(s.old[0]!.id)).toBe('draining');
    await pass(s, 30_000);
    expect(await stateOf(s.old[0]!.id)).toBeUndefined();
  });

  it('leaves a target unused where the load balancer is not enabled', async () => {
    const s = stage('web', { balancerAzs: ['ap-northeast-1c'] });
    const { deps } = s.fakes.start();
    const [instance] = await s.fakes.run(deps.fleet.launch(request(s, { count: 1 }), call()));
    await pass(s, 20_000);
    await s.fakes.run(deps.balancer.register(TG, [instance!.id], call()));
    await pass(s, 60_000);
    expect((await s.fakes.run(deps.balancer.health(TG, call()))).find((t) => t.id === instance!.id)).toMatchObject({
      state: 'unused',
      reason: 'Target.NotInUse',
    });
  });
});

describe('Mackerel', () => {
  it("the agent registers a running instance's host after a while, in standby, under its image's roles", async () => {
    const s = stage('worker');
    const { deps } = s.fakes.start();
    const [instance] = await s.fakes.run(deps.fleet.launch(request(s, { count: 1 }), call()));
    await pass(s, 25_000);
    expect(await s.fakes.run(deps.monitor.hostOfInstance(instance!.id, call()))).toBeUndefined();
    await pass(s, 5_000);
    expect(await s.fakes.run(deps.monitor.hostOfInstance(instance!.id, call()))).toMatchObject({
      status: 'standby',
      instanceId: instance!.id,
      identifiedAs: instance!.id,
      roles: ['reactio:worker'],
    });
  });

  it('an agent on an instance that shuts down before it registered never registers', async () => {
    const s = stage('worker');
    const { deps } = s.fakes.start();
    const [instance] = await s.fakes.run(deps.fleet.launch(request(s, { count: 1 }), call()));
    await pass(s, 21_000);
    await s.fakes.run(deps.fleet.terminate([instance!.id], call()));
    await pass(s, 60_000);
    expect(await s.fakes.run(deps.monitor.hostOfInstance(instance!.id, call()))).toBeUndefined();
  });

  it('answers 404 for an unknown or retired host, for the whole call', async () => {
    const s = stage('worker');
    const { deps } = s.fakes.start();
    const hosts = await s.fakes.run(deps.monitor.hosts('reactio', 'worker', call()));
    const [a, b] = hosts.map((h) => h.id) as [string, string];
    await s.fakes.run(deps.monitor.retire([a], call()));
    await expect(s.fakes.run(deps.monitor.retire([a, b], call()))).rejects.toMatchObject({ api: 'Mackerel', code: '404' });
    await expect(s.fakes.run(deps.monitor.setStatus(['nope'], 'working', call()))).rejects.toMatchObject({ code: '404' });
    expect((await s.fakes.run(deps.monitor.hosts('reactio', 'worker', call()))).map((h) => h.id)).toEqual([b]);
  });

  it('retries 429 and 5xx as the client does, and gives up after its retries', async () => {
    const s = stage('worker');
    const { deps } = s.fakes.start();
    s.fakes.world.inject({ type: 'api-error', api: 'mackerel', status: 503, count: 5 });
    expect(await s.fakes.run(deps.monitor.hosts('reactio', 'worker', call()))).toHaveLength(2);
    s.fakes.world.inject({ type: 'api-error', api: 'mackerel', status: 503, count: 6 });
    await expect(s.fakes.run(deps.monitor.hosts('reactio', 'worker', call()))).rejects.toMatchObject({
      code: '503',
      reason: expect.stringMatching(/after 6 attempts/),
    });
  });

  it('a retire whose answer was lost is retried and answered 404: the hosts are retired all the same', async () => {
    const s = stage('worker');
    const { deps } = s.fakes.start();
    const [a] = (await s.fakes.run(deps.monitor.hosts('reactio', 'worker', call()))).map((h) => h.id);
    s.fakes.world.inject({ type: 'drop-after', api: 'mackerel', action: 'POST /api/v0/hosts/bulk-retire', count: 1 });
    await expect(s.fakes.run(deps.monitor.retire([a!], call()))).rejects.toMatchObject({ code: '404' });
    expect(s.fakes.world.hosts.get(a!)?.isRetired).toBe(true);
  });
});

describe('a process', () => {
  it('once killed, its calls never reach the world and never answer', async () => {
    const s = stage('worker');
    const { deps, process } = s.fakes.start();
    process.kill();
    let answered = false;
    void deps.fleet.terminate([s.old[0]!.id], call()).then(() => {
      answered = true;
    });
    await pass(s, 60_000);
    expect(answered).toBe(false);
    expect(s.old[0]!.state).toBe('running');
  });

  it('killed with a lag, it makes that many more calls first', async () => {
    const s = stage('worker');
    const { deps, process } = s.fakes.start();
    process.kill(1);
    void deps.fleet.terminate([s.old[0]!.id], call());
    void deps.fleet.terminate([s.old[1]!.id], call());
    await pass(s, 1_000);
    expect([s.old[0]!.state, s.old[1]!.state]).toEqual(['shutting-down', 'running']);
  });
});
