import { imageXml, reservationXml, subnetXml } from './ec2-xml.js';
import { type Filter, filterParam, intParam, leaf, listEl, listParam, QueryError, wildcardMatcher } from './query.js';
import { type ActionContext, canSee, type SimImage, type SimInstance, type SimSubnet, type World } from './world.js';

export const isDryRun = (params: URLSearchParams): boolean => params.get('DryRun') === 'true';

export const dryRunError = (): QueryError =>
  new QueryError(412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.');

type Fields<T> = Readonly<Record<string, (item: T) => readonly string[]>>;

// Values of one filter are alternatives, separate filters must all hold; `tag:<key>` filters
// on the value of that tag.
const applyFilters = <T>(
  items: readonly T[],
  filters: readonly Filter[],
  fields: Fields<T>,
  tags?: (item: T) => Readonly<Record<string, string>>,
): T[] => {
  const tests = filters.map(({ name, values }) => {
    const read =
      name.startsWith('tag:') && tags
        ? (item: T) => {
            const value = tags(item)[name.slice(4)];
            return value === undefined ? [] : [value];
          }
        : fields[name];
    if (!read) throw new QueryError(400, 'InvalidParameterValue', `The filter '${name}' is invalid`);
    // Plain values by lookup: a filter of 100 instance ids over thousands of instances stays linear.
    const exact = new Set(values.filter((value) => !/[*?]/.test(value)));
    const patterns = values.filter((value) => /[*?]/.test(value)).map(wildcardMatcher);
    return (item: T) => read(item).some((actual) => exact.has(actual) || patterns.some((matches) => matches(actual)));
  });
  return items.filter((item) => tests.every((test) => test(item)));
};

const lookup = <T>(
  map: ReadonlyMap<string, T>,
  ids: readonly string[],
  prefix: string,
  notFound: (missing: string[]) => QueryError,
  malformed: string,
): T[] => {
  const bad = ids.find((id) => !id.startsWith(prefix));
  if (bad !== undefined) throw new QueryError(400, malformed, `Invalid id: "${bad}"`);
  const missing = ids.filter((id) => !map.has(id));
  if (missing.length > 0) throw notFound(missing);
  return ids.map((id) => map.get(id)!);
};

export const findInstances = (world: World, ids: readonly string[]): SimInstance[] =>
  lookup(
    world.instances,
    ids,
    'i-',
    (missing) =>
      new QueryError(
        400,
        'InvalidInstanceID.NotFound',
        missing.length === 1 ? `The instance ID '${missing[0]}' does not exist` : `The instance IDs '${missing.join(', ')}' do not exist`,
      ),
    'InvalidInstanceID.Malformed',
  );

const imageFields: Fields<SimImage> = {
  name: (image) => [image.name],
  state: (image) => [image.state],
  'image-id': (image) => [image.id],
  'owner-id': (image) => [image.ownerId],
};

const ownedBy = (world: World, image: SimImage, owner: string): boolean =>
  owner === 'self' ? image.ownerId === world.accountId : owner === image.ownerId || owner === image.ownerAlias;

/** The images the world's account may describe and launch: its own and those shared with it. */
export const visibleImages = (world: World): ReadonlyMap<string, SimImage> =>
  new Map([...world.images].filter(([, image]) => canSee(image, world.accountId)));

export const describeImages = (params: URLSearchParams, { world }: ActionContext): string => {
  if (isDryRun(params)) throw dryRunError();
  const ids = listParam(params, 'ImageId');
  const owners = listParam(params, 'Owner');
  const notFound = (missing: string[]) =>
    new QueryError(400, 'InvalidAMIID.NotFound', `The image id '[${missing.join(', ')}]' does not exist`);
  const visible = visibleImages(world);
  const candidates = ids.length > 0 ? lookup(visible, ids, 'ami-', notFound, 'InvalidAMIID.Malformed') : [...visible.values()];
  const owned = owners.length > 0 ? candidates.filter((image) => owners.some((owner) => ownedBy(world, image, owner))) : candidates;
  const images = applyFilters(owned, filterParam(params), imageFields);
  return listEl('imagesSet', 'item', images.map(imageXml));
};

const subnetFields: Fields<SimSubnet> = {
  'subnet-id': (subnet) => [subnet.id],
  'vpc-id': (subnet) => [subnet.vpcId],
  'availability-zone': (subnet) => [subnet.az],
};

export const describeSubnets = (params: URLSearchParams, { world }: ActionContext): string => {
  if (isDryRun(params)) throw dryRunError();
  const ids = listParam(params, 'SubnetId');
  const notFound = (missing: string[]) =>
    new QueryError(400, 'InvalidSubnetID.NotFound', `The subnet ID '${missing.join(', ')}' does not exist`);
  const candidates =
    ids.length > 0 ? lookup(world.subnets, ids, 'subnet-', notFound, 'InvalidSubnetID.Malformed') : [...world.subnets.values()];
  return listEl(
    'subnetSet',
    'item',
    applyFilters(candidates, filterParam(params), subnetFields).map((subnet) => subnetXml(world, subnet)),
  );
};

const instanceFields: Fields<SimInstance> = {
  'instance-id': (instance) => [instance.id],
  'instance-state-name': (instance) => [instance.state],
  'subnet-id': (instance) => [instance.subnetId],
  'availability-zone': (instance) => [instance.az],
  'image-id': (instance) => [instance.imageId],
  'vpc-id': (instance) => [instance.vpcId],
  'tag-key': (instance) => Object.keys(instance.tags),
};

// Pages by instance; each page groups its instances by reservation, as EC2 does.
const page = (params: URLSearchParams, instances: SimInstance[]): { slice: SimInstance[]; next?: string } => {
  const max = intParam(params, 'MaxResults');
  if (max === undefined) return { slice: instances };
  if (max < 5 || max > 1000)
    throw new QueryError(
      400,
      'InvalidParameterValue',
      `Value ( ${max} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
    );
  const start = Number(params.get('NextToken') ?? '0');
  if (!Number.isInteger(start) || start < 0) throw new QueryError(400, 'InvalidParameterValue', 'The NextToken is invalid.');
  const slice = instances.slice(start, start + max);
  return start + max < instances.length ? { slice, next: String(start + max) } : { slice };
};

export const describeInstances = (params: URLSearchParams, { world }: ActionContext): string => {
  if (isDryRun(params)) throw dryRunError();
  const ids = listParam(params, 'InstanceId');
  if (ids.length > 0 && params.has('MaxResults')) {
    throw new QueryError(400, 'InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
  }
  const candidates = ids.length > 0 ? findInstances(world, ids) : [...world.instances.values()];
  const matching = applyFilters(candidates, filterParam(params), instanceFields, (instance) => instance.tags);
  const { slice, next } = page(params, matching);
  const reservations = new Map<string, SimInstance[]>();
  for (const instance of slice) {
    const members = reservations.get(instance.reservationId);
    if (members) members.push(instance);
    else reservations.set(instance.reservationId, [instance]);
  }
  return (
    listEl(
      'reservationSet',
      'item',
      [...reservations.values()].map((instances) => reservationXml(world, instances)),
    ) + leaf('nextToken', next)
  );
};
