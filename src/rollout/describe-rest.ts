import type { Call, Fleet, Instance } from './ports.js';

/**
 * The instances `ids` (and the rest of `listed`) by id: those a tag listing already holds are taken
 * from it, and only the others are described, so a fleet the listing covers costs no call per 100.
 */
export const describeRest = async (
  fleet: Fleet,
  ids: readonly string[],
  listed: readonly Instance[],
  call: Call,
): Promise<Map<string, Instance>> => {
  const instances = new Map(listed.map((instance) => [instance.id, instance]));
  const rest = await fleet.describe(
    ids.filter((id) => !instances.has(id)),
    call,
  );
  for (const instance of rest) instances.set(instance.id, instance);
  return instances;
};
