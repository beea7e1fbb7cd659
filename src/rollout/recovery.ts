// The deploy's essentials, written as tags on every new instance, so a deploy can be found,
// resumed or rolled back from any machine even when its journal is gone.
import type { Call, Fleet, Monitor } from './ports.js';
import { TAG_DEPLOY } from './ownership.js';
import type { DeployRecord } from './record.js';
import type { RoleSpec } from './spec.js';

export const TAG_STATE = 'mackerel-replacer:state';
export const TAG_STARTED = 'mackerel-replacer:started-at';
export const TAG_RUNNER = 'mackerel-replacer:runner';
export const TAG_PLAN = 'mackerel-replacer:plan';
/** The snapshot's instance ids, 12 to a tag (`…:snapshot.0`, `.1`, …): EC2 tag values hold 256 characters. */
const TAG_SNAPSHOT = 'mackerel-replacer:snapshot';
const IDS_PER_TAG = 12;

export const IN_FLIGHT = 'in-flight';
export const DONE = 'done';

export const lifecycleTags = (record: DeployRecord): Record<string, string> => {
  const ids = record.snapshot.map((member) => member.instanceId);
  const tags: Record<string, string> = {
    [TAG_STATE]: IN_FLIGHT,
    [TAG_STARTED]: new Date(record.startedAt).toISOString(),
    [TAG_RUNNER]: record.runner,
    [TAG_PLAN]: record.launches.map((launch) => `${launch.az}=${launch.count}`).join(','),
  };
  for (let i = 0; i * IDS_PER_TAG < ids.length; i += 1) {
    tags[`${TAG_SNAPSHOT}.${i}`] = ids.slice(i * IDS_PER_TAG, (i + 1) * IDS_PER_TAG).join(',');
  }
  return tags;
};

const snapshotIds = (tags: Readonly<Record<string, string>>): string[] =>
  Object.keys(tags)
    .filter((key) => key.startsWith(`${TAG_SNAPSHOT}.`))
    .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()))
    .flatMap((key) => tags[key]!.split(',').filter(Boolean));

/**
 * Rebuilds a deploy record from its instances' tags and a fresh look at EC2 and Mackerel.
 * Undefined when no live instance carries the deploy id.
 */
export const recoverRecord = async (
  spec: RoleSpec,
  deployId: string,
  deps: { fleet: Fleet; monitor: Monitor },
  now: number,
  call: Call,
): Promise<DeployRecord | undefined> => {
  const launched = await deps.fleet.findByTag(TAG_DEPLOY, deployId, call);
  const first = launched[0];
  if (!first) return undefined;
  const oldIds = snapshotIds(first.tags);
  const [oldInstances, hosts] = await Promise.all([
    deps.fleet.describe(oldIds, call),
    deps.monitor.hosts(spec.service, spec.role, call),
  ]);
  const hostOf = new Map(hosts.map((host) => [host.instanceId, host]));
  const running = new Set(oldInstances.filter((i) => i.state !== 'shutting-down' && i.state !== 'terminated').map((i) => i.id));
  const byId = new Map(oldInstances.map((instance) => [instance.id, instance]));
  const byAz: Record<string, string[]> = {};
  for (const instance of launched) byAz[instance.az] = [...(byAz[instance.az] ?? []), instance.id];
  const launches = (first.tags[TAG_PLAN] ?? '').split(',').filter(Boolean).map((entry) => {
    const [az = '', count = '0'] = entry.split('=');
    return { az, subnetId: launched.find((i) => i.az === az)?.subnetId ?? '', count: Number(count), clientToken: `${deployId}/${az}/0` };
  });
  const terminated = oldIds.filter((id) => !running.has(id));
  return {
    version: 1,
    deployId,
    env: spec.env,
    role: spec.role,
    service: spec.service,
    runner: first.tags[TAG_RUNNER] ?? 'unknown',
    startedAt: Date.parse(first.tags[TAG_STARTED] ?? '') || 0,
    updatedAt: now,
    status: 'interrupted',
    // Re-verifying is always safe while the old fleet is whole; after a termination, only the rest of the retirement is left.
    step: terminated.length > 0 ? 'terminate' : 'launch',
    image: { id: first.imageId, name: first.imageId, state: 'available', createdAt: '' },
    snapshot: oldIds.map((id) => ({
      hostId: hostOf.get(id)?.id ?? '',
      hostName: hostOf.get(id)?.name ?? id,
      hostStatus: hostOf.get(id)?.status === 'maintenance' ? 'working' : (hostOf.get(id)?.status ?? 'working'),
      instanceId: id,
      az: byId.get(id)?.az ?? '',
      imageId: byId.get(id)?.imageId ?? '',
    })),
    launches,
    launched: byAz,
    registeredGroups: [...spec.targetGroups],
    cutoverBegun: oldIds.some((id) => hostOf.get(id)?.status === 'maintenance'),
    terminated,
    leftovers: [],
  };
};
