import { describeInstanceTypeOfferings, describeInstanceTypes, describeKeyPairs, describeSecurityGroups } from './capacity.js';
import { describeImages, describeInstances, describeSubnets, isDryRun } from './ec2-describe.js';
import { describeImageAttribute, modifyImageAttribute } from './ec2-images.js';
import { runInstances, terminate } from './ec2-run.js';
import { createTags, deleteTags } from './ec2-tags.js';
import {
  createLaunchTemplate,
  createLaunchTemplateVersion,
  describeLaunchTemplates,
  describeLaunchTemplateVersions,
  modifyLaunchTemplate,
} from './launch-templates.js';
import type { ActionContext } from './world.js';

/** Each returns the XML fields of its answer or throws a QueryError. */
export const ec2Actions: Readonly<Record<string, (params: URLSearchParams, context: ActionContext) => string>> = {
  DescribeImages: describeImages,
  DescribeSubnets: describeSubnets,
  DescribeInstances: describeInstances,
  DescribeInstanceTypes: describeInstanceTypes,
  DescribeInstanceTypeOfferings: describeInstanceTypeOfferings,
  DescribeSecurityGroups: describeSecurityGroups,
  DescribeKeyPairs: describeKeyPairs,
  RunInstances: runInstances,
  TerminateInstances: terminate,
  CreateTags: createTags,
  DeleteTags: deleteTags,
  CreateLaunchTemplate: createLaunchTemplate,
  CreateLaunchTemplateVersion: createLaunchTemplateVersion,
  DescribeLaunchTemplates: describeLaunchTemplates,
  DescribeLaunchTemplateVersions: describeLaunchTemplateVersions,
  ModifyLaunchTemplate: modifyLaunchTemplate,
  ModifyImageAttribute: modifyImageAttribute,
  DescribeImageAttribute: describeImageAttribute,
};

export const ec2Mutates = (action: string, params: URLSearchParams): boolean =>
  [
    'RunInstances',
    'TerminateInstances',
    'CreateTags',
    'DeleteTags',
    'CreateLaunchTemplate',
    'CreateLaunchTemplateVersion',
    'ModifyLaunchTemplate',
    'ModifyImageAttribute',
  ].includes(action) && !isDryRun(params);
