import { el, leaf, listEl, listParam, QueryError, requiredParam, structListParam } from './query.js';
import { deregisterTargets, registerTargets } from './targets.js';
import { ACCOUNT_ID, type ActionContext, type SimTarget, type SimTargetGroup, type World } from './world.js';

type ElbHandler = (params: URLSearchParams, context: ActionContext) => string;

const notFound = () => new QueryError(400, 'TargetGroupNotFound', 'One or more target groups not found');

const groupOf = (world: World, params: URLSearchParams): SimTargetGroup => {
  const group = world.targetGroups.get(requiredParam(params, 'TargetGroupArn'));
  if (!group) throw notFound();
  return group;
};

const loadBalancerArn = (world: World) =>
  `arn:aws:elasticloadbalancing:${world.region}:${ACCOUNT_ID}:loadbalancer/app/sandbox/0123456789abcdef`;

const seconds = (ms: number) => Math.round(ms / 1000);

const groupXml = (world: World, group: SimTargetGroup): string =>
  [
    leaf('TargetGroupArn', group.arn),
    leaf('TargetGroupName', group.name),
    leaf('Protocol', 'HTTP'),
    leaf('Port', group.port),
    leaf('VpcId', group.vpcId),
    leaf('HealthCheckProtocol', 'HTTP'),
    leaf('HealthCheckPort', 'traffic-port'),
    leaf('HealthCheckEnabled', true),
    leaf('HealthCheckIntervalSeconds', seconds(world.timing.healthInterval)),
    leaf('HealthCheckTimeoutSeconds', Math.max(1, seconds(world.timing.healthInterval) - 1)),
    leaf('HealthyThresholdCount', world.timing.healthyThreshold),
    leaf('UnhealthyThresholdCount', world.timing.unhealthyThreshold),
    leaf('HealthCheckPath', '/'),
    el('Matcher', leaf('HttpCode', '200')),
    listEl('LoadBalancerArns', 'member', [loadBalancerArn(world)]),
    leaf('TargetType', group.targetType),
    leaf('ProtocolVersion', 'HTTP1'),
    leaf('IpAddressType', 'ipv4'),
  ].join('');

const describeTargetGroups: ElbHandler = (params, { world }) => {
  const arns = listParam(params, 'TargetGroupArns.member');
  const names = listParam(params, 'Names.member');
  const all = [...world.targetGroups.values()];
  const groups =
    arns.length > 0 ? arns.map((arn) => world.targetGroups.get(arn)) : names.length > 0 ? names.map((name) => all.find((g) => g.name === name)) : all;
  if (groups.some((group) => group === undefined)) throw notFound();
  return listEl(
    'TargetGroups',
    'member',
    groups.map((group) => groupXml(world, group!)),
  );
};

const describeTargetGroupAttributes: ElbHandler = (params, { world }) => {
  groupOf(world, params);
  const attributes = {
    'deregistration_delay.timeout_seconds': String(seconds(world.timing.deregistrationDelay)),
    'stickiness.enabled': 'false',
    'slow_start.duration_seconds': '0',
    'load_balancing.algorithm.type': 'round_robin',
  };
  return listEl(
    'Attributes',
    'member',
    Object.entries(attributes).map(([key, value]) => leaf('Key', key) + leaf('Value', value)),
  );
};

const targetIds = (params: URLSearchParams): string[] => structListParam(params, 'Targets.member').map((target) => target.get('Id') ?? '');

const checkInstances = (world: World, ids: readonly string[], live: boolean): void => {
  const unknown = ids.filter((id) => !world.instances.has(id));
  if (unknown.length > 0) throw new QueryError(400, 'InvalidTarget', `The following targets are not valid instances: '${unknown.join("', '")}'`);
  const stopped = ids.filter((id) => ['shutting-down', 'terminated'].includes(world.instances.get(id)!.state));
  if (live && stopped.length > 0) {
    throw new QueryError(400, 'InvalidTarget', `The following targets are not in a running state and cannot be registered: '${stopped.join("', '")}'`);
  }
};

const changeTargets =
  (live: boolean, apply: typeof registerTargets): ElbHandler =>
  (params, { world, now }) => {
    const group = groupOf(world, params);
    const ids = targetIds(params);
    if (ids.length === 0) throw new QueryError(400, 'ValidationError', 'Targets must contain at least one target');
    checkInstances(world, ids, live);
    apply(world, group, ids, now);
    return '';
  };

const descriptions: Record<string, string> = {
  'Elb.RegistrationInProgress': 'Target registration is in progress',
  'Elb.InitialHealthChecking': 'Initial health checks in progress',
  'Target.FailedHealthChecks': 'Health checks failed',
  'Target.Timeout': 'Request timed out',
  'Target.DeregistrationInProgress': 'Target deregistration is in progress',
  'Target.InvalidState': 'Target is in the stopped or terminated state',
  'Target.NotRegistered': 'Target is not registered to the target group',
};

const healthXml = (id: string, target: Pick<SimTarget, 'port' | 'state' | 'reason'>): string =>
  el('Target', leaf('Id', id), leaf('Port', target.port)) +
  leaf('HealthCheckPort', String(target.port)) +
  el(
    'TargetHealth',
    leaf('State', target.state),
    leaf('Reason', target.reason),
    leaf('Description', target.reason === undefined ? undefined : descriptions[target.reason]),
  );

const describeTargetHealth: ElbHandler = (params, { world }) => {
  const group = groupOf(world, params);
  const ids = targetIds(params);
  checkInstances(world, ids, false);
  const entries =
    ids.length > 0
      ? ids.map((id) => healthXml(id, group.targets.get(id) ?? { port: group.port, state: 'unused', reason: 'Target.NotRegistered' }))
      : [...group.targets.values()].map((target) => healthXml(target.id, target));
  return listEl('TargetHealthDescriptions', 'member', entries);
};

export const elbActions: Readonly<Record<string, ElbHandler>> = {
  DescribeTargetGroups: describeTargetGroups,
  DescribeTargetGroupAttributes: describeTargetGroupAttributes,
  RegisterTargets: changeTargets(true, registerTargets),
  DeregisterTargets: changeTargets(false, deregisterTargets),
  DescribeTargetHealth: describeTargetHealth,
};

export const elbMutates = (action: string): boolean => action === 'RegisterTargets' || action === 'DeregisterTargets';
