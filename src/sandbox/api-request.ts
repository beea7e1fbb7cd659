import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestRecord } from './control.js';
import { classify, type Reply } from './dispatch.js';
import { requestFaultFor } from './faults.js';
import { AGENT_USER_AGENT } from './host-payload.js';
import type { World } from './world.js';

/** What every API request is served with. */
export interface ApiServer {
  readonly world: World;
  readonly apiKey: string;
  readonly requests: RequestRecord[];
}

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
  const { world, apiKey, requests } = server;
  const method = request.method ?? 'GET';
  const url = new URL(request.url ?? '/', 'http://sandbox');
  const by = isAgent(request) ? 'agent' : 'client';
  const call = classify({ world, apiKey, method, url, headers: request.headers, body, by });
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
