// The old fleet goes only while the new one serves (issue 19 §2), against the sandbox: AWS ends the
// new instances while the old targets drain, through the sandbox's control endpoint.
import { afterEach, describe, expect, it } from 'vitest';
import { expectUntouched, roleInstances } from './expect.js';
import { type State, TG_ARN, type World, configYaml, startWorld } from './harness.js';

let world: World;
afterEach(() => world?.close());

/** Polls every few ms until `probe` returns something. */
const until = async <T>(probe: () => Promise<T | undefined>, what: string): Promise<T> => {
  for (let i = 0; i < 3000; i++) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
};

/** The new web instances, once the old targets are draining. */
const drainingOld = (before: State) => async (): Promise<string[] | undefined> => {
  const state = await world.state();
  const oldIds = new Set(roleInstances(before, 'web').map((i) => i.id));
  const draining = state.targetGroups.find((g) => g.arn === TG_ARN)!.targets.filter((t) => t.state === 'draining' && oldIds.has(t.id));
  if (draining.length === 0) return undefined;
  return roleInstances(state, 'web')
    .filter((i) => !oldIds.has(i.id))
    .map((i) => i.id);
};

describe('the new fleet is re-checked before the old one goes', () => {
  it('both new instances terminated by AWS while the old targets drain: exit 3, the old fleet back in service, nothing old terminated', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const run = world.spawn('replace', '--config', world.configPath, '--role', 'web');
    const fresh = await until(drainingOld(before), 'the old targets draining');
    const edits = fresh.map((id) => ({ op: 'terminate', id }));
    const response = await fetch(`${world.sandbox.url}/_sandbox/world`, { method: 'POST', body: JSON.stringify(edits) });
    expect(response.status, await response.clone().text()).toBe(200);
    const { code, stdout, stderr } = await run;
    expect(code, stderr).toBe(3);
    expect(`${stdout}${stderr}`).toMatch(/the new fleet does not serve: i-\w+ is not running/);
    expect(`${stdout}${stderr}`).not.toMatch(/replaced/);
    // The rollback did not wait for the targets of instances AWS ended: they leave with the delay.
    await until(async () => {
      const targets = (await world.state()).targetGroups.find((g) => g.arn === TG_ARN)!.targets;
      return targets.some((t) => fresh.includes(t.id) && t.state === 'draining') ? undefined : true;
    }, 'the new targets gone');
    await expectUntouched(world, 'web', before);
  });
});
