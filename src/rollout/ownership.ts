import type { Instance, Subnet } from './ports.js';
import type { RoleSpec } from './spec.js';

export const TAG_ENV = 'mackerel-replacer:env';
/** The ownership tag: `<env>/<role>`. Only instances carrying it are ever terminated. */
export const TAG_OWNER = 'mackerel-replacer:role';
export const TAG_DEPLOY = 'mackerel-replacer:deploy-id';
export const TAG_MANAGED_BY = 'managed-by';

export const ownerValue = (spec: RoleSpec): string => `${spec.env}/${spec.role}`;

/**
 * Why this instance may not be terminated as part of the role, or undefined when it may.
 * Checked at snapshot time and again right before termination.
 */
export const ownershipProblem = (
  spec: RoleSpec,
  subnets: readonly Subnet[],
  instance: Instance | undefined,
): string | undefined => {
  if (!instance || instance.state === 'terminated') return 'does not exist in EC2';
  if (instance.state === 'shutting-down') return 'is already shutting down';
  const vpcs = new Set(subnets.map((subnet) => subnet.vpcId));
  if (!vpcs.has(instance.vpcId)) return `is in ${instance.vpcId}, not in the role's VPC (${[...vpcs].join(', ')})`;
  const owner = instance.tags[TAG_OWNER];
  if (owner !== ownerValue(spec)) {
    return `does not carry the ownership tag ${TAG_OWNER}=${ownerValue(spec)}${owner ? ` (it has ${owner})` : ''}`;
  }
  return undefined;
};
