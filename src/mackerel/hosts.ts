// GET /api/v0/hosts responses mapped to the engine's Host.
import { z } from 'zod';
import { ApiError } from '../rollout/errors.js';
import type { Host } from '../rollout/ports.js';

const hostSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['working', 'standby', 'maintenance', 'poweroff']),
  isRetired: z.boolean().optional(),
  customIdentifier: z.string().nullish(),
  roles: z.record(z.string(), z.array(z.string())).nullish(),
  meta: z
    .object({
      // Of the agent's metadata only the instance id is read; the rest is left out of the copy.
      cloud: z.object({ provider: z.string(), metadata: z.object({ 'instance-id': z.unknown() }).nullish() }).nullish(),
    })
    .nullish(),
});

const hostsSchema = z.object({ hosts: z.array(hostSchema) });

type RawHost = z.infer<typeof hostSchema>;

/** The agent on EC2 sets customIdentifier to `<instance-id>.ec2.amazonaws.com`. */
const customIdentifierPattern = /^(i-[0-9a-f]+)\.ec2\.amazonaws\.com$/;

const instanceIdOf = (host: RawHost): string | undefined => {
  const cloud = host.meta?.cloud;
  const fromMetadata = cloud?.provider === 'ec2' ? cloud.metadata?.['instance-id'] : undefined;
  if (typeof fromMetadata === 'string' && fromMetadata !== '') return fromMetadata;
  return identifiedAs(host);
};

const identifiedAs = (host: RawHost): string | undefined => customIdentifierPattern.exec(host.customIdentifier ?? '')?.[1];

const roleFullnames = (host: RawHost): string[] =>
  Object.entries(host.roles ?? {}).flatMap(([service, roles]) => roles.map((role) => `${service}:${role}`));

/** The customIdentifier mackerel-agent gives an EC2 instance's host. */
export const customIdentifierOf = (instanceId: string): string => `${instanceId}.ec2.amazonaws.com`;

/** A response body of the shape `schema` expects; `operation` names the call if it is not. */
export const parseResponse = <T>(schema: z.ZodType<T>, body: unknown, operation: string): T => {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const problem = `unexpected response: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`;
  throw new ApiError('Mackerel', operation, 'BAD_RESPONSE', problem, 'check that MACKEREL_APIBASE points at the Mackerel API');
};

/** The non-retired hosts of a host list; `operation` names the call if the body is not one. */
export const toHosts = (body: unknown, operation: string): Host[] =>
  parseResponse(hostsSchema, body, operation)
    .hosts.filter((host) => host.isRetired !== true)
    .map((host) => ({
      id: host.id,
      name: host.name,
      status: host.status,
      instanceId: instanceIdOf(host),
      identifiedAs: identifiedAs(host),
      roles: roleFullnames(host),
    }));
