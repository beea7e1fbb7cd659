// Capacity fallback: an AZ without capacity for the preferred instance type gets the next type of
// the role's `instanceTypes`. Each type has its own ClientToken (a token is bound to its
// parameters), and the type is recorded before it is tried, so a resume starts from it and never
// launches a second type where the first one already came up.
import type { Emit } from './events.js';
import { ApiError } from './errors.js';
import type { AzLaunch } from './plan.js';
import type { Call, Fleet, Instance, LaunchRequest } from './ports.js';
import type { RoleSpec } from './spec.js';

/** The types to try, in order: `instanceTypes`, or the one `instanceType` (none before a launch template's version is pinned). */
export const instanceTypesOf = (spec: Pick<RoleSpec, 'instanceType' | 'instanceTypes'>): readonly string[] =>
  spec.instanceTypes ?? (spec.instanceType === undefined ? [] : [spec.instanceType]);

/** The first type to try; a spec with a launch template has one only once its version is pinned. */
export const preferredType = (spec: Pick<RoleSpec, 'instanceType' | 'instanceTypes'>): string => {
  const [first] = instanceTypesOf(spec);
  if (first === undefined) throw new Error('no instance type: the launch template version was not pinned before launching');
  return first;
};

/** The plan's token for the first type, a token of its own for each fallback. */
export const typeToken = (clientToken: string, index: number): string => (index === 0 ? clientToken : `${clientToken}/t${index}`);

// The type cannot launch in this AZ now (no capacity) or at all (not offered: preflight warned it is skipped there).
const cannotLaunchHere = (error: unknown): boolean =>
  error instanceof ApiError && (error.code === 'InsufficientInstanceCapacity' || error.code === 'Unsupported');

export interface AzAttempts {
  /** The type last tried in this AZ (from the journal), or undefined: start with the first. */
  readonly triedBefore: string | undefined;
  /** Persists the type about to be tried, before the call. */
  readonly trying: (instanceType: string) => Promise<void>;
}

/** Launches one AZ of the plan with the first type EC2 has capacity for; throws the last type's error when none has. */
export const launchInAz = async (
  spec: RoleSpec,
  launch: AzLaunch,
  request: LaunchRequest,
  deps: { fleet: Fleet; emit: Emit },
  call: Call,
  attempts: AzAttempts,
): Promise<{ instances: Instance[]; instanceType: string }> => {
  const types = instanceTypesOf(spec);
  let index = Math.max(0, types.indexOf(attempts.triedBefore ?? types[0]!));
  for (;;) {
    const instanceType = types[index]!;
    // One type: nothing to choose, so nothing to record.
    if (types.length > 1) await attempts.trying(instanceType);
    try {
      const instances = await deps.fleet.launch({ ...request, instanceType, clientToken: typeToken(launch.clientToken, index) }, call);
      return { instances, instanceType };
    } catch (error) {
      const next = types[index + 1];
      if (!cannotLaunchHere(error) || next === undefined) throw error;
      const why =
        (error as ApiError).code === 'Unsupported'
          ? `${instanceType} not offered (Unsupported)`
          : `no ${instanceType} capacity (InsufficientInstanceCapacity)`;
      deps.emit({ type: 'warning', message: `${launch.az}: ${why}; trying ${next}` });
      index++;
    }
  }
};
