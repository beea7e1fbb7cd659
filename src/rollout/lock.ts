import type { Deps } from './context.js';
import { UsageError } from './errors.js';
import type { Call } from './ports.js';
import { isOpen } from './record.js';
import { HELD, IN_FLIGHT, TAG_DEPLOY, TAG_OWNER, TAG_RUNNER, TAG_STARTED, TAG_STATE, ownerValue } from './tags.js';
import type { RoleSpec } from './spec.js';

interface InFlight {
  readonly deployId: string;
  readonly startedAt: string;
  readonly runner: string;
  readonly status: string;
}

/**
 * One deploy per env and role: refuses while another is in flight, as the journal knows it or as
 * the in-flight tags on instances in AWS show it (a deploy started on another machine). Only
 * checks. `forceUnlock` names a deploy known dead, which is ignored (see abandon); `self` is the
 * deploy asking, once it has a record and instances of its own.
 */
export const checkLock = async (
  spec: RoleSpec,
  deps: Deps,
  call: Call,
  { forceUnlock, self }: { forceUnlock?: string; self?: string } = {},
): Promise<void> => {
  const others = new Map<string, InFlight>();
  for (const record of await deps.journal.list()) {
    if (record.env !== spec.env || record.role !== spec.role || !isOpen(record)) continue;
    if (record.deployId === self || record.deployId === forceUnlock) continue;
    const startedAt = new Date(record.startedAt).toISOString();
    others.set(record.deployId, {
      deployId: record.deployId,
      startedAt,
      runner: record.runner,
      status: `${record.status} at ${record.step}`,
    });
  }
  // A held deploy (hold.ts) is still open: it holds the lock as an in-flight one does.
  for (const instance of await deps.fleet.findByTag(TAG_STATE, [IN_FLIGHT, HELD], call)) {
    const deployId = instance.tags[TAG_DEPLOY];
    if (!deployId || instance.tags[TAG_OWNER] !== ownerValue(spec) || deployId === forceUnlock || deployId === self) continue;
    if (others.has(deployId)) continue;
    others.set(deployId, {
      deployId,
      startedAt: instance.tags[TAG_STARTED] ?? 'unknown',
      runner: instance.tags[TAG_RUNNER] ?? 'unknown',
      status: instance.tags[TAG_STATE] === HELD ? 'held (seen in AWS)' : 'in flight (seen in AWS)',
    });
  }
  const [other] = others.values();
  if (other) {
    throw new UsageError(
      `another deploy of ${spec.env}/${spec.role} is in flight: ${other.deployId}, started ${other.startedAt} on ${other.runner}, ${other.status}`,
      `finish it with "mackerel-replacer ${other.status.startsWith('held') ? 'cutover' : 'resume'} ${other.deployId}" or undo it with "mackerel-replacer rollback ${other.deployId}"; ` +
        `only if it is known dead and cleaned up: --force-unlock ${other.deployId}`,
    );
  }
};

/** `--force-unlock`: the operator says this deploy is dead and cleaned up; its record says so from now on. */
export const abandon = async (deps: Pick<Deps, 'journal'>, deployId: string): Promise<void> => {
  const record = await deps.journal.load(deployId);
  if (!record || !isOpen(record)) return;
  record.status = 'abandoned';
  await deps.journal.save(record);
};
