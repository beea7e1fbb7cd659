import { dryRunError, isDryRun } from './ec2-describe.js';
import { leaf, listEl, QueryError, requiredParam, structListParam } from './query.js';
import { type ActionContext, canSee, type SimImage } from './world.js';

// An image's launch permissions: its owner shares it with other accounts, which then see and launch it.

/** The image, which only its owner may read or change the attributes of. */
const ownImage = (params: URLSearchParams, { world }: ActionContext): SimImage => {
  const imageId = requiredParam(params, 'ImageId');
  if (!imageId.startsWith('ami-')) throw new QueryError(400, 'InvalidAMIID.Malformed', `Invalid id: "${imageId}" (expecting "ami-...")`);
  const image = world.images.get(imageId);
  if (!image || !canSee(image, world.accountId)) {
    throw new QueryError(400, 'InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  }
  if (image.ownerId !== world.accountId) throw new QueryError(403, 'AuthFailure', `Not authorized for image:${imageId}`);
  return image;
};

const userIds = (params: URLSearchParams, operation: 'Add' | 'Remove'): string[] =>
  structListParam(params, `LaunchPermission.${operation}`).map((entry) => {
    const userId = entry.get('UserId');
    if (userId === null) {
      throw new QueryError(400, 'InvalidParameterValue', 'The sandbox shares images with accounts only: give LaunchPermission UserId');
    }
    if (!/^\d{12}$/.test(userId))
      throw new QueryError(400, 'InvalidAMIAttributeItemValue', `Invalid attribute item value "${userId}" for userId item type.`);
    return userId;
  });

/** `LaunchPermission: { Add: [{ UserId }], Remove: [{ UserId }] }`. */
export const modifyImageAttribute = (params: URLSearchParams, context: ActionContext): string => {
  const image = ownImage(params, context);
  const add = userIds(params, 'Add');
  const remove = userIds(params, 'Remove');
  if (add.length + remove.length === 0) {
    throw new QueryError(400, 'MissingParameter', 'The request must contain the parameter LaunchPermission (Add or Remove)');
  }
  if (isDryRun(params)) throw dryRunError();
  for (const userId of add) if (userId !== image.ownerId) image.launchPermissions.add(userId);
  for (const userId of remove) image.launchPermissions.delete(userId);
  return leaf('return', true);
};

/** `Attribute: launchPermission`, the one attribute the sandbox keeps. */
export const describeImageAttribute = (params: URLSearchParams, context: ActionContext): string => {
  const attribute = requiredParam(params, 'Attribute');
  const image = ownImage(params, context);
  if (attribute !== 'launchPermission') {
    throw new QueryError(400, 'InvalidParameterValue', `The sandbox keeps the attribute launchPermission only, not ${attribute}`);
  }
  if (isDryRun(params)) throw dryRunError();
  const permissions = [...image.launchPermissions].sort().map((userId) => leaf('userId', userId));
  return leaf('imageId', image.id) + listEl('launchPermission', 'item', permissions);
};
