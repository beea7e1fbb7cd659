import type { Instance, Subnet } from './ports.js';
import type { RoleSpec } from './spec.js';
import { TAG_OWNER, ownerValue } from './tags.js';

/** The ownership tag when the config names none. */
export const defaultOwnership = (env: string, role: string): RoleSpec['ownership'] => ({
  tag: TAG_OWNER,
  value: ownerValue({ env, role }),
});

/**
 * Why this instance may not be terminated as part of the role, or undefined when it may: it must
 * be in the role's VPC and carry the ownership tag, whatever its state. Checked at snapshot time
 * and again right before termination.
 */
export const ownershipProblem = (spec: RoleSpec, subnets: readonly Subnet[], instance: Instance): string | undefined => {
  const vpcs = new Set(subnets.map((subnet) => subnet.vpcId));
  if (!vpcs.has(instance.vpcId)) return `is in ${instance.vpcId}, not in the role's VPC (${[...vpcs].join(', ')})`;
  const { tag, value } = spec.ownership;
  const found = instance.tags[tag];
  if (found !== value) {
    return `does not carry the ownership tag ${tag}=${value}${found === undefined ? '' : ` (it has ${tag}=${found})`}`;
  }
  return undefined;
};
