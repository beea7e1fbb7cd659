// RunInstances' MetadataOptions and BlockDeviceMapping.N, in a request or a launch template's
// data: parsed, merged (request over template) and validated as EC2 validates them.
import { el, intParam, leaf, listEl, QueryError, structListParam } from './query.js';

export interface MetadataOptions {
  readonly httpTokens: 'optional' | 'required';
  readonly httpPutResponseHopLimit: number;
  readonly httpEndpoint: 'enabled' | 'disabled';
  readonly instanceMetadataTags: 'enabled' | 'disabled';
}

/** What an instance gets when neither the request nor its template says otherwise (no account default set). */
export const DEFAULT_METADATA: MetadataOptions = {
  httpTokens: 'optional',
  httpPutResponseHopLimit: 1,
  httpEndpoint: 'enabled',
  instanceMetadataTags: 'disabled',
};

export interface EbsSpec {
  readonly volumeSize?: number;
  readonly volumeType?: string;
  readonly iops?: number;
  readonly throughput?: number;
  readonly encrypted?: boolean;
  readonly kmsKeyId?: string;
  readonly deleteOnTermination?: boolean;
}

export interface BlockDeviceSpec {
  readonly deviceName: string;
  readonly ebs: EbsSpec;
}

/** An attached EBS volume as the instance has it. */
export interface SimVolume {
  readonly volumeId: string;
  readonly deviceName: string;
  readonly volumeSize: number;
  readonly volumeType: string;
  readonly iops?: number;
  readonly throughput?: number;
  readonly encrypted: boolean;
  readonly kmsKeyId?: string;
  readonly deleteOnTermination: boolean;
}

/** Every sandbox image is an EBS-backed image with one 8 GiB gp2 root snapshot. */
export const ROOT_DEVICE = '/dev/xvda';
const ROOT_SNAPSHOT_GIB = 8;

const invalid = (message: string) => new QueryError(400, 'InvalidParameterValue', message);
const combination = (message: string) => new QueryError(400, 'InvalidParameterCombination', message);

const oneOf = <T extends string>(params: URLSearchParams, name: string, allowed: readonly T[]): T | undefined => {
  const value = params.get(name);
  if (value === null) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalid(`Value (${value}) for parameter ${name} is invalid. Valid values: ${allowed.join(', ')}`);
  }
  return value as T;
};

const bool = (params: URLSearchParams, name: string): boolean | undefined => {
  const value = params.get(name);
  if (value === null) return undefined;
  if (value !== 'true' && value !== 'false') throw invalid(`Value (${value}) for parameter ${name} is invalid. Expected a boolean.`);
  return value === 'true';
};

const defined = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;

/** `prefix.MetadataOptions.*` as given: only the fields the caller set. */
export const metadataParam = (params: URLSearchParams, prefix: string): Partial<MetadataOptions> => {
  const at = (field: string) => `${prefix}MetadataOptions.${field}`;
  const hops = intParam(params, at('HttpPutResponseHopLimit'));
  if (hops !== undefined && (hops < 1 || hops > 64)) {
    throw invalid(`The HttpPutResponseHopLimit value (${hops}) is invalid. It must be an integer from 1 to 64.`);
  }
  return defined({
    httpTokens: oneOf(params, at('HttpTokens'), ['optional', 'required'] as const),
    httpPutResponseHopLimit: hops,
    httpEndpoint: oneOf(params, at('HttpEndpoint'), ['enabled', 'disabled'] as const),
    instanceMetadataTags: oneOf(params, at('InstanceMetadataTags'), ['enabled', 'disabled'] as const),
  });
};

/** `prefix.BlockDeviceMapping.N.*` as given. */
export const blockDevicesParam = (params: URLSearchParams, prefix: string): BlockDeviceSpec[] =>
  structListParam(params, `${prefix}BlockDeviceMapping`).map((mapping) => {
    const deviceName = mapping.get('DeviceName');
    if (!deviceName) throw new QueryError(400, 'MissingParameter', 'The request must contain the parameter BlockDeviceMapping.DeviceName');
    return {
      deviceName,
      ebs: defined({
        volumeSize: intParam(mapping, 'Ebs.VolumeSize'),
        volumeType: mapping.get('Ebs.VolumeType') ?? undefined,
        iops: intParam(mapping, 'Ebs.Iops'),
        throughput: intParam(mapping, 'Ebs.Throughput'),
        encrypted: bool(mapping, 'Ebs.Encrypted'),
        kmsKeyId: mapping.get('Ebs.KmsKeyId') ?? undefined,
        deleteOnTermination: bool(mapping, 'Ebs.DeleteOnTermination'),
      }),
    };
  });

/** Request mappings replace the template's for the same device. */
export const mergeBlockDevices = (template: readonly BlockDeviceSpec[], request: readonly BlockDeviceSpec[]): BlockDeviceSpec[] => [
  ...template.filter((mapping) => !request.some((given) => given.deviceName === mapping.deviceName)),
  ...request,
];

// EBS volume types: size bounds (GiB), provisioned IOPS bounds, and IOPS per GiB where they apply.
const VOLUME_TYPES: Readonly<
  Record<
    string,
    { size: [number, number]; iops?: [number, number]; iopsRequired?: true; iopsPerGib?: number; throughput?: [number, number] }
  >
> = {
  gp2: { size: [1, 16_384] },
  gp3: { size: [1, 16_384], iops: [3000, 80_000], iopsPerGib: 500, throughput: [125, 2000] },
  io1: { size: [4, 16_384], iops: [100, 64_000], iopsRequired: true, iopsPerGib: 50 },
  io2: { size: [4, 65_536], iops: [100, 256_000], iopsRequired: true, iopsPerGib: 1000 },
  st1: { size: [125, 16_384] },
  sc1: { size: [125, 16_384] },
  standard: { size: [1, 1024] },
};

const checkRange = (what: string, value: number, [min, max]: [number, number], type: string): void => {
  if (value < min || value > max) throw invalid(`The ${what} (${value}) for a ${type} volume must be between ${min} and ${max}.`);
};

/** The volume a mapping attaches, or EC2's refusal of it. */
export const volumeOf = (mapping: BlockDeviceSpec, volumeId: string): SimVolume => {
  const { ebs, deviceName } = mapping;
  const root = deviceName === ROOT_DEVICE;
  const volumeType = ebs.volumeType ?? 'gp2';
  const limits = VOLUME_TYPES[volumeType];
  if (!limits)
    throw invalid(`Value (${volumeType}) for parameter volumeType is invalid. Valid values: ${Object.keys(VOLUME_TYPES).join(', ')}`);
  if (ebs.volumeSize === undefined && !root) {
    throw new QueryError(400, 'MissingParameter', `The request must contain the parameter size or snapshotId for ${deviceName}`);
  }
  const volumeSize = ebs.volumeSize ?? ROOT_SNAPSHOT_GIB;
  checkRange('size in GiB', volumeSize, limits.size, volumeType);
  if (root && volumeSize < ROOT_SNAPSHOT_GIB) {
    throw new QueryError(
      400,
      'InvalidBlockDeviceMapping',
      `Volume of size ${volumeSize}GB is smaller than the root snapshot, expect size >= ${ROOT_SNAPSHOT_GIB}GB`,
    );
  }
  if (ebs.iops !== undefined) {
    if (!limits.iops) throw combination(`The parameter iops is not supported for ${volumeType} volumes.`);
    checkRange('IOPS', ebs.iops, limits.iops, volumeType);
    if (limits.iopsPerGib && ebs.iops > volumeSize * limits.iopsPerGib && ebs.iops > limits.iops[0]) {
      throw invalid(`Iops to volume size ratio of ${ebs.iops / volumeSize} is too high; maximum is ${limits.iopsPerGib}.`);
    }
  } else if (limits.iopsRequired) {
    throw combination(`The parameter iops must be specified for ${volumeType} volumes.`);
  }
  if (ebs.throughput !== undefined) {
    if (!limits.throughput) throw combination(`The parameter throughput is not supported for ${volumeType} volumes.`);
    checkRange('throughput in MiB/s', ebs.throughput, limits.throughput, volumeType);
    if (ebs.throughput > (ebs.iops ?? limits.iops![0]) / 4) {
      throw invalid(`Throughput (MiBps) to iops ratio of ${ebs.throughput / (ebs.iops ?? limits.iops![0])} is too high; maximum is 0.25.`);
    }
  }
  if (ebs.kmsKeyId !== undefined && ebs.encrypted !== true) {
    throw new QueryError(400, 'InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set.');
  }
  return {
    volumeId,
    deviceName,
    volumeSize,
    volumeType,
    ...(ebs.iops === undefined ? volumeType === 'gp3' && { iops: 3000 } : { iops: ebs.iops }),
    ...(ebs.throughput === undefined ? volumeType === 'gp3' && { throughput: 125 } : { throughput: ebs.throughput }),
    encrypted: ebs.encrypted ?? false,
    ...(ebs.kmsKeyId !== undefined && { kmsKeyId: ebs.kmsKeyId }),
    deleteOnTermination: ebs.deleteOnTermination ?? true,
  };
};

/** The image's own root mapping, then the launch's: what the instance boots with. */
export const withRootDevice = (mappings: readonly BlockDeviceSpec[]): BlockDeviceSpec[] =>
  mergeBlockDevices([{ deviceName: ROOT_DEVICE, ebs: {} }], mappings);

export const metadataXml = (name: string, options: Partial<MetadataOptions>, state?: 'applied'): string =>
  el(
    name,
    leaf('state', state),
    leaf('httpTokens', options.httpTokens),
    leaf('httpPutResponseHopLimit', options.httpPutResponseHopLimit),
    leaf('httpEndpoint', options.httpEndpoint),
    leaf('instanceMetadataTags', options.instanceMetadataTags),
  );

/** A launch template's mappings, as DescribeLaunchTemplateVersions shows them. */
export const blockDevicesXml = (mappings: readonly BlockDeviceSpec[]): string =>
  listEl(
    'blockDeviceMappingSet',
    'item',
    mappings.map(({ deviceName, ebs }) =>
      [
        leaf('deviceName', deviceName),
        el(
          'ebs',
          leaf('encrypted', ebs.encrypted),
          leaf('deleteOnTermination', ebs.deleteOnTermination),
          leaf('iops', ebs.iops),
          leaf('kmsKeyId', ebs.kmsKeyId),
          leaf('volumeSize', ebs.volumeSize),
          leaf('volumeType', ebs.volumeType),
          leaf('throughput', ebs.throughput),
        ),
      ].join(''),
    ),
  );
