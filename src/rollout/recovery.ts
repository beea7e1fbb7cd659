// Rebuilding a deploy record from AWS and Mackerel alone, when its journal is gone: the new
// instances carry the deploy id, the plan and who ran it; each old instance names the deploy
// that replaces it.
import { clientToken } from './plan.js';
import { type Call, type Fleet, type Monitor, isEnding } from './ports.js';
import type { DeployRecord } from './record.js';
import type { RoleSpec } from './spec.js';
import { UsageError } from './errors.js';
import {
  DONE,
  HELD,
  KEPT,
  TAG_AMI_NAME,
  TAG_DEPLOY,
  TAG_PLAN,
  TAG_REPLACED_BY,
  TAG_RUNNER,
  TAG_STARTED,
  TAG_STATE,
  varsOfTags,
} from './tags.js';

/**
 * Rebuilds a deploy record from its instances' tags and a fresh look at EC2 and Mackerel.
 * Undefined when no instance carries the deploy id or names it as its replacement.
 */
export const recoverRecord = async (
  spec: RoleSpec,
  deployId: string,
  deps: { fleet: Fleet; monitor: Monitor },
  now: number,
  call: Call,
): Promise<DeployRecord | undefined> => {
  const [launched, oldInstances] = await Promise.all([
    deps.fleet.findByTag(TAG_DEPLOY, deployId, call),
    deps.fleet.findByTag(TAG_REPLACED_BY, deployId, call, { withTerminated: true }),
  ]);
  const first = launched[0];
  if (!first && oldInstances.length === 0) return undefined;
  const done = launched.filter((instance) => instance.tags[TAG_STATE] === DONE);
  if (done.length > 0 && done.length < launched.length) {
    // A deploy in waves: which old instances each wave replaces lives only in its journal.
    throw new UsageError(
      `deploy ${deployId} ran in waves (instances ${done.map((i) => i.id).join(', ')} are done, the others are not), and its journal record is gone: its waves cannot be rebuilt from AWS`,
      `restore its record into the journal folder, or finish by hand: mackerel-replacer status ${deployId}`,
    );
  }
  const hosts = await deps.monitor.hosts(spec.service, spec.role, call);
  const oldIds = oldInstances.map((instance) => instance.id);
  const hostOf = new Map(hosts.map((host) => [host.instanceId, host]));
  const running = new Set(oldInstances.filter((i) => !isEnding(i.state)).map((i) => i.id));
  const byId = new Map(oldInstances.map((instance) => [instance.id, instance]));
  const byAz: Record<string, string[]> = {};
  for (const instance of launched) byAz[instance.az] = [...(byAz[instance.az] ?? []), instance.id];
  const launches = (first?.tags[TAG_PLAN] ?? '')
    .split(',')
    .filter(Boolean)
    .map((entry) => {
      const [az = '', count = '0'] = entry.split('=');
      return {
        az,
        subnetId: launched.find((i) => i.az === az)?.subnetId ?? '',
        count: Number(count),
        clientToken: clientToken(deployId, az),
      };
    });
  const terminated = oldIds.filter((id) => !running.has(id));
  // A kept fleet (keep.ts): cut over already; what is left is finishing or rolling back.
  const kept = first?.tags[TAG_STATE] === KEPT;
  // A held fleet (hold.ts): verified beside the old one, waiting for `cutover` or `rollback`.
  const held = first?.tags[TAG_STATE] === HELD;
  return {
    version: 1,
    deployId,
    env: spec.env,
    role: spec.role,
    service: spec.service,
    runner: first?.tags[TAG_RUNNER] ?? 'unknown',
    startedAt: Date.parse(first?.tags[TAG_STARTED] ?? '') || 0,
    updatedAt: now,
    // A deploy that stopped before EC2 launched anything can only be undone: its plan is lost.
    ...(first
      ? { status: kept ? ('kept' as const) : held ? ('held' as const) : ('interrupted' as const) }
      : { status: 'rolling-back' as const, reason: 'recovered from AWS: nothing was launched' }),
    // Re-verifying is always safe while the old fleet is whole; after a termination, only the rest of the retirement is left.
    step: terminated.length > 0 || kept ? 'terminate' : 'launch',
    image: { id: first?.imageId ?? '', name: first?.tags[TAG_AMI_NAME] ?? first?.imageId ?? '', state: 'available', createdAt: '' },
    vars: varsOfTags(first?.tags ?? {}),
    snapshot: oldIds.map((id) => ({
      hostId: hostOf.get(id)?.id ?? '',
      hostName: hostOf.get(id)?.name ?? id,
      hostStatus: hostOf.get(id)?.status === 'maintenance' || kept ? 'working' : (hostOf.get(id)?.status ?? 'working'),
      instanceId: id,
      az: byId.get(id)?.az ?? '',
      imageId: byId.get(id)?.imageId ?? '',
    })),
    launches,
    launched: byAz,
    registeredGroups: [...spec.targetGroups],
    cutoverBegun: kept || oldIds.some((id) => hostOf.get(id)?.status === 'maintenance'),
    terminated,
    leftovers: [],
  };
};
