import type { Outcome, Summary } from '../rollout/deploy.js';
import type { DeployEvent } from '../rollout/events.js';
import { blockDeviceLabel, metadataLabel, templateLabel } from '../rollout/launch-template.js';
import type { Plan } from '../rollout/plan.js';
import type { Image } from '../rollout/ports.js';
import { type Promotion, formatVars } from '../rollout/promotion.js';
import type { Snapshot } from '../rollout/snapshot.js';
import type { RoleSpec } from '../rollout/spec.js';
import { groupName } from '../rollout/verdicts.js';
import type { Waves } from '../rollout/waves.js';

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

const pacingLine = ({ bucket, rounds, refillMs }: NonNullable<Plan['pacing']>): string =>
  `  paced: EC2's launch bucket holds ${bucket.burst} instances and refills ${bucket.refillPerSecond}/s, so ${rounds} rounds, the last about ${duration(refillMs)} after the first`;

const list = (ids: readonly string[]): string => (ids.length > 0 ? ids.join(', ') : '-');

/**
 * Progress and summary lines name this many instances or hosts at most: at 2,000 a line would
 * otherwise run to 130,000 characters. `--json` and `--report` keep every one, and so does the plan.
 */
const NAMED = 10;

const some = (ids: readonly string[]): string =>
  ids.length > NAMED ? `${ids.slice(0, NAMED).join(', ')} and ${ids.length - NAMED} more` : list(ids);

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
      return `  ${event.members.length} old instances: ${some(event.members.map((m) => `${m.instanceId} (${m.az}, host ${m.hostId} ${m.hostStatus})`))}`;
    case 'plan.made':
      return [
        ...(event.plan.vars && event.plan.vars.length > 0
          ? [`  user data variables: ${event.plan.vars.map((v) => `${v.name}=${v.value} (${v.from})`).join(', ')}`]
          : []),
        ...event.plan.launches.map((l) => `  launch ${l.count} in ${l.az} (${l.subnetId})`),
        ...(event.plan.pacing ? [pacingLine(event.plan.pacing)] : []),
        ...(event.plan.waves ? wavesLines(event.plan.waves) : []),
        ...(event.plan.instanceTypes ? [`  instance types, each AZ in this order: ${event.plan.instanceTypes.join(', ')}`] : []),
      ].join('\n');
    case 'wave.started':
      return `wave ${event.wave} of ${event.of}: launch ${event.launches.map((l) => `${l.count} in ${l.az}`).join(', ')}; then retire ${some(event.old)}`;
    case 'launch.done':
      return `  ${event.launch.az}: launched ${some(event.instanceIds)} (${event.instanceType})`;
    case 'launch.failed':
      return `  ${event.launch.az}: launch failed: ${event.error}`;
    case 'launch.paced':
      return `launch: ${event.launched} of ${event.total} launched; the rest as EC2's launch bucket refills (${event.refillPerSecond}/s), about ${duration(event.remainingMs)}`;
    case 'waiting':
      return `${event.phase}: ${event.done}/${event.total} ${event.what}; waiting on ${some(event.pending)}, ${duration(event.elapsedMs)}${event.timeoutMs === undefined ? '' : ` of ${duration(event.timeoutMs)}`}`;
    case 'step.done':
      return `  ${event.what}: ${some(event.ids)}`;
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
    // For reports (--report, --json); the console lines already say what these say.
    case 'record.loaded':
    case 'instances.marked':
      return undefined;
  }
};

const promoted = ({ env, accounts, deployId, image, vars, instanceIds }: Promotion): string =>
  accounts
    ? `${env} (${accounts.source}) deploy ${deployId}: ${image.id} shared with ${accounts.target} (${image.name}), ${formatVars(vars)}; running on ${list(instanceIds)}`
    : `${env} deploy ${deployId}: ${image.id} (${image.name}), ${formatVars(vars)}; running on ${list(instanceIds)}`;

const imageLabel = (image: Image): string => `${image.id} (${image.name}, created ${image.createdAt})`;

/** The old fleet's images, as EC2 describes them now, then the new one. */
const imageChange = (plan: Plan, snapshot: Snapshot): string => {
  const oldIds = [...new Set(snapshot.members.map((member) => member.imageId))];
  const old = oldIds.map((id) => {
    const image = snapshot.images.find((known) => known.id === id);
    return image ? imageLabel(image) : `${id} (deregistered)`;
  });
  return `${old.length > 0 ? old.join(', ') : 'none'} -> ${imageLabel(plan.image)}`;
};

/** Per AZ: the old instances and what replaces them; then the checks that passed and what is terminated. */
export const renderPlan = (plan: Plan, snapshot: Snapshot, spec: Pick<RoleSpec, 'targetGroups' | 'gates' | 'stableFor'>): string[] => {
  const azs = [...new Set([...plan.launches.map((launch) => launch.az), ...snapshot.members.map((member) => member.az)])];
  return [
    `plan for deploy ${plan.deployId} (nothing was changed):`,
    ...(plan.promotion ? [`  promoted from: ${promoted(plan.promotion)}`] : []),
    `  image: ${imageChange(plan, snapshot)}`,
    ...snapshot.held.map(
      ({ deployId, instanceIds }) => `  held: deploy ${deployId}, ${instanceIds.length} new instances verified, switched by cutover`,
    ),
    ...(plan.vars && plan.vars.length > 0
      ? [`  user data variables:`, ...plan.vars.map((v) => `    ${v.name}=${v.value} (${v.from})`)]
      : []),
    ...azs.flatMap((az) => {
      const old = snapshot.members.filter((member) => member.az === az);
      const launch = plan.launches.find((l) => l.az === az);
      return [
        `  ${az}:`,
        ...(old.length > 0
          ? old.map((m) => `    old: ${m.instanceId} ${m.imageId} launched ${m.launchedAt ?? '?'}, host ${m.hostId} ${m.hostStatus}`)
          : ['    old: none']),
        launch ? `    new: ${launch.count} x ${plan.instanceType} in ${launch.subnetId}` : '    new: none',
      ];
    }),
    ...(plan.launchTemplate ? [`  launch template: ${templateLabel(plan.launchTemplate)}`] : []),
    ...(plan.metadataOptions ? [`  instance metadata: ${metadataLabel(plan.metadataOptions)}`] : []),
    ...(plan.blockDevices ? [`  block devices: ${plan.blockDevices.map(blockDeviceLabel).join('; ')}`] : []),
    ...(plan.pacing ? [pacingLine(plan.pacing)] : []),
    ...(plan.waves ? wavesLines(plan.waves) : []),
    `  checks passed:`,
    ...plan.checks.map((check) => `    ${check}`),
    `  gates: ${gateNames(spec)}`,
    `  terminated once the new fleet passes: ${list(snapshot.members.map((member) => member.instanceId))}`,
  ];
};

/** The gates verification waits for, as the plan names them, and what `stableFor` covers. */
const gateNames = ({ targetGroups, gates, stableFor }: Pick<RoleSpec, 'targetGroups' | 'gates' | 'stableFor'>): string => {
  const health = targetGroups.length > 0 ? `target health in ${targetGroups.map(groupName).join(', ')}` : undefined;
  const mackerel = [
    ...(gates?.metrics ? [`${gates.metrics.name} posted within ${duration(gates.metrics.maxAge)}`] : []),
    ...(gates?.alerts ? [`no open ${gates.alerts.statuses.join('/')} alert`] : []),
  ];
  const held = `held for ${stableFor < 1000 ? `${stableFor}ms` : duration(stableFor)}`;
  if (mackerel.length === 0) return ['Mackerel registration', ...(health ? [`${health} ${held}`] : [])].join(', ');
  return `${['Mackerel registration', ...(health ? [health] : []), ...mackerel].join(', ')}, all ${held}`;
};

const wavesLines = (waves: Waves): string[] => [
  `  in ${waves.waves.length} waves${waves.forcedBy ? `, forced by ${waves.forcedBy}` : ''}:`,
  ...waves.waves.map(
    (wave, i) => `    wave ${i + 1}: new ${wave.launches.map((l) => `${l.count} in ${l.az}`).join(', ') || 'none'}; old ${wave.old.length}`,
  ),
];

export const renderSummary = (summary: Summary): string[] => [
  `replaced: deploy ${summary.deployId} in ${seconds(summary.totalMs)}`,
  `  image: ${list(summary.oldImageIds)} -> ${summary.newImageId}`,
  ...summary.perAz.map((az) => `  ${az.az}: ${some(az.old)} -> ${some(az.new)}${az.instanceType ? ` (${az.instanceType})` : ''}`),
  `  phases: ${Object.entries(summary.phaseMs)
    .map(([phase, ms]) => `${phase} ${seconds(ms)}`)
    .join(', ')}`,
];

export const renderFailure = (outcome: Extract<Outcome, { kind: 'rolled-back' | 'incomplete' }>): string[] =>
  outcome.kind === 'rolled-back'
    ? [
        `rolled back deploy ${outcome.deployId}: ${outcome.reason}`,
        ...(outcome.waves && outcome.waves.completed > 0
          ? [
              `  waves 1 to ${outcome.waves.completed} of ${outcome.waves.total} completed and stay in service; wave ${outcome.waves.completed + 1} was rolled back: its new instances were terminated and its old ones are as they were; later waves were not started`,
            ]
          : [
              outcome.undone === 0
                ? '  no new instance had been launched; the old fleet is as it was'
                : '  the new instances were terminated and their hosts retired; the old fleet is as it was',
            ]),
        ...(outcome.journal
          ? [`  but ${outcome.journal.what}`, `  once the journal folder can be written, settle the record: ${outcome.journal.fix}`]
          : []),
      ]
    : [
        `INCOMPLETE: deploy ${outcome.deployId}: ${outcome.reason}`,
        '  a person must finish. What is left, and the command that finishes it:',
        ...outcome.leftovers.flatMap((left) => [`  - ${left.what}`, `      ${left.fix}`]),
      ];
