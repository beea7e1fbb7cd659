import type { HostBody } from './hosts.js';

export const AGENT_VERSION = '0.87.0';
export const AGENT_USER_AGENT = `mackerel-agent/${AGENT_VERSION} (Revision sandbox)`;

/** What mackerel-agent reads from the instance metadata service. */
export interface InstanceFacts {
  readonly id: string;
  readonly instanceType: string;
  readonly az: string;
  readonly securityGroups: readonly string[];
  readonly imageId: string;
  readonly privateIp: string;
  readonly privateDns: string;
  readonly reservationId: string;
}

const macAddress = (ip: string): string =>
  ['06', '00', ...ip.split('.').map((octet) => Number(octet).toString(16).padStart(2, '0'))].join(':');

/** The customIdentifier mackerel-agent gives a host on EC2. */
export const customIdentifierOf = (instanceId: string): string => `${instanceId}.ec2.amazonaws.com`;

/** POST /api/v0/hosts as mackerel-agent sends it on EC2 (spec/cloud.go keys, `<id>.ec2.amazonaws.com`). */
export const agentHostBody = (facts: InstanceFacts, roleFullnames: readonly string[]): HostBody => ({
  name: facts.privateDns,
  customIdentifier: customIdentifierOf(facts.id),
  meta: {
    'agent-name': AGENT_USER_AGENT,
    'agent-version': AGENT_VERSION,
    'agent-revision': 'sandbox',
    kernel: { name: 'Linux', machine: 'x86_64', os: 'GNU/Linux', platform_name: 'Amazon Linux', platform_version: '2023' },
    cloud: {
      provider: 'ec2',
      metadata: {
        'instance-id': facts.id,
        'instance-type': facts.instanceType,
        'placement/availability-zone': facts.az,
        'security-groups': facts.securityGroups.join('\n'),
        'ami-id': facts.imageId,
        hostname: facts.privateDns,
        'local-hostname': facts.privateDns,
        'public-hostname': '',
        'local-ipv4': facts.privateIp,
        'public-ipv4': '',
        'reservation-id': facts.reservationId,
      },
    },
  },
  interfaces: [{ name: 'ens5', macAddress: macAddress(facts.privateIp), ipv4Addresses: [facts.privateIp], ipv6Addresses: [] }],
  roleFullnames,
});
