import type { IncomingMessage, ServerResponse } from 'node:http';
import { callerOf, keyIdOf } from './accounts.js';
import type { RequestRecord } from './control.js';
import { classify, type IncomingCall, type Reply } from './dispatch.js';
import { requestFaultFor } from './faults.js';
import { AGENT_USER_AGENT } from './host-payload.js';
import type { World } from './world.js';

/** What every API request is served with. */
export interface ApiServer {
  /** One per account, the first where the key id `sandbox` acts. */
  readonly worlds: readonly World[];
  /** The Mackerel API key of each world's organization. */
  readonly apiKeys: ReadonlyMap<World, string>;
  readonly requests: RequestRecord[];
}

/**
 * The world a request acts in: for Mackerel the organization of its API key, for AWS the account
 * of its access key id. A key of none is answered by the first world, which refuses it.
 */
const addressed = (server: ApiServer, request: IncomingMessage, url: URL): Pick<IncomingCall, 'world' | 'apiKey' | 'caller'> => {
  const [first] = server.worlds as [World];
  const keyOf = (world: World) => server.apiKeys.get(world)!;
  if (url.pathname.startsWith('/api/v0/')) {
    const key = request.headers['x-api-key'];
    const world =
      server.worlds.find((known) => keyOf(known) === key) ??
      server.worlds.find((known) => typeof key === 'string' && known.access.readOnlyKeys.has(key)) ??
      first;
    return { world, apiKey: keyOf(world) };
  }
  const keyId = keyIdOf(request.headers.authorization);
  const caller = keyId === undefined ? undefined : callerOf(server.worlds, keyId);
  const world = (caller && server.worlds.find((known) => known.accountId === caller.accountId)) ?? first;
  return { world, apiKey: keyOf(world), ...(caller && { caller }) };
};

export const send = (response: ServerResponse, reply: Reply): void => {
  response.writeHead(reply.status, reply.headers).end(reply.body);
};

const isAgent = (request: IncomingMessage): boolean =>
  [request.headers['user-agent'], request.headers['x-amz-user-agent']].some((header) => header?.includes(AGENT_USER_AGENT.split(' ')[0]!));

/**
 * Holds a request for `ms` real ms (0: for ever) and tells whether it is still wanted then: false
 * as soon as its connection closes, whether the client hangs up or the sandbox closes.
 */
const hold = (ms: number, response: ServerResponse): Promise<boolean> =>
  new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const gone = () => {
      clearTimeout(timer);
      resolve(false);
    };
    if (response.destroyed) return resolve(false);
    response.once('close', gone);
    if (ms > 0) {
      timer = setTimeout(() => {
        response.off('close', gone);
        resolve(true);
      }, ms);
    }
  });

/** Serves one Mackerel, EC2 or ELBv2 request, meeting the request fault due, and logs it. */
export const serveApi = async (server: ApiServer, request: IncomingMessage, response: ServerResponse, body: string): Promise<void> => {
  const { requests } = server;
  const method = request.method ?? 'GET';
  const url = new URL(request.url ?? '/', 'http://sandbox');
  const by = isAgent(request) ? 'agent' : 'client';
  const target = addressed(server, request, url);
  const { world } = target;
  const call = classify({ ...target, method, url, headers: request.headers, body, by });
  if (!call)
    return send(response, { status: 404, headers: { 'content-type': 'text/plain' }, body: `nothing at ${method} ${url.pathname}\n` });
  // Faults are for the tool under test; the simulated agent has its own (agent-silent).
  const fault = by === 'client' ? requestFaultFor(world.faults, call.api, call.action) : undefined;
  const record = (t: number, status: number, dropped: boolean) =>
    requests.push({
      t,
      api: call.api,
      action: call.action,
      status,
      mutating: call.mutating,
      by,
      ...(fault ? { fault: fault.type } : {}),
      ...(dropped ? { dropped } : {}),
    });
  if (fault?.type === 'stall' && !(await hold(fault.ms, response))) return void record(world.advance(), 0, true);
  const now = world.advance();
  if (fault?.type === 'drop') {
    record(now, 0, true);
    request.socket.destroy();
    return;
  }
  const reply = fault?.type === 'api-error' ? call.fail(fault) : call.answer(now);
  record(now, reply.status, fault?.type === 'drop-after');
  if (fault?.type === 'drop-after') request.socket.destroy();
  else send(response, reply);
};
