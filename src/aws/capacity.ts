import type { EC2Client, _InstanceType } from '@aws-sdk/client-ec2';
import type { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import type { Capacity } from '../rollout/ports.js';
import { chunk } from '../shared/chunk.js';
import { STANDARD_VCPU_QUOTA } from '../shared/vcpu-quota.js';
import { callAws } from './errors.js';
import { ec2Sdk, quotasSdk } from './sdk.js';

const {
  DescribeKeyPairsCommand,
  DescribeSubnetsCommand,
  DescribeSecurityGroupsCommand,
  DescribeInstanceTypesCommand,
  paginateDescribeInstances,
  paginateDescribeInstanceTypeOfferings,
} = ec2Sdk;
const { GetServiceQuotaCommand } = quotasSdk;

/** DescribeInstanceTypes takes at most 100 types. */
const TYPES_PER_CALL = 100;

/** The account's room, over EC2 and Service Quotas. Filters, unlike ids, leave unknown names out instead of failing the call. */
export const createCapacity = (ec2: EC2Client, quotas: ServiceQuotasClient): Capacity => ({
  vcpuQuota: (call) =>
    callAws('Service Quotas', 'GetServiceQuota', async () => {
      const out = await quotas.send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: STANDARD_VCPU_QUOTA }), {
        abortSignal: call.signal,
      });
      return out.Quota?.Value ?? 0;
    }),

  vcpus: async (types, call) => {
    const vcpus = new Map<string, number>();
    for (const some of chunk(types, TYPES_PER_CALL)) {
      const out = await callAws('EC2', 'DescribeInstanceTypes', () =>
        ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: some as _InstanceType[] }), { abortSignal: call.signal }),
      );
      for (const info of out.InstanceTypes ?? []) vcpus.set(info.InstanceType ?? '', info.VCpuInfo?.DefaultVCpus ?? 0);
    }
    return vcpus;
  },

  runningTypes: (call) =>
    callAws('EC2', 'DescribeInstances', async () => {
      const input = { Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running'] }], MaxResults: 1000 };
      const types: string[] = [];
      for await (const page of paginateDescribeInstances({ client: ec2 }, input, { abortSignal: call.signal })) {
        for (const reservation of page.Reservations ?? []) types.push(...(reservation.Instances ?? []).map((i) => i.InstanceType ?? ''));
      }
      return types;
    }),

  offered: (types, azs, call) =>
    callAws('EC2', 'DescribeInstanceTypeOfferings', async () => {
      const input = {
        LocationType: 'availability-zone' as const,
        Filters: [
          { Name: 'instance-type', Values: [...types] },
          { Name: 'location', Values: [...azs] },
        ],
      };
      const offered = new Map<string, Set<string>>();
      for await (const page of paginateDescribeInstanceTypeOfferings({ client: ec2 }, input, { abortSignal: call.signal })) {
        for (const offering of page.InstanceTypeOfferings ?? []) {
          const az = offering.Location ?? '';
          offered.set(az, (offered.get(az) ?? new Set()).add(offering.InstanceType ?? ''));
        }
      }
      return offered;
    }),

  freeAddresses: async (subnetIds, call) => {
    const out = await callAws('EC2', 'DescribeSubnets', () =>
      ec2.send(new DescribeSubnetsCommand({ SubnetIds: [...subnetIds] }), { abortSignal: call.signal }),
    );
    return new Map((out.Subnets ?? []).map((subnet) => [subnet.SubnetId ?? '', subnet.AvailableIpAddressCount ?? 0]));
  },

  missingSecurityGroups: async (ids, call) => {
    if (ids.length === 0) return [];
    const out = await callAws('EC2', 'DescribeSecurityGroups', () =>
      ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-id', Values: [...ids] }] }), { abortSignal: call.signal }),
    );
    const found = new Set((out.SecurityGroups ?? []).map((group) => group.GroupId));
    return ids.filter((id) => !found.has(id));
  },

  keyPairExists: async (name, call) => {
    const out = await callAws('EC2', 'DescribeKeyPairs', () =>
      ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'key-name', Values: [name] }] }), { abortSignal: call.signal }),
    );
    return (out.KeyPairs ?? []).length > 0;
  },
});
