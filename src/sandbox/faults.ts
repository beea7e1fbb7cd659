import { z } from 'zod';

// Every fault the sandbox can inject. A new kind is one more member here plus the one place in
// the world or the server that asks for it with `take`.

const api = z.enum(['mackerel', 'ec2', 'elbv2', 'servicequotas', 'sts']);
const count = z.number().int().positive();
/** EC2/ELBv2 Action, or `METHOD /route` for Mackerel (`POST /api/v0/hosts/:id/status`); absent: any. */
const action = z.string().min(1).optional();

export const faultSchema = z.discriminatedUnion('type', [
  /** The next `count` newly registered targets fail their health checks. */
  z.object({ type: z.literal('health-fail'), count }),
  /** The next `count` launched instances never register in Mackerel. */
  z.object({ type: z.literal('agent-silent'), count }),
  /** The next `count` launched instances' agents register but post no metrics (until an agent-metrics edit says otherwise). */
  z.object({ type: z.literal('metrics-silent'), count }),
  /** The next `count` launched instances stay pending. */
  z.object({ type: z.literal('never-boot'), count }),
  /** The next `count` launched instances go from pending to terminated (Server.InternalError) instead of running. */
  z.object({ type: z.literal('die-while-booting'), count }),
  /** The next `count` newly registered targets fall back from healthy to unhealthy twice before they stay healthy. */
  z.object({ type: z.literal('health-flap'), count }),
  /** Targets deregistered while this is active drain `factor` times the advertised deregistration delay. */
  z.object({ type: z.literal('slow-drain'), factor: z.number().positive() }),
  /** RunInstances in this AZ (of this instance type, when given) fails with InsufficientInstanceCapacity until the fault is removed. */
  z.object({ type: z.literal('capacity'), az: z.string().min(1), instanceType: z.string().min(1).optional() }),
  /** The next `count` matching requests fail with this status (and error code, for AWS). */
  z.object({
    type: z.literal('api-error'),
    api,
    action,
    status: z.number().int().min(400).max(599),
    code: z.string().min(1).optional(),
    count,
    /** Seconds, sent as Retry-After (Mackerel only). */
    retryAfter: z.number().int().nonnegative().optional(),
  }),
  /** The next `count` matching requests get their connection destroyed without an answer. */
  z.object({ type: z.literal('drop'), api, action, count }),
  /** The next `count` matching requests are processed (the world changes), then their connection is destroyed unanswered. */
  z.object({ type: z.literal('drop-after'), api, action, count }),
  /**
   * The next `count` matching requests wait `ms` real milliseconds before the sandbox processes and
   * answers them; with 0 they hang until the client gives up. A request its client gives up on is never processed.
   */
  z.object({ type: z.literal('stall'), api, action, count, ms: z.number().int().nonnegative() }),
]);

export type Fault = z.infer<typeof faultSchema>;
export type FaultApi = z.infer<typeof api>;
const requestFaultTypes = ['api-error', 'drop', 'drop-after', 'stall'] as const;
/** A fault that meets one API request rather than the world. */
export type RequestFault = Extract<Fault, { type: (typeof requestFaultTypes)[number] }>;

export interface FaultBox {
  add(faults: readonly Fault[]): void;
  clear(): void;
  /** The faults still active, with their remaining counts. */
  list(): Fault[];
  /** Uses up one count of the first active fault that `match` accepts, and returns it. */
  take(match: (fault: Fault) => boolean): Fault | undefined;
}

export const createFaultBox = (): FaultBox => {
  let active: Fault[] = [];
  const take = (match: (fault: Fault) => boolean): Fault | undefined => {
    const index = active.findIndex(match);
    if (index < 0) return undefined;
    const fault = active[index]!;
    if ('count' in fault) {
      if (fault.count <= 1) active.splice(index, 1);
      else active[index] = { ...fault, count: fault.count - 1 };
    }
    return fault;
  };
  return {
    add: (faults) => {
      active = [...active, ...faults];
    },
    clear: () => {
      active = [];
    },
    list: () => [...active],
    take,
  };
};

const isRequestFault = (fault: Fault): fault is RequestFault => (requestFaultTypes as readonly string[]).includes(fault.type);

/** The request fault a request to `api`/`action` meets, if any. */
export const requestFaultFor = (box: FaultBox, target: FaultApi, name: string): RequestFault | undefined =>
  box.take((fault) => isRequestFault(fault) && fault.api === target && (fault.action === undefined || fault.action === name)) as
    | RequestFault
    | undefined;
