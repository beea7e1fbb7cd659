import { privateDnsName } from './ec2-xml.js';
import { agentHostBody, type InstanceFacts } from './host-payload.js';
import { createHost } from './hosts.js';
import { type AgentConfig, HOST_STATUSES, type HostStatus, type SimImage, type SimInstance, type World } from './world.js';

// What mackerel-agent on an instance reads locally: its config, the image's baked config as the
// instance's user data rewrites it, and the instance metadata service. On a real instance those
// are on its disk and at 169.254.169.254; the sandbox reads them from the world.

/** What the instance metadata service tells the agent on that instance. */
export const instanceMetadata = (world: World, instance: SimInstance): InstanceFacts => ({
  id: instance.id,
  instanceType: instance.instanceType,
  az: instance.az,
  // The sandbox names each security group by its id (DescribeInstances' groupName too).
  securityGroups: instance.securityGroupIds,
  imageId: instance.imageId,
  privateIp: instance.privateIp,
  privateDns: privateDnsName(world, instance.privateIp),
  reservationId: instance.reservationId,
});

/** TOML and shell comments are not configuration. */
const withoutComments = (text: string): string => text.replace(/^\s*#.*$/gm, '');

/** `roles = ["svc:role", …]` anywhere in the text (mackerel-agent.conf written by a heredoc, say). */
const rolesIn = (text: string): string[] | undefined => {
  const array = /^\s*roles\s*=\s*\[([^\]]*)\]/m.exec(text)?.[1];
  return array === undefined ? undefined : [...array.matchAll(/"([^"]*)"|'([^']*)'/g)].map((m) => m[1] ?? m[2] ?? '');
};

/** `on_start = "…"` in the `[host_status]` section. */
const onStartIn = (text: string): HostStatus | undefined => {
  const section = /^\s*\[host_status\]\s*$([\s\S]*?)(?=^\s*\[|(?![\s\S]))/m.exec(text)?.[1] ?? '';
  const status = /^\s*on_start\s*=\s*["']([^"']*)["']/m.exec(section)?.[1];
  return HOST_STATUSES.find((known) => known === status);
};

/** The shipped sample config: no roles, nothing set. */
const SAMPLE: AgentConfig = { roles: [], autoRetirement: false };

/** The agent config on an instance's disk once its user data ran (the sample config on an instance the sandbox does not know). */
export const agentConfigOf = (world: World, instanceId: string): AgentConfig => {
  const baked = bakedAgentConfigOf(world, instanceId);
  const text = withoutComments(world.instances.get(instanceId)?.userData ?? '');
  const onStart = onStartIn(text) ?? baked.onStart;
  return {
    ...baked,
    roles: rolesIn(text) ?? baked.roles,
    ...(onStart === undefined ? {} : { onStart }),
    autoRetirement: baked.autoRetirement || /\bAUTO_RETIREMENT=["']?1\b/.test(text),
  };
};

/** The config the agent starts with at boot: the image's, before cloud-init runs the user data. */
export const bakedAgentConfigOf = (world: World, instanceId: string): AgentConfig => {
  const instance = world.instances.get(instanceId);
  return (instance && world.images.get(instance.imageId)?.agent) ?? SAMPLE;
};

/** `systemctl restart|reload … mackerel-agent` or `service mackerel-agent restart|reload`: `start` leaves a running agent as it is. */
const RESTART =
  /\bsystemctl\s+(?:restart|reload|try-restart|reload-or-restart|try-reload-or-restart)\s+(?:[\w@.-]+\s+)*mackerel-agent\b|\bservice\s+mackerel-agent\s+(?:restart|reload|force-reload)\b/;

/** Whether the user data (run by cloud-final, after the agent started) restarts or reloads the agent. */
export const userDataRestartsAgent = (world: World, instanceId: string): boolean =>
  RESTART.test(withoutComments(world.instances.get(instanceId)?.userData ?? ''));

/** Where the image was built: an address in the default VPC, not in any sandbox subnet. */
const BUILDER_IP = '172.31.0.10';

/**
 * Bakes an agent id file into the image: the agent ran on the instance the image was built from
 * (an instance that no longer exists) and registered it, and the image kept its id.
 */
export const bakeIdFile = (world: World, image: SimImage, now: number): void => {
  const builder = {
    id: world.nextId('i'),
    instanceType: 't3.small',
    az: [...world.subnets.values()][0]?.az ?? `${world.region}a`,
    securityGroups: [],
    imageId: image.id,
    privateIp: BUILDER_IP,
    privateDns: privateDnsName(world, BUILDER_IP),
    reservationId: world.nextId('r'),
  };
  image.agent.idFileHostId = createHost(world, agentHostBody(builder, image.agent.roles), now).id;
};
