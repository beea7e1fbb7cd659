import { describeImages, describeInstances, describeSubnets, isDryRun } from './ec2-describe.js';
import { createTags, runInstances, terminate } from './ec2-run.js';
import type { ActionContext } from './world.js';

/** Each returns the XML fields of its answer or throws a QueryError. */
export const ec2Actions: Readonly<Record<string, (params: URLSearchParams, context: ActionContext) => string>> = {
  DescribeImages: describeImages,
  DescribeSubnets: describeSubnets,
  DescribeInstances: describeInstances,
  RunInstances: runInstances,
  TerminateInstances: terminate,
  CreateTags: createTags,
};

export const ec2Mutates = (action: string, params: URLSearchParams): boolean =>
  ['RunInstances', 'TerminateInstances', 'CreateTags'].includes(action) && !isDryRun(params);
