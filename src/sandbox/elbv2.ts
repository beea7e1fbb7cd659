import { el, leaf, listEl, listParam, QueryError, requiredParam, structListParam } from './query.js';
import { deregisterTargets, registerTargets } from './targets.js';
import { type ActionContext, type SimLoadBalancer, type SimTarget, type SimTargetGroup, VPC_ID, type World } from './world.js';

type ElbHandler = (params: URLSearchParams, context: ActionContext) => string;

const notFound = () => new QueryError(400, 'TargetGroupNotFound', 'One or more target groups not found');

const groupOf = (world: World, params: URLSearchParams): SimTargetGroup => {
  const group = world.targetGroups.get(requiredParam(params, 'TargetGroupArn'));
  if (!group) throw notFound();
  return group;
};

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
    listEl('LoadBalancerArns', 'member', group.loadBalancerArns),
    leaf('TargetType', group.targetType),
    leaf('ProtocolVersion', 'HTTP1'),
    leaf('IpAddressType', 'ipv4'),
  ].join('');

/** Those named by `<arnsParam>.member.N`, else by `Names.member.N`, else all; one unknown fails the call. */
const pick = <T extends { readonly arn: string; readonly name: string }>(
  params: URLSearchParams,
  arnsParam: string,
  map: ReadonlyMap<string, T>,
  notFound: () => QueryError,
): T[] => {
  const arns = listParam(params, `${arnsParam}.member`);
  const names = listParam(params, 'Names.member');
  const all = [...map.values()];
  const found =
    arns.length > 0
      ? arns.map((arn) => map.get(arn))
      : names.length > 0
        ? names.map((name) => all.find((item) => item.name === name))
        : all;
  if (found.some((item) => item === undefined)) throw notFound();
  return found as T[];
};

const describeTargetGroups: ElbHandler = (params, { world }) =>
  listEl(
    'TargetGroups',
    'member',
    pick(params, 'TargetGroupArns', world.targetGroups, notFound).map((group) => groupXml(world, group)),
  );

const loadBalancerXml = (world: World, lb: SimLoadBalancer): string => {
  const subnets = [...world.subnets.values()];
  return [
    leaf('LoadBalancerArn', lb.arn),
    leaf('DNSName', `${lb.name}-${lb.arn.slice(-8)}.${world.region}.elb.amazonaws.com`),
    leaf('LoadBalancerName', lb.name),
    leaf('Scheme', 'internet-facing'),
    leaf('VpcId', VPC_ID),
    el('State', leaf('Code', 'active')),
    leaf('Type', 'application'),
    listEl(
      'AvailabilityZones',
      'member',
      [...lb.azs].map((az) => leaf('ZoneName', az) + leaf('SubnetId', subnets.find((subnet) => subnet.az === az)?.id)),
    ),
    leaf('IpAddressType', 'ipv4'),
  ].join('');
};

const describeLoadBalancers: ElbHandler = (params, { world }) =>
  listEl(
    'LoadBalancers',
    'member',
    pick(
      params,
      'LoadBalancerArns',
      world.loadBalancers,
      () => new QueryError(400, 'LoadBalancerNotFound', 'One or more load balancers not found'),
    ).map((lb) => loadBalancerXml(world, lb)),
  );

const describeTargetGroupAttributes: ElbHandler = (params, { world }) => {
  const group = groupOf(world, params);
  const attributes = {
    'deregistration_delay.timeout_seconds': String(seconds(group.deregistrationDelay)),
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

const checkInstances = (world: World, ids: readonly string[]): void => {
  const unknown = ids.filter((id) => !world.instances.has(id));
  if (unknown.length > 0)
    throw new QueryError(400, 'InvalidTarget', `The following targets are not valid instances: '${unknown.join("', '")}'`);
};

// Only running instances register (pending ones too are refused), and only up to the quota.
const checkRegistrable = (world: World, group: SimTargetGroup, ids: readonly string[]): void => {
  const notRunning = ids.filter((id) => world.instances.get(id)!.state !== 'running');
  if (notRunning.length > 0) {
    throw new QueryError(
      400,
      'InvalidTarget',
      `The following targets are not in a running state and cannot be registered: '${notRunning.join("', '")}'`,
    );
  }
  const total = new Set([...group.targets.keys(), ...ids]).size;
  if (total > world.settings.targetsPerGroup) {
    throw new QueryError(400, 'TooManyTargets', "You've reached the limit on the number of targets registered to a target group.");
  }
};

const changeTargets =
  (register: boolean): ElbHandler =>
  (params, { world, now }) => {
    const group = groupOf(world, params);
    const ids = targetIds(params);
    if (ids.length === 0) throw new QueryError(400, 'ValidationError', 'Targets must contain at least one target');
    checkInstances(world, ids);
    if (register) checkRegistrable(world, group, ids);
    (register ? registerTargets : deregisterTargets)(world, group, ids, now);
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
  'Target.NotInUse': 'Target group is not used by any load balancer, or the target is in an Availability Zone that is not enabled for it',
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
  checkInstances(world, ids);
  const entries =
    ids.length > 0
      ? ids.map((id) => healthXml(id, group.targets.get(id) ?? { port: group.port, state: 'unused', reason: 'Target.NotRegistered' }))
      : [...group.targets.values()].map((target) => healthXml(target.id, target));
  return listEl('TargetHealthDescriptions', 'member', entries);
};

export const elbActions: Readonly<Record<string, ElbHandler>> = {
  DescribeLoadBalancers: describeLoadBalancers,
  DescribeTargetGroups: describeTargetGroups,
  DescribeTargetGroupAttributes: describeTargetGroupAttributes,
  RegisterTargets: changeTargets(true),
  DeregisterTargets: changeTargets(false),
  DescribeTargetHealth: describeTargetHealth,
};

export const elbMutates = (action: string): boolean => action === 'RegisterTargets' || action === 'DeregisterTargets';
