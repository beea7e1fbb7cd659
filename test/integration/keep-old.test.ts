import { afterEach, describe, expect, it } from 'vitest';
import { deployIdOf, expectReplaced, expectUntouched, live, roleInstances } from './expect.js';
import { TG_ARN, type World, configYaml, startWorld } from './harness.js';

let world: World;
afterEach(() => world?.close());

const registered = (state: Awaited<ReturnType<World['state']>>) =>
  state.targetGroups
    .find((group) => group.arn === TG_ARN)!
    .targets.filter((t) => t.state !== 'unused' && t.state !== 'draining')
    .map((t) => t.id)
    .sort();

describe('replace --keep-old', () => {
  it('keeps the old fleet running, deregistered and in standby; rollback inside the window restores it as it was, capacity never dipping', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const oldIds = live(before, 'web').running.map((i) => i.id);
    const kept = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--keep-old', '30m');
    expect(kept.code).toBe(0);
    expect(kept.stdout).toMatch(/are kept running \(deregistered, hosts in standby\) until/);
    expect(kept.stdout).toMatch(/mackerel-replacer finish \S+ --config/);
    const deployId = deployIdOf(kept.stdout);
    const during = await world.state();
    expect(
      roleInstances(during, 'web')
        .filter((i) => oldIds.includes(i.id))
        .map((i) => i.state),
    ).toEqual(oldIds.map(() => 'running'));
    expect(registered(during).some((id) => oldIds.includes(id))).toBe(false);
    const oldHosts = live(before, 'web').hosts.map((h) => h.id);
    expect(during.hosts.filter((h) => oldHosts.includes(h.id)).map((h) => h.status)).toEqual(oldHosts.map(() => 'standby'));
    const status = await world.cli('status', '--config', world.configPath);
    expect(status.stdout).toMatch(new RegExp(`${deployId} .* kept at terminate`));
    expect(status.stdout).toMatch(/old fleet kept for \d+s, window ends \S+: i-/);

    const back = await world.cli('rollback', deployId, '--config', world.configPath);
    expect(back.code).toBe(0);
    const after = await expectUntouched(world, 'web', before);
    expect(after.targetGroups.find((g) => g.arn === TG_ARN)!.minHealthy).toBeGreaterThanOrEqual(oldIds.length);
    // Nothing new is left running.
    expect(
      live(after, 'web')
        .running.map((i) => i.id)
        .sort(),
    ).toEqual([...oldIds].sort());
  });

  it('refuses a new deploy of the role while an earlier one keeps its old fleet (exit 2, nothing launched), and --finish-previous finishes it first', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const kept = await world.cli('replace', '--config', world.configPath, '--role', 'worker', '--keep-old', '30m');
    expect(kept.code).toBe(0);
    const deployId = deployIdOf(kept.stdout);
    const count = (await world.state()).instances.length;
    const refused = await world.cli('replace', '--config', world.configPath, '--role', 'worker');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`deploy ${deployId} of staging/worker still keeps its old fleet`));
    expect(refused.stderr).toMatch(/--finish-previous/);
    expect((await world.state()).instances.length).toBe(count);
    const plan = await world.cli('plan', '--config', world.configPath, '--role', 'worker');
    expect(plan.code).toBe(2);
    expect(plan.stderr).toMatch(new RegExp(`deploy ${deployId} of staging/worker still keeps its old fleet`));

    // The plan with --finish-previous changes nothing; it replaces the serving fleet, not the kept one.
    const oldIds = live(before, 'worker').running.map((i) => i.id);
    const planned = await world.cli('plan', '--config', world.configPath, '--role', 'worker', '--finish-previous');
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain(`deploy ${deployId} keeps an old fleet (${[...oldIds].sort().join(', ')}): finished first`);
    const terminatedLine = planned.stdout.split('\n').find((line) => line.includes('terminated once the new fleet passes'))!;
    expect(oldIds.filter((id) => terminatedLine.includes(id))).toEqual([]);
    expect(terminatedLine).toMatch(/i-/);
    const unchanged = await world.state();
    expect(unchanged.instances.length).toBe(count);
    expect(unchanged.instances.filter((i) => oldIds.includes(i.id)).map((i) => i.state)).toEqual(oldIds.map(() => 'running'));

    const next = await world.cli('replace', '--config', world.configPath, '--role', 'worker', '--finish-previous');
    expect(next.code).toBe(0);
    const after = await world.state();
    for (const id of live(before, 'worker').running.map((i) => i.id)) {
      expect(after.instances.find((i) => i.id === id)?.state).toMatch(/shutting-down|terminated/);
    }
    const status = await world.cli('status', '--config', world.configPath);
    expect(status.stdout).toMatch(new RegExp(`${deployId} .* replaced at done`));
  });

  it('shrink --to 50% terminates one old instance in each AZ; finish terminates and retires the rest', async () => {
    world = await startWorld(configYaml({ perAz: 2 }));
    const before = await world.state();
    const old = live(before, 'worker').running;
    expect(old.length).toBe(4);
    const kept = await world.cli('replace', '--config', world.configPath, '--role', 'worker', '--keep-old', '1h');
    expect(kept.code).toBe(0);
    const deployId = deployIdOf(kept.stdout);

    const shrunk = await world.cli('shrink', deployId, '--to', '50%', '--config', world.configPath);
    expect(shrunk.code).toBe(0);
    const mid = await world.state();
    const still = old.filter((i) => mid.instances.find((m) => m.id === i.id)?.state === 'running');
    expect(still.map((i) => i.az).sort()).toEqual(['ap-northeast-1a', 'ap-northeast-1c']);
    const gone = old.filter((i) => !still.includes(i));
    const goneHosts = mid.hosts.filter((h) => gone.some((i) => h.customIdentifier?.startsWith(`${i.id}.`)));
    expect(goneHosts.every((h) => h.isRetired)).toBe(true);
    expect(await world.cli('rollback', deployId, '--config', world.configPath)).toMatchObject({ code: 2 });

    const finished = await world.cli('finish', deployId, '--config', world.configPath);
    expect(finished.code).toBe(0);
    await expectReplaced(world, 'worker', before, { 'ap-northeast-1a': 2, 'ap-northeast-1c': 2 });
  });

  it('after the window the next command for the role says so; with then: finish the next deploy finishes it first', async () => {
    world = await startWorld(configYaml({ worker: '        keepOld: { for: 100ms, then: finish }' }));
    const before = await world.state();
    const kept = await world.cli('replace', '--config', world.configPath, '--role', 'worker');
    expect(kept.code).toBe(0);
    const deployId = deployIdOf(kept.stdout);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const status = await world.cli('status', '--config', world.configPath);
    expect(status.stdout).toMatch(/window ended/);
    const next = await world.cli('replace', '--config', world.configPath, '--role', 'worker');
    expect(next.code).toBe(0);
    expect(next.stdout.match(/rollback window ended/g)).toHaveLength(1);
    expect(next.stdout).toMatch(new RegExp(`deploy ${deployId}'s rollback window ended at \\S+; its old instances i-[\\w, -]+ still run`));
    const after = await world.state();
    for (const id of live(before, 'worker').running.map((i) => i.id)) {
      expect(after.instances.find((i) => i.id === id)?.state).toMatch(/shutting-down|terminated/);
    }
  });
});
