import type { Outcome, Summary } from '../rollout/deploy.js';
import type { DeployEvent } from '../rollout/events.js';
import type { Plan } from '../rollout/plan.js';
import { type Promotion, formatVars } from '../rollout/promotion.js';
import type { Snapshot } from '../rollout/snapshot.js';
import { groupName } from '../rollout/verdicts.js';

export type Write = (line: string) => void;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
/** `45s`, `10m`, `1m30s`, `2h5m`: whole seconds, for a console line. */
export const duration = (ms: number): string => {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) return `${h}h${m > 0 ? `${m}m` : ''}`;
  if (m > 0) return `${m}m${sec > 0 ? `${sec}s` : ''}`;
  return `${sec}s`;
};

const list = (ids: readonly string[]): string => (ids.length > 0 ? ids.join(', ') : '-');

/** Turns engine events into timestamped progress lines. */
export const renderEvent = (event: DeployEvent): string | undefined => {
  switch (event.type) {
    case 'deploy.started':
      return `deploy ${event.deployId}: ${event.action === 'replace' ? 'replacing' : `${event.action} of`} ${event.service}:${event.role} (${event.env}, ${event.mode} mode)`;
    case 'phase.started':
      return `${event.phase} ...`;
    case 'phase.done':
      return `${event.phase} done in ${seconds(event.ms)}`;
    case 'promotion.found':
      return `  promoting ${promoted(event.promotion)}`;
    case 'image.resolved':
      return `  image ${event.image.id} (${event.image.name}, created ${event.image.createdAt})`;
    case 'snapshot.taken':
      return `  ${event.members.length} old instances: ${list(event.members.map((m) => `${m.instanceId} (${m.az}, host ${m.hostId})`))}`;
    case 'plan.made':
      return [
        ...(event.plan.vars && event.plan.vars.length > 0
          ? [`  user data variables: ${event.plan.vars.map((v) => `${v.name}=${v.value} (${v.from})`).join(', ')}`]
          : []),
        ...event.plan.launches.map((l) => `  launch ${l.count} in ${l.az} (${l.subnetId})`),
        ...(event.plan.instanceTypes ? [`  instance types, each AZ in this order: ${event.plan.instanceTypes.join(', ')}`] : []),
      ].join('\n');
    case 'launch.done':
      return `  ${event.launch.az}: launched ${list(event.instanceIds)} (${event.instanceType})`;
    case 'launch.failed':
      return `  ${event.launch.az}: launch failed: ${event.error}`;
    case 'waiting':
      return `${event.phase}: ${event.done}/${event.total} ${event.what}; waiting on ${event.pending.join(', ')}, ${duration(event.elapsedMs)}${event.timeoutMs === undefined ? '' : ` of ${duration(event.timeoutMs)}`}`;
    case 'step.done':
      return `  ${event.what}: ${list(event.ids)}`;
    case 'rollback.started':
      return `rolling back: ${event.reason}`;
    case 'warning':
      return `warning: ${event.message}`;
    case 'hook.started':
      return `hook ${event.hook}: ${event.command}`;
    case 'hook.output':
      return `  ${event.hook}| ${event.line}`;
    case 'hook.done':
      return `hook ${event.hook} ${event.failure === undefined ? 'passed' : `failed: ${event.failure}`} in ${seconds(event.ms)}`;
  }
};

const promoted = (promotion: Promotion): string =>
  `${promotion.env} deploy ${promotion.deployId}: ${promotion.image.id} (${promotion.image.name}), ${formatVars(promotion.vars)}; running on ${list(promotion.instanceIds)}`;

export const renderPlan = (plan: Plan, snapshot: Snapshot, targetGroups: readonly string[]): string[] => [
  `plan for deploy ${plan.deployId} (nothing was changed):`,
  ...(plan.promotion ? [`  promoted from: ${promoted(plan.promotion)}`] : []),
  `  image: ${plan.image.id} (${plan.image.name})`,
  ...(plan.vars && plan.vars.length > 0 ? [`  user data variables:`, ...plan.vars.map((v) => `    ${v.name}=${v.value} (${v.from})`)] : []),
  `  old: ${snapshot.members.length} instances: ${list(snapshot.members.map((m) => `${m.instanceId} (${m.az})`))}`,
  ...plan.launches.map((l) => `  new: ${l.count} in ${l.az} via ${l.subnetId}`),
  `  gates: Mackerel registration${targetGroups.length > 0 ? `, target health in ${targetGroups.map(groupName).join(', ')}` : ''}`,
];

export const renderSummary = (summary: Summary): string[] => [
  `replaced: deploy ${summary.deployId} in ${seconds(summary.totalMs)}`,
  `  image: ${list(summary.oldImageIds)} -> ${summary.newImageId}`,
  ...summary.perAz.map((az) => `  ${az.az}: ${list(az.old)} -> ${list(az.new)}${az.instanceType ? ` (${az.instanceType})` : ''}`),
  `  phases: ${Object.entries(summary.phaseMs)
    .map(([phase, ms]) => `${phase} ${seconds(ms)}`)
    .join(', ')}`,
];

export const renderFailure = (outcome: Extract<Outcome, { kind: 'rolled-back' | 'incomplete' }>): string[] =>
  outcome.kind === 'rolled-back'
    ? [
        `rolled back deploy ${outcome.deployId}: ${outcome.reason}`,
        '  the new instances were terminated and their hosts retired; the old fleet is as it was',
      ]
    : [
        `INCOMPLETE: deploy ${outcome.deployId}: ${outcome.reason}`,
        '  a person must finish. What is left, and the command that finishes it:',
        ...outcome.leftovers.flatMap((left) => [`  - ${left.what}`, `      ${left.fix}`]),
      ];
