// `plan --out FILE` and `replace --plan FILE`: what was reviewed is what is applied.
import { writeFile } from 'node:fs/promises';
import * as z from 'zod';
import { FileProblem, readRegularFile } from '../config/read.js';
import { UsageError } from '../rollout/errors.js';
import type { ReviewedPlan } from '../rollout/plan.js';

const MAX_BYTES = 1024 * 1024;

const names = z.array(z.string());

const schema = z.object({
  version: z.literal(2),
  env: z.string(),
  role: z.string(),
  targetGroups: names,
  imageId: z.string(),
  instanceTypes: names,
  subnets: names,
  securityGroupIds: names,
  iamInstanceProfile: z.string().optional(),
  keyName: z.string().optional(),
  userDataSha256: z.string().optional(),
  tags: z.record(z.string(), z.string()),
  launches: z.array(z.object({ az: z.string(), count: z.int().positive() })),
  snapshot: names,
  vars: z.record(z.string(), z.string()),
  launchTemplate: z.object({ id: z.string(), name: z.string(), version: z.int().positive() }).optional(),
  metadataOptions: z
    .object({
      httpTokens: z.enum(['required', 'optional']),
      httpPutResponseHopLimit: z.int(),
      instanceMetadataTags: z.enum(['enabled', 'disabled']).optional(),
    })
    .optional(),
  blockDevices: z
    .array(
      z.object({
        deviceName: z.string(),
        volumeSize: z.int(),
        volumeType: z.enum(['gp3', 'gp2', 'io1', 'io2', 'st1', 'sc1']),
        iops: z.int().optional(),
        throughput: z.int().optional(),
        encrypted: z.boolean().optional(),
        kmsKeyId: z.string().optional(),
        deleteOnTermination: z.boolean().optional(),
      }),
    )
    .optional(),
});

export const writePlanFile = async (file: string, plan: ReviewedPlan): Promise<void> => {
  try {
    await writeFile(file, `${JSON.stringify(plan, null, 2)}\n`);
  } catch (error) {
    throw new UsageError(`cannot write the plan to ${file}: ${(error as Error).message}`);
  }
};

export const readPlanFile = async (file: string): Promise<ReviewedPlan> => {
  let text: string;
  try {
    text = await readRegularFile(file, MAX_BYTES, 'a saved plan is far smaller');
  } catch (error) {
    if (error instanceof FileProblem) throw new UsageError(`--plan: ${error.message}`);
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  // Version 1 lacked the mode, the instance's settings and the user data: applying it would leave them unreviewed.
  if ((json as { version?: unknown } | undefined)?.version === 1) {
    throw new UsageError(
      `--plan: ${file} was saved by an earlier version of mackerel-replacer, which did not record the mode, instance settings, tags and user data it reviewed`,
      're-run plan --out and review that plan',
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new UsageError(`--plan: ${file} is not a plan saved by mackerel-replacer plan --out`, 'save the plan again');
  return parsed.data;
};
