import { expect } from 'vitest';
import { type State, TG_ARN, type World, instanceOf, newestImage } from './harness.js';

const roleTag = 'mackerel-replacer:role';

/** The deploy id a command's output names first. */
export const deployIdOf = (output: string): string => /deploy (\d{8}-\d{6}-[0-9a-f]{4})/.exec(output)![1]!;

export const roleInstances = (state: State, role: string) =>
  state.instances.filter((instance) => instance.tags[roleTag] === `staging/${role}`);

/** The role as it stands: its running instances and its live Mackerel hosts. */
export const live = (state: State, role: string) => ({
  running: roleInstances(state, role).filter((i) => i.state === 'running' || i.state === 'pending'),
  hosts: state.hosts.filter((host) => !host.isRetired && host.roles['reactio-staging']?.includes(role)),
});

/** After a good deploy: only new instances, from the newest image, working in Mackerel, healthy behind the LB. */
export const expectReplaced = async (world: World, role: string, before: State, perAzExpected: Record<string, number>) => {
  const after = await world.state();
  const oldIds = live(before, role).running.map((i) => i.id);
  const { running, hosts } = live(after, role);
  expect(running.map((i) => i.id)).not.toEqual(expect.arrayContaining([expect.toBeOneOf(oldIds)]));
  for (const id of oldIds) {
    expect(after.instances.find((i) => i.id === id)?.state).toMatch(/shutting-down|terminated/);
  }
  const perAz: Record<string, number> = {};
  for (const instance of running) perAz[instance.az] = (perAz[instance.az] ?? 0) + 1;
  expect(perAz).toEqual(perAzExpected);
  const newest = newestImage(after, `reactio-${role}-`);
  expect(running.every((i) => i.imageId === newest)).toBe(true);
  const newIds = running.map((i) => i.id).sort();
  expect(hosts.map(instanceOf).sort()).toEqual(newIds);
  expect(hosts.every((host) => host.status === 'working')).toBe(true);
  const oldHostIds = live(before, role).hosts.map((host) => host.id);
  for (const id of oldHostIds) expect(after.hosts.find((host) => host.id === id)?.isRetired).toBe(true);
  return { after, newIds, oldIds };
};

/** After a rollback: the old fleet exactly as before, nothing new left running or registered. */
export const expectUntouched = async (world: World, role: string, before: State) => {
  const after = await world.state();
  const was = live(before, role);
  const now = live(after, role);
  expect(now.running.map((i) => i.id).sort()).toEqual(was.running.map((i) => i.id).sort());
  // A rollback takes off what the deploy put on the old instances.
  expect(Object.fromEntries(now.running.map((i) => [i.id, i.tags]))).toEqual(Object.fromEntries(was.running.map((i) => [i.id, i.tags])));
  const statuses = (hosts: typeof was.hosts) => hosts.map((h) => `${h.id}:${h.status}`).sort();
  expect(statuses(now.hosts)).toEqual(statuses(was.hosts));
  if (role === 'web') {
    const group = after.targetGroups.find((g) => g.arn === TG_ARN)!;
    const registered = group.targets
      .filter((t) => t.state !== 'unused')
      .map((t) => t.id)
      .sort();
    const healthy = group.targets
      .filter((t) => t.state === 'healthy')
      .map((t) => t.id)
      .sort();
    expect(registered).toEqual(was.running.map((i) => i.id).sort());
    expect(healthy).toEqual(registered);
  }
  return after;
};
