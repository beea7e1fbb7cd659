// The deploy record as read back from its file: evidence to check, never trusted as it stands.
import * as z from 'zod';
import { STEPS } from '../rollout/record.js';

const text = z.string();
const ids = z.array(text);

const member = z.object({
  hostId: text,
  hostName: text,
  hostStatus: z.enum(['working', 'standby', 'maintenance', 'poweroff']),
  instanceId: text,
  az: text,
  imageId: text,
  launchedAt: text.optional(),
});

const launch = z.object({ az: text, subnetId: text, count: z.int().nonnegative(), clientToken: text });

/** Version 1, the only one this tool writes; another version is named, never guessed at. */
export const recordSchema = z.object({
  version: z.literal(1, { error: 'expected version 1, the only record version this tool knows' }),
  deployId: text,
  env: text,
  role: text,
  service: text,
  runner: text,
  startedAt: z.number(),
  updatedAt: z.number(),
  status: z.enum(['running', 'interrupted', 'rolling-back', 'rolled-back', 'replaced', 'incomplete', 'kept', 'held', 'abandoned']),
  step: z.enum(STEPS as [string, ...string[]]),
  image: z.object({ id: text, name: text, state: text, createdAt: text }),
  launchTemplate: z.object({ id: text, name: text, version: z.int().positive() }).optional(),
  // Optional: records written before user data variables and promotion existed lack them.
  vars: z.record(text, text).optional(),
  promotedFrom: z.object({ env: text, deployId: text }).optional(),
  snapshot: z.array(member),
  staleHosts: ids.optional(),
  launches: z.array(launch),
  launchTypes: z.record(text, text).optional(),
  launched: z.record(text, ids),
  // Optional: records written before pacing lack them; without the chunks, resume and cutover would send RunInstances again.
  launchBucket: z.object({ burst: z.number().positive(), refillPerSecond: z.number().positive() }).optional(),
  launchedChunks: z.record(text, z.object({ ids, at: z.number() })).optional(),
  registeredGroups: ids,
  cutoverBegun: z.boolean(),
  workerDrainUntil: z.number().optional(),
  terminated: ids,
  reason: text.optional(),
  unlocked: text.optional(),
  leftovers: z.array(z.object({ what: text, fix: text })),
  // Optional: a deploy in one wave has none of these.
  waves: z.array(z.object({ launches: z.array(launch), old: ids })).optional(),
  wave: z.int().nonnegative().optional(),
  served: z.record(text, ids).optional(),
  keep: z.object({ forMs: z.number().positive(), finishWhenOver: z.literal(true).optional() }).optional(),
  keptSince: z.number().optional(),
  hold: z.object({ register: z.boolean() }).optional(),
});
