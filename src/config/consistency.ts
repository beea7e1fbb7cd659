import { formatDuration } from './duration.js';
import { dotted, type Problem } from './issues.js';
import type { ConfigFile } from './schema.js';

/** Rules across fields, checked once every field is valid on its own. */
export const checkConsistency = (config: ConfigFile): Problem[] => {
  const roles = Object.entries(config.environments).flatMap(([env, { roles }]) =>
    Object.entries(roles).map(([name, role]) => ({ path: ['environments', env, 'roles', name], role })),
  );
  const problems: Problem[] = [];
  for (const { path, role } of roles) {
    const subnets = role.subnets.length;
    if (role.perAz !== 'match' && role.perAz * subnets > role.maxInstances) {
      problems.push({
        path: dotted([...path, 'perAz']),
        problem: `${role.perAz} per AZ in ${subnets} subnet${subnets > 1 ? 's' : ''} is ${role.perAz * subnets} new instances, more than maxInstances (${role.maxInstances}); lower perAz or raise maxInstances`,
      });
    }
  }
  for (const { path, role } of roles) {
    if (role.workerDrain !== undefined && role.targetGroups.length > 0) {
      problems.push({
        path: dotted([...path, 'workerDrain']),
        problem: "applies to worker roles only (no targetGroups); a web role drains by its target groups' deregistration delay",
      });
    }
  }
  problems.push(...missingAccounts(config));
  // Every wait must poll at least once before its deadline.
  const [shortest] = roles
    .flatMap(({ path, role }) => Object.entries(role.timeouts).map(([name, ms]) => ({ field: dotted([...path, 'timeouts', name]), ms })))
    .sort((a, b) => a.ms - b.ms);
  if (shortest && config.pollInterval >= shortest.ms) {
    problems.push({
      path: 'pollInterval',
      problem: `${formatDuration(config.pollInterval)} is not shorter than ${shortest.field} (${formatDuration(shortest.ms)}); every wait must poll before its deadline`,
    });
  }
  return problems;
};

/** Environments reached with different credentials must each name their account, for the guard to tell them apart. */
const missingAccounts = (config: ConfigFile): Problem[] => {
  const environments = Object.entries(config.environments);
  const sources = new Set(environments.map(([, { aws }]) => JSON.stringify([aws?.profile, aws?.assumeRole?.roleArn])));
  if (sources.size < 2) return [];
  return environments
    .filter(([, { aws }]) => aws?.accountId === undefined)
    .map(([env]) => ({
      path: dotted(['environments', env, 'aws', 'accountId']),
      problem:
        'required: the environments take their AWS credentials from different profiles or roles, so each names the account its credentials must be for',
    }));
};
