// The old fleet goes only while the new one serves: right before any old instance is terminated,
// the new fleet is observed again through the gates that let it in.
import type { Deployment } from './context.js';
import type { Call } from './ports.js';
import { launchedIds } from './record.js';
import { TAG_DEPLOY } from './tags.js';
import { healthVerdict, registrationVerdict } from './verdicts.js';
import { observeGroups } from './verify.js';
import type { Verdict } from './wait.js';

/** The new fleet stopped serving; terminating anything old would leave the role short, or with nothing. */
export class NotServing extends Error {
  override readonly name = 'NotServing';
}

const unmet = (verdict: Verdict): readonly string[] =>
  verdict.kind === 'passed' ? [] : verdict.kind === 'failed' ? [verdict.reason] : verdict.waitingFor;

/**
 * One look, three calls whatever the fleet's size: every new instance running, a host of the role
 * in Mackerel (working or standby), and in web mode healthy in every target group. Throws
 * NotServing naming what is not so.
 */
export const checkServing = async (run: Deployment, call: Call): Promise<void> => {
  const { spec, deps, record } = run;
  const ids = launchedIds(record);
  const [running, roleHosts, groups] = await Promise.all([
    deps.fleet.findByTag(TAG_DEPLOY, record.deployId, call, { states: ['running'] }),
    deps.monitor.hosts(spec.service, spec.role, call),
    observeGroups(deps.balancer, spec.targetGroups, call),
  ]);
  const up = new Set(running.map((instance) => instance.id));
  const registered = registrationVerdict(`${spec.service}:${spec.role}`, ids, {
    roleHosts,
    lookedUp: new Map(),
    earlierClaims: new Map(),
  });
  const problems = [
    ...ids.filter((id) => !up.has(id)).map((id) => `${id} is not running`),
    ...unmet(registered),
    ...unmet(healthVerdict(ids, groups)),
  ];
  if (problems.length > 0) throw new NotServing(`the new fleet does not serve: ${problems.join(', ')}`);
};
