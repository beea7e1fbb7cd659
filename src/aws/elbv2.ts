import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { UsageError } from '../rollout/errors.js';
import type { Balancer, Call, TargetGroup, TargetState } from '../rollout/ports.js';
import { chunk } from '../shared/chunk.js';
import { callAws } from './errors.js';
import { elbv2Sdk } from './sdk.js';

const {
  DeregisterTargetsCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
} = elbv2Sdk;

const BATCH = 100;
const DEFAULT_DEREGISTRATION_DELAY = 300;

const describeGroup = (elbv2: ElasticLoadBalancingV2Client, arn: string, call: Call) =>
  callAws('ELBv2', 'DescribeTargetGroups', async () => {
    try {
      const out = await elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] }), { abortSignal: call.signal });
      return out.TargetGroups?.[0];
    } catch (error) {
      if (error instanceof Error && error.name === 'TargetGroupNotFoundException') return undefined;
      throw error;
    }
  });

// One group per call, so a missing group is named exactly.
const targetGroup = async (elbv2: ElasticLoadBalancingV2Client, arn: string, call: Call): Promise<TargetGroup> => {
  const group = await describeGroup(elbv2, arn, call);
  if (!group) throw new UsageError(`target group ${arn} does not exist`, 'check the target group ARNs and the AWS region');
  const attributes = await callAws('ELBv2', 'DescribeTargetGroupAttributes', () =>
    elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }), { abortSignal: call.signal }),
  );
  const delay = attributes.Attributes?.find((attribute) => attribute.Key === 'deregistration_delay.timeout_seconds')?.Value;
  return {
    arn,
    vpcId: group.VpcId ?? '',
    targetType: group.TargetType ?? '',
    loadBalancerArns: group.LoadBalancerArns ?? [],
    deregistrationDelaySeconds: delay === undefined ? DEFAULT_DEREGISTRATION_DELAY : Number(delay),
  };
};

/** The ELBv2 side of a deploy, over a real SDK client. */
export const createBalancer = (elbv2: ElasticLoadBalancingV2Client): Balancer => ({
  targetGroups: async (arns, call) => {
    const groups: TargetGroup[] = [];
    for (const arn of arns) groups.push(await targetGroup(elbv2, arn, call));
    return groups;
  },

  loadBalancers: async (arns, call) => {
    if (arns.length === 0) return [];
    const out = await callAws('ELBv2', 'DescribeLoadBalancers', () =>
      elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [...arns] }), { abortSignal: call.signal }),
    );
    return (out.LoadBalancers ?? []).map((balancer) => ({
      arn: balancer.LoadBalancerArn ?? '',
      name: balancer.LoadBalancerName ?? '',
      azs: (balancer.AvailabilityZones ?? []).map((zone) => zone.ZoneName ?? ''),
    }));
  },

  // No Port: each target takes the group's own port.
  register: async (arn, instanceIds, call) => {
    for (const ids of chunk(instanceIds, BATCH)) {
      const command = new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: ids.map((Id) => ({ Id })) });
      await callAws('ELBv2', 'RegisterTargets', () => elbv2.send(command, { abortSignal: call.signal }));
    }
  },

  deregister: async (arn, instanceIds, call) => {
    for (const ids of chunk(instanceIds, BATCH)) {
      const command = new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: ids.map((Id) => ({ Id })) });
      await callAws('ELBv2', 'DeregisterTargets', () => elbv2.send(command, { abortSignal: call.signal }));
    }
  },

  health: async (arn, call) => {
    const out = await callAws('ELBv2', 'DescribeTargetHealth', () =>
      elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }), { abortSignal: call.signal }),
    );
    return (out.TargetHealthDescriptions ?? []).map((description) => ({
      id: description.Target?.Id ?? '',
      state: description.TargetHealth?.State as TargetState,
      reason: description.TargetHealth?.Reason,
    }));
  },
});
