import { ApiError } from './errors.js';
import type { Call, Host, Monitor } from './ports.js';
import type { RoleSpec } from './spec.js';

/** Enough for hosts whose agents retire them (AUTO_RETIREMENT) while we do, one after another. */
const ATTEMPTS = 3;

/**
 * Retires the role's hosts that `wanted` picks and returns their ids. A host already retired,
 * by its own agent at shutdown (AUTO_RETIREMENT=1) or by anyone else, counts as done: Mackerel
 * answers 404 for the whole call then, so the hosts are listed again and the rest retired.
 */
export const retireHosts = async (
  spec: Pick<RoleSpec, 'service' | 'role'>,
  monitor: Monitor,
  wanted: (host: Host) => boolean,
  call: Call,
): Promise<string[]> => {
  for (let attempt = 1; ; attempt++) {
    const live = (await monitor.hosts(spec.service, spec.role, call)).filter(wanted).map((host) => host.id);
    try {
      await monitor.retire(live, call);
      return live;
    } catch (error) {
      if (!(error instanceof ApiError && error.code === '404') || attempt === ATTEMPTS) throw error;
    }
  }
};
