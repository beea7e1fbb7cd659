import { type BlockDeviceSpec, type MetadataOptions, volumeOf, withRootDevice } from './ec2-launch-options.js';
import { instanceStoppedRunning } from './targets.js';
import type { InstanceState, SimInstance, SimSubnet, StateReason, World } from './world.js';

export interface LaunchSpec {
  readonly imageId: string;
  readonly instanceType: string;
  readonly subnet: SimSubnet;
  readonly count: number;
  readonly securityGroupIds: readonly string[];
  readonly keyName?: string;
  readonly iamInstanceProfile?: string;
  readonly tags: Readonly<Record<string, string>>;
  /** Decoded. */
  readonly userData?: string;
  /** RunInstances' own: absent for the seeded fleet. */
  readonly metadataOptions?: MetadataOptions;
  /** Validated (volumeOf); the image's root volume is added when they leave it out. */
  readonly blockDevices?: readonly BlockDeviceSpec[];
  readonly launchTemplate?: { readonly id: string; readonly version: number };
}

// Each subnet owns a /20 of the VPC's 10.0.0.0/16; the first addresses are reserved, as in AWS.
const nextAddress = (subnet: SimSubnet): string => {
  const n = subnet.index * 4096 + 10 + subnet.addressesUsed++;
  return `10.0.${n >> 8}.${n & 255}`;
};

export const subnetCidr = (index: number): string => `10.0.${index * 16}.0/20`;

const place = (world: World, spec: LaunchSpec, reservationId: string, launchedAt: number, agentSilent: boolean): SimInstance => {
  const instance: SimInstance = {
    id: world.nextId('i'),
    reservationId,
    imageId: spec.imageId,
    instanceType: spec.instanceType,
    subnetId: spec.subnet.id,
    az: spec.subnet.az,
    vpcId: spec.subnet.vpcId,
    privateIp: nextAddress(spec.subnet),
    securityGroupIds: spec.securityGroupIds,
    ...(spec.keyName === undefined ? {} : { keyName: spec.keyName }),
    ...(spec.iamInstanceProfile === undefined ? {} : { iamInstanceProfile: spec.iamInstanceProfile }),
    tags: { ...spec.tags },
    ...(spec.userData === undefined ? {} : { userData: spec.userData }),
    ...(spec.metadataOptions && { metadataOptions: spec.metadataOptions }),
    volumes: withRootDevice(spec.blockDevices ?? []).map((mapping) => volumeOf(mapping, world.nextId('vol'))),
    ...(spec.launchTemplate && { launchTemplate: spec.launchTemplate }),
    launchedAt,
    agentSilent,
    state: 'pending',
  };
  world.instances.set(instance.id, instance);
  return instance;
};

/** Instances already running since `launchedAt`, without events: the seeded fleet. */
export const seedInstances = (world: World, spec: LaunchSpec, launchedAt: number): SimInstance[] => {
  const reservationId = world.nextId('r');
  return Array.from({ length: spec.count }, () => {
    const instance = place(world, spec, reservationId, launchedAt, false);
    instance.state = 'running';
    return instance;
  });
};

/** What EC2 says of an instance it could not start. */
const LAUNCH_FAILED: StateReason = { code: 'Server.InternalError', message: 'Server.InternalError: Internal error on launch' };
const USER_SHUTDOWN: StateReason = {
  code: 'Client.UserInitiatedShutdown',
  message: 'Client.UserInitiatedShutdown: User initiated shutdown',
};

// At the end of its boot an instance runs, or, under die-while-booting, is terminated at once.
const boot = (world: World, instance: SimInstance, dies: boolean) => (t: number) => {
  if (instance.state !== 'pending') return;
  if (dies) {
    instance.state = 'terminated';
    instance.stateReason = LAUNCH_FAILED;
    world.record({ t, type: 'instance.terminated', instanceId: instance.id });
    return;
  }
  instance.state = 'running';
  world.record({ t, type: 'instance.running', instanceId: instance.id });
};

/** RunInstances: new instances start pending and boot unless a never-boot fault holds them. */
export const launchInstances = (world: World, spec: LaunchSpec, now: number): SimInstance[] => {
  const reservationId = world.nextId('r');
  return Array.from({ length: spec.count }, () => {
    const silent = world.faults.take((f) => f.type === 'agent-silent') !== undefined;
    const instance = place(world, spec, reservationId, now, silent);
    if (world.faults.take((f) => f.type === 'metrics-silent')) world.mutedMetrics.add(instance.id);
    world.record({ t: now, type: 'instance.launched', instanceId: instance.id });
    if (world.faults.take((f) => f.type === 'never-boot')) return instance;
    const dies = world.faults.take((f) => f.type === 'die-while-booting') !== undefined;
    world.schedule(now + world.timing.boot, boot(world, instance, dies));
    return instance;
  });
};

export interface StateChange {
  readonly id: string;
  readonly previous: InstanceState;
  readonly current: InstanceState;
}

/**
 * TerminateInstances on instances known to exist (or AWS ending them, with `reason`);
 * terminating a terminated one changes nothing.
 */
export const terminateInstances = (world: World, instances: readonly SimInstance[], now: number, reason = USER_SHUTDOWN): StateChange[] =>
  instances.map((instance) => {
    const previous = instance.state;
    if (previous === 'shutting-down' || previous === 'terminated') return { id: instance.id, previous, current: previous };
    instance.state = 'shutting-down';
    instance.stateReason = reason;
    world.record({ t: now, type: 'instance.terminating', instanceId: instance.id });
    instanceStoppedRunning(world, instance.id, now);
    world.schedule(now + world.timing.terminate, (t) => {
      instance.state = 'terminated';
      world.record({ t, type: 'instance.terminated', instanceId: instance.id });
    });
    return { id: instance.id, previous, current: instance.state };
  });
