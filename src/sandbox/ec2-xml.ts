import { freeAddresses } from './capacity.js';
import { DEFAULT_METADATA, metadataXml, ROOT_DEVICE } from './ec2-launch-options.js';
import { el, leaf, listEl } from './query.js';
import type { InstanceState, SimImage, SimInstance, SimSubnet, World } from './world.js';

const stateCodes: Record<InstanceState, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48 };

export const stateXml = (name: string, state: InstanceState): string => el(name, leaf('code', stateCodes[state]), leaf('name', state));

const tagSetXml = (tags: Readonly<Record<string, string>>): string =>
  listEl(
    'tagSet',
    'item',
    Object.entries(tags).map(([key, value]) => leaf('key', key) + leaf('value', value)),
  );

export const privateDnsName = (world: World, ip: string): string => `ip-${ip.replaceAll('.', '-')}.${world.region}.compute.internal`;

const instanceXml = (world: World, instance: SimInstance): string =>
  [
    leaf('instanceId', instance.id),
    leaf('imageId', instance.imageId),
    stateXml('instanceState', instance.state),
    instance.stateReason === undefined
      ? ''
      : el('stateReason', leaf('code', instance.stateReason.code), leaf('message', instance.stateReason.message)),
    leaf('privateDnsName', privateDnsName(world, instance.privateIp)),
    leaf('dnsName', ''),
    leaf('keyName', instance.keyName),
    leaf('amiLaunchIndex', 0),
    leaf('instanceType', instance.instanceType),
    leaf('launchTime', new Date(world.clock.epoch(instance.launchedAt)).toISOString()),
    el('placement', leaf('availabilityZone', instance.az), leaf('tenancy', 'default')),
    leaf('subnetId', instance.subnetId),
    leaf('vpcId', instance.vpcId),
    leaf('privateIpAddress', instance.privateIp),
    listEl(
      'groupSet',
      'item',
      instance.securityGroupIds.map((id) => leaf('groupId', id) + leaf('groupName', id)),
    ),
    instance.iamInstanceProfile === undefined
      ? ''
      : el('iamInstanceProfile', leaf('arn', `arn:aws:iam::${world.accountId}:instance-profile/${instance.iamInstanceProfile}`)),
    leaf('architecture', 'x86_64'),
    leaf('rootDeviceType', 'ebs'),
    leaf('rootDeviceName', ROOT_DEVICE),
    listEl(
      'blockDeviceMapping',
      'item',
      (instance.volumes ?? []).map(
        (volume) =>
          leaf('deviceName', volume.deviceName) +
          el(
            'ebs',
            leaf('volumeId', volume.volumeId),
            leaf('status', 'attached'),
            leaf('attachTime', new Date(world.clock.epoch(instance.launchedAt)).toISOString()),
            leaf('deleteOnTermination', volume.deleteOnTermination),
          ),
      ),
    ),
    leaf('virtualizationType', 'hvm'),
    metadataXml('metadataOptions', instance.metadataOptions ?? DEFAULT_METADATA, 'applied'),
    tagSetXml(instance.tags),
  ].join('');

/** `<reservationId>…<instancesSet>` for instances of one reservation. */
export const reservationXml = (world: World, instances: readonly SimInstance[]): string =>
  leaf('reservationId', instances[0]?.reservationId) +
  leaf('ownerId', world.accountId) +
  listEl('groupSet', 'item', []) +
  listEl(
    'instancesSet',
    'item',
    instances.map((instance) => instanceXml(world, instance)),
  );

export const imageXml = (image: SimImage): string =>
  [
    leaf('imageId', image.id),
    leaf('imageLocation', `${image.ownerAlias ?? image.ownerId}/${image.name}`),
    leaf('imageState', image.state),
    leaf('imageOwnerId', image.ownerId),
    leaf('imageOwnerAlias', image.ownerAlias),
    leaf('creationDate', image.createdAt),
    leaf('isPublic', false),
    leaf('architecture', 'x86_64'),
    leaf('imageType', 'machine'),
    leaf('name', image.name),
    leaf('rootDeviceType', 'ebs'),
    leaf('virtualizationType', 'hvm'),
  ].join('');

export const subnetXml = (world: World, subnet: SimSubnet): string =>
  [
    leaf('subnetId', subnet.id),
    leaf('state', 'available'),
    leaf('vpcId', subnet.vpcId),
    leaf('cidrBlock', subnet.cidr),
    leaf('availableIpAddressCount', freeAddresses(world, subnet)),
    leaf('availabilityZone', subnet.az),
    leaf('defaultForAz', false),
    leaf('mapPublicIpOnLaunch', false),
    leaf('ownerId', world.accountId),
  ].join('');
