// EC2 launch templates: CreateLaunchTemplate, CreateLaunchTemplateVersion, DescribeLaunchTemplates,
// DescribeLaunchTemplateVersions, ModifyLaunchTemplate (the default version), and the lookup
// RunInstances does for `LaunchTemplate.*`, with EC2's error codes for what is missing.
import { dryRunError, isDryRun } from './ec2-describe.js';
import {
  type BlockDeviceSpec,
  blockDevicesParam,
  blockDevicesXml,
  type MetadataOptions,
  metadataParam,
  metadataXml,
} from './ec2-launch-options.js';
import { checkTags } from './ec2-tags.js';
import { el, intParam, leaf, listEl, listParam, QueryError, structListParam } from './query.js';
import { ACCOUNT_ID, type ActionContext, type World } from './world.js';

export interface TemplateNetworkInterface {
  readonly deviceIndex: number;
  readonly subnetId?: string;
  readonly groups: readonly string[];
}

/** One version's LaunchTemplateData: only what it sets. */
export interface TemplateData {
  readonly imageId?: string;
  readonly instanceType?: string;
  readonly keyName?: string;
  readonly iamInstanceProfile?: string;
  /** Base64, as given. */
  readonly userData?: string;
  readonly securityGroupIds?: readonly string[];
  /** Resource type → its tags. */
  readonly tags?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly metadataOptions?: Partial<MetadataOptions>;
  readonly blockDevices?: readonly BlockDeviceSpec[];
  readonly networkInterfaces?: readonly TemplateNetworkInterface[];
}

export interface SimLaunchTemplate {
  readonly id: string;
  readonly name: string;
  /** Simulated ms. */
  readonly createdAt: number;
  defaultVersion: number;
  latestVersion: number;
  readonly versions: Map<number, TemplateData>;
}

const NAME = /^[a-zA-Z0-9().\-/_]{3,128}$/;
const DATA = 'LaunchTemplateData.';

const notFoundById = (id: string) =>
  new QueryError(400, 'InvalidLaunchTemplateId.NotFound', `The specified launch template, with template ID ${id}, does not exist.`);
const notFoundByName = (name: string) =>
  new QueryError(
    400,
    'InvalidLaunchTemplateName.NotFoundException',
    `The specified launch template, with template name ${name}, does not exist.`,
  );

const compact = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))) as T;

const templateData = (params: URLSearchParams): TemplateData => {
  const get = (field: string) => params.get(`${DATA}${field}`) ?? undefined;
  const tags: Record<string, Record<string, string>> = {};
  for (const spec of structListParam(params, `${DATA}TagSpecification`)) {
    const pairs = structListParam(spec, 'Tag').map((tag) => [tag.get('Key') ?? '', tag.get('Value') ?? ''] as const);
    checkTags(pairs);
    const resource = spec.get('ResourceType') ?? '';
    tags[resource] = { ...tags[resource], ...Object.fromEntries(pairs) };
  }
  const metadata = metadataParam(params, DATA);
  return compact({
    imageId: get('ImageId'),
    instanceType: get('InstanceType'),
    keyName: get('KeyName'),
    iamInstanceProfile: get('IamInstanceProfile.Name') ?? get('IamInstanceProfile.Arn')?.split('/').pop(),
    userData: get('UserData'),
    securityGroupIds: listParam(params, `${DATA}SecurityGroupId`),
    tags: Object.keys(tags).length > 0 ? tags : undefined,
    metadataOptions: Object.keys(metadata).length > 0 ? metadata : undefined,
    blockDevices: blockDevicesParam(params, DATA),
    networkInterfaces: structListParam(params, `${DATA}NetworkInterface`).map((ni) => ({
      deviceIndex: intParam(ni, 'DeviceIndex') ?? 0,
      ...(ni.get('SubnetId') === null ? {} : { subnetId: ni.get('SubnetId')! }),
      groups: listParam(ni, 'SecurityGroupId'),
    })),
  });
};

const hasData = (params: URLSearchParams): boolean => [...params.keys()].some((key) => key.startsWith(DATA));

/** By `LaunchTemplateId` or `LaunchTemplateName` (exactly one) under `prefix`. */
export const findTemplate = (world: World, params: URLSearchParams, prefix = ''): SimLaunchTemplate => {
  const id = params.get(`${prefix}LaunchTemplateId`);
  const name = params.get(`${prefix}LaunchTemplateName`);
  if ((id === null) === (name === null)) {
    throw new QueryError(
      400,
      'InvalidParameterCombination',
      'Specify either the launch template ID or the launch template name, not both.',
    );
  }
  if (id !== null) {
    if (!/^lt-[0-9a-f]{17}$/.test(id)) {
      throw new QueryError(400, 'InvalidLaunchTemplateId.Malformed', `The specified ID for the launch template (${id}) is malformed.`);
    }
    const template = world.launchTemplates.get(id);
    if (!template) throw notFoundById(id);
    return template;
  }
  const template = [...world.launchTemplates.values()].find((known) => known.name === name);
  if (!template) throw notFoundByName(name!);
  return template;
};

/** `$Latest`, `$Default` or a number, as the version that exists. */
export const findVersion = (template: SimLaunchTemplate, version: string): { readonly number: number; readonly data: TemplateData } => {
  const number =
    version === '$Latest'
      ? template.latestVersion
      : version === '$Default'
        ? template.defaultVersion
        : /^\d+$/.test(version)
          ? Number(version)
          : NaN;
  if (Number.isNaN(number)) {
    throw new QueryError(
      400,
      'InvalidParameterValue',
      `The launch template version (${version}) is invalid: expected a number, $Latest or $Default.`,
    );
  }
  const data = template.versions.get(number);
  if (!data) {
    throw new QueryError(
      400,
      'InvalidLaunchTemplateId.VersionNotFound',
      `The specified launch template version ${version} does not exist for launch template ${template.id}.`,
    );
  }
  return { number, data };
};

const createdBy = `arn:aws:iam::${ACCOUNT_ID}:user/sandbox`;

const templateXml = (world: World, template: SimLaunchTemplate): string =>
  leaf('launchTemplateId', template.id) +
  leaf('launchTemplateName', template.name) +
  leaf('createTime', new Date(world.clock.epoch(template.createdAt)).toISOString()) +
  leaf('createdBy', createdBy) +
  leaf('defaultVersionNumber', template.defaultVersion) +
  leaf('latestVersionNumber', template.latestVersion);

const dataXml = (data: TemplateData): string =>
  [
    leaf('imageId', data.imageId),
    leaf('instanceType', data.instanceType),
    leaf('keyName', data.keyName),
    data.iamInstanceProfile === undefined ? '' : el('iamInstanceProfile', leaf('name', data.iamInstanceProfile)),
    leaf('userData', data.userData),
    data.securityGroupIds ? el('securityGroupIdSet', ...data.securityGroupIds.map((id) => leaf('item', id))) : '',
    data.tags
      ? listEl(
          'tagSpecificationSet',
          'item',
          Object.entries(data.tags).map(
            ([resource, tags]) =>
              leaf('resourceType', resource) +
              listEl(
                'tagSet',
                'item',
                Object.entries(tags).map(([key, value]) => leaf('key', key) + leaf('value', value)),
              ),
          ),
        )
      : '',
    data.metadataOptions ? metadataXml('metadataOptions', data.metadataOptions) : '',
    data.blockDevices ? blockDevicesXml(data.blockDevices) : '',
    data.networkInterfaces
      ? listEl(
          'networkInterfaceSet',
          'item',
          data.networkInterfaces.map(
            (ni) =>
              leaf('deviceIndex', ni.deviceIndex) +
              leaf('subnetId', ni.subnetId) +
              el('groupSet', ...ni.groups.map((g) => leaf('groupId', g))),
          ),
        )
      : '',
  ].join('');

const versionXml = (world: World, template: SimLaunchTemplate, number: number): string =>
  leaf('launchTemplateId', template.id) +
  leaf('launchTemplateName', template.name) +
  leaf('versionNumber', number) +
  leaf('createTime', new Date(world.clock.epoch(template.createdAt)).toISOString()) +
  leaf('createdBy', createdBy) +
  leaf('defaultVersion', number === template.defaultVersion) +
  el('launchTemplateData', dataXml(template.versions.get(number)!));

export const createLaunchTemplate = (params: URLSearchParams, { world, now }: ActionContext): string => {
  const name = params.get('LaunchTemplateName');
  if (!name) throw new QueryError(400, 'MissingParameter', 'The request must contain the parameter LaunchTemplateName');
  if (!NAME.test(name)) {
    throw new QueryError(400, 'InvalidLaunchTemplateName.MalformedException', `The launch template name (${name}) is malformed.`);
  }
  if (!hasData(params)) throw new QueryError(400, 'MissingParameter', 'The request must contain the parameter LaunchTemplateData');
  const data = templateData(params);
  if ([...world.launchTemplates.values()].some((known) => known.name === name)) {
    throw new QueryError(400, 'InvalidLaunchTemplateName.AlreadyExistsException', `Launch template name already in use.`);
  }
  if (isDryRun(params)) throw dryRunError();
  const template: SimLaunchTemplate = {
    id: world.nextId('lt'),
    name,
    createdAt: now,
    defaultVersion: 1,
    latestVersion: 1,
    versions: new Map([[1, data]]),
  };
  world.launchTemplates.set(template.id, template);
  return el('launchTemplate', templateXml(world, template));
};

/** The new version inherits SourceVersion's data, field by field, where it sets nothing itself. */
export const createLaunchTemplateVersion = (params: URLSearchParams, { world }: ActionContext): string => {
  const template = findTemplate(world, params);
  if (!hasData(params)) throw new QueryError(400, 'MissingParameter', 'The request must contain the parameter LaunchTemplateData');
  const source = params.get('SourceVersion');
  const base = source === null ? {} : findVersion(template, source).data;
  const data = { ...base, ...templateData(params) };
  if (isDryRun(params)) throw dryRunError();
  template.latestVersion += 1;
  template.versions.set(template.latestVersion, data);
  return el('launchTemplateVersion', versionXml(world, template, template.latestVersion));
};

export const modifyLaunchTemplate = (params: URLSearchParams, { world }: ActionContext): string => {
  const template = findTemplate(world, params);
  const version = params.get('SetDefaultVersion');
  const number = version === null ? undefined : findVersion(template, version).number;
  if (isDryRun(params)) throw dryRunError();
  if (number !== undefined) template.defaultVersion = number;
  return el('launchTemplate', templateXml(world, template));
};

export const describeLaunchTemplates = (params: URLSearchParams, { world }: ActionContext): string => {
  if (isDryRun(params)) throw dryRunError();
  const ids = listParam(params, 'LaunchTemplateId');
  const names = listParam(params, 'LaunchTemplateName');
  const missingId = ids.find((id) => !world.launchTemplates.has(id));
  if (missingId !== undefined) throw notFoundById(missingId);
  const all = [...world.launchTemplates.values()];
  if (names.some((name) => !all.some((template) => template.name === name))) {
    throw new QueryError(
      400,
      'InvalidLaunchTemplateName.NotFoundException',
      'At least one of the launch templates specified in the request does not exist.',
    );
  }
  const chosen = ids.length + names.length === 0 ? all : all.filter((t) => ids.includes(t.id) || names.includes(t.name));
  return listEl(
    'launchTemplates',
    'item',
    chosen.map((template) => templateXml(world, template)),
  );
};

export const describeLaunchTemplateVersions = (params: URLSearchParams, { world }: ActionContext): string => {
  if (isDryRun(params)) throw dryRunError();
  const template = findTemplate(world, params);
  const asked = listParam(params, 'LaunchTemplateVersion');
  const numbers = asked.length === 0 ? [...template.versions.keys()] : asked.map((version) => findVersion(template, version).number);
  return listEl(
    'launchTemplateVersionSet',
    'item',
    [...new Set(numbers)].map((number) => versionXml(world, template, number)),
  );
};
