import { describe, expect, it } from 'vitest';
import { createBalancer } from '../../src/aws/elbv2.js';
import { ApiError, UsageError } from '../../src/rollout/errors.js';
import type { Balancer } from '../../src/rollout/ports.js';
import { type Answer, answerAws, elbError, elbOk, ids, interceptAws, listParam, testClients } from './server.js';

const call = { signal: new AbortController().signal };

interceptAws();

const balancerAnswering = (answer: Answer) => {
  const server = answerAws(answer);
  return { balancer: createBalancer(testClients(server.url).elbv2), server };
};

const group = (arn: string, port: number) =>
  `<TargetGroups><member><TargetGroupArn>${arn}</TargetGroupArn><TargetGroupName>web</TargetGroupName><Protocol>HTTP</Protocol><Port>${port}</Port><VpcId>vpc-1</VpcId><TargetType>instance</TargetType><HealthCheckIntervalSeconds>10</HealthCheckIntervalSeconds><LoadBalancerArns><member>arn:lb</member></LoadBalancerArns></member></TargetGroups>`;

const attributes = (delay?: number) =>
  `<Attributes><member><Key>stickiness.enabled</Key><Value>false</Value></member>${delay === undefined ? '' : `<member><Key>deregistration_delay.timeout_seconds</Key><Value>${delay}</Value></member>`}</Attributes>`;

describe('loadBalancers', () => {
  it("names each load balancer's enabled Availability Zones", async () => {
    const zones = (...names: string[]) =>
      names.map((name) => `<member><ZoneName>${name}</ZoneName><SubnetId>subnet-${name}</SubnetId></member>`).join('');
    const { balancer, server } = balancerAnswering(({ action }) =>
      elbOk(
        action,
        `<LoadBalancers><member><LoadBalancerArn>arn:lb</LoadBalancerArn><LoadBalancerName>web</LoadBalancerName><AvailabilityZones>${zones('az-a', 'az-c')}</AvailabilityZones></member></LoadBalancers>`,
      ),
    );
    await expect(balancer.loadBalancers(['arn:lb'], call)).resolves.toEqual([{ arn: 'arn:lb', name: 'web', azs: ['az-a', 'az-c'] }]);
    expect(listParam(server.requests[0]!.params, 'LoadBalancerArns.member')).toEqual(['arn:lb']);
  });

  it('sends no request for no load balancers', async () => {
    const { balancer, server } = balancerAnswering(() => elbError('Unexpected', 'no request expected'));
    await expect(balancer.loadBalancers([], call)).resolves.toEqual([]);
    expect(server.requests).toHaveLength(0);
  });
});

describe('targetGroups', () => {
  it('describes each group with its deregistration delay, 300 s when the attribute is absent', async () => {
    const { balancer, server } = balancerAnswering(({ action, params }) => {
      const arn = params.get('TargetGroupArn') ?? listParam(params, 'TargetGroupArns.member')[0]!;
      if (action === 'DescribeTargetGroups') return elbOk(action, group(arn, arn === 'arn:tg-a' ? 80 : 8080));
      return elbOk(action, attributes(arn === 'arn:tg-a' ? 30 : undefined));
    });
    await expect(balancer.targetGroups(['arn:tg-a', 'arn:tg-b'], call)).resolves.toEqual([
      { arn: 'arn:tg-a', vpcId: 'vpc-1', targetType: 'instance', loadBalancerArns: ['arn:lb'], deregistrationDelaySeconds: 30 },
      { arn: 'arn:tg-b', vpcId: 'vpc-1', targetType: 'instance', loadBalancerArns: ['arn:lb'], deregistrationDelaySeconds: 300 },
    ]);
    expect(server.calls('DescribeTargetGroupAttributes').map(({ params }) => params.get('TargetGroupArn'))).toEqual([
      'arn:tg-a',
      'arn:tg-b',
    ]);
  });

  it('throws a UsageError naming the group that does not exist', async () => {
    const { balancer } = balancerAnswering(({ action, params }) => {
      const [arn] = listParam(params, 'TargetGroupArns.member');
      if (action === 'DescribeTargetGroups' && arn === 'arn:gone')
        return elbError('TargetGroupNotFound', 'One or more target groups not found');
      return action === 'DescribeTargetGroups' ? elbOk(action, group(arn!, 80)) : elbOk(action, attributes(30));
    });
    const error = await balancer.targetGroups(['arn:tg-a', 'arn:gone'], call).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain('arn:gone');
    expect((error as Error).message).not.toContain('arn:tg-a');
  });
});

describe.each(['register', 'deregister'] as const)('%s', (method) => {
  const action = method === 'register' ? 'RegisterTargets' : 'DeregisterTargets';

  it('sends the targets in chunks of 100, leaving the port to the group', async () => {
    const { balancer, server } = balancerAnswering(() => elbOk(action));
    await balancer[method]('arn:tg', ids(250), call);
    const sent = server.calls(action);
    expect(sent.map(({ params }) => listParam(params, 'Targets.member', '.Id'))).toEqual([
      ids(250).slice(0, 100),
      ids(250).slice(100, 200),
      ids(250).slice(200),
    ]);
    expect(sent.every(({ params }) => params.get('TargetGroupArn') === 'arn:tg' && !params.has('Targets.member.1.Port'))).toBe(true);
  });

  it('sends no request for no targets', async () => {
    const { balancer, server } = balancerAnswering(() => elbOk(action));
    await balancer[method]('arn:tg', [], call);
    expect(server.requests).toHaveLength(0);
  });

  it('turns AccessDenied into an ApiError naming the IAM action', async () => {
    const { balancer } = balancerAnswering(() => elbError('AccessDenied', 'User is not authorized', 403));
    const error = await balancer[method]('arn:tg', ['i-1'], call).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ api: 'ELBv2', operation: action, code: 'AccessDenied' });
    expect((error as ApiError).hint).toContain(`elasticloadbalancing:${action}`);
  });
});

describe('health', () => {
  it('returns every target of the group from one call, with the reason when there is one', async () => {
    const { balancer, server } = balancerAnswering(() =>
      elbOk(
        'DescribeTargetHealth',
        '<TargetHealthDescriptions><member><Target><Id>i-new1</Id><Port>80</Port></Target><HealthCheckPort>80</HealthCheckPort><TargetHealth><State>healthy</State></TargetHealth></member><member><Target><Id>i-old1</Id><Port>80</Port></Target><TargetHealth><State>draining</State><Reason>Target.DeregistrationInProgress</Reason></TargetHealth></member></TargetHealthDescriptions>',
      ),
    );
    const health = await balancer.health('arn:tg', call);
    expect(health).toEqual([
      { id: 'i-new1', state: 'healthy' },
      { id: 'i-old1', state: 'draining', reason: 'Target.DeregistrationInProgress' },
    ]);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.params.get('TargetGroupArn')).toBe('arn:tg');
    expect(listParam(server.requests[0]!.params, 'Targets.member', '.Id')).toEqual([]);
  });

  it('names the throttling and what to do when it outlasts the retries', async () => {
    const { balancer } = balancerAnswering(() => elbError('Throttling', 'Rate exceeded'));
    const error = await balancer.health('arn:tg', call).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ api: 'ELBv2', operation: 'DescribeTargetHealth', code: 'Throttling' });
    expect((error as ApiError).hint).toMatch(/retry later/);
  });
});

describe('cancellation', () => {
  it.each([
    ['targetGroups', (balancer: Balancer, signal: AbortSignal) => balancer.targetGroups(['arn:tg'], { signal })],
    ['register', (balancer: Balancer, signal: AbortSignal) => balancer.register('arn:tg', ['i-1'], { signal })],
    ['deregister', (balancer: Balancer, signal: AbortSignal) => balancer.deregister('arn:tg', ['i-1'], { signal })],
    ['health', (balancer: Balancer, signal: AbortSignal) => balancer.health('arn:tg', { signal })],
  ])('%s passes the signal to the SDK and rethrows its AbortError', async (_, run) => {
    const { balancer, server } = balancerAnswering(() => elbOk('DescribeTargetHealth'));
    const controller = new AbortController();
    controller.abort();
    await expect(run(balancer, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.requests).toHaveLength(0);
  });
});
