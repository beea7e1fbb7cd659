import { dryRunError, findInstances, isDryRun } from './ec2-describe.js';
import { leaf, listParam, QueryError, structListParam } from './query.js';
import type { ActionContext } from './world.js';

// EC2 tag restrictions: at most 50 tags per resource, keys of 1 to 128 characters not starting
// `aws:` (reserved), values of at most 256. Every check comes before DryRunOperation.

const MAX_TAGS = 50;

const invalid = (field: string, value: string, why: string) =>
  new QueryError(400, 'InvalidParameterValue', `Value ( ${value} ) for parameter ${field} is invalid. ${why}`);

const checkKey = (key: string): void => {
  if (key.length === 0 || key.length > 128) throw invalid('key', key, 'Tag keys must be between 1 and 128 characters long.');
  if (key.toLowerCase().startsWith('aws:')) throw invalid('key', key, "Tag keys starting with 'aws:' are reserved for internal use");
};

export const checkTags = (tags: readonly (readonly [key: string, value: string])[]): void => {
  for (const [key, value] of tags) {
    checkKey(key);
    if (value.length > 256) throw invalid('value', value, `The value of tag '${key}' must be at most 256 characters long.`);
  }
};

export const checkTagCount = (resource: string, keys: ReadonlySet<string>): void => {
  if (keys.size > MAX_TAGS) {
    throw new QueryError(
      400,
      'TagLimitExceeded',
      `The maximum number of tags per resource is ${MAX_TAGS}: ${resource} would have ${keys.size}.`,
    );
  }
};

const tagParams = (params: URLSearchParams) => structListParam(params, 'Tag');

const resources = (params: URLSearchParams, context: ActionContext) => {
  const ids = listParam(params, 'ResourceId');
  if (ids.length === 0) throw new QueryError(400, 'MissingParameter', 'The request must contain the parameter ResourceId');
  return findInstances(context.world, ids);
};

/** CreateTags on instances (the only resources the tool tags); all or nothing, as EC2 does. */
export const createTags = (params: URLSearchParams, context: ActionContext): string => {
  const instances = resources(params, context);
  const tags = tagParams(params).map((tag) => [tag.get('Key') ?? '', tag.get('Value') ?? ''] as const);
  if (tags.length === 0) throw new QueryError(400, 'MissingParameter', 'The request must contain the parameter Tag');
  checkTags(tags);
  for (const instance of instances) checkTagCount(instance.id, new Set([...Object.keys(instance.tags), ...tags.map(([key]) => key)]));
  if (isDryRun(params)) throw dryRunError();
  for (const instance of instances) {
    for (const [key, value] of tags) instance.tags[key] = value;
    context.world.record({ t: context.now, type: 'instance.tagged', instanceId: instance.id });
  }
  return leaf('return', true);
};

/**
 * DeleteTags on instances: a tag given with a Value goes only if it has that value (an empty
 * Value matches only an empty one); no Tag at all deletes every tag.
 */
export const deleteTags = (params: URLSearchParams, context: ActionContext): string => {
  const instances = resources(params, context);
  const tags = tagParams(params).map((tag) => ({ key: tag.get('Key') ?? '', value: tag.get('Value') }));
  for (const { key } of tags) checkKey(key);
  if (isDryRun(params)) throw dryRunError();
  for (const instance of instances) {
    const doomed = Object.keys(instance.tags).filter(
      (key) => tags.length === 0 || tags.some((tag) => tag.key === key && (tag.value === null || tag.value === instance.tags[key])),
    );
    for (const key of doomed) delete instance.tags[key];
    if (doomed.length > 0) context.world.record({ t: context.now, type: 'instance.untagged', instanceId: instance.id });
  }
  return leaf('return', true);
};
