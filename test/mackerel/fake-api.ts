// A scripted loopback HTTP server standing in for the Mackerel API: it records every request and
// answers each with the next reply the test chose.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

export type Reply =
  | { readonly status: number; readonly body?: unknown; readonly headers?: Record<string, string> }
  /** Close the socket without answering. */
  | { readonly drop: true }
  /** Never answer. */
  | { readonly hang: true };

export interface FakeApi {
  readonly url: string;
  readonly requests: Recorded[];
  close(): Promise<void>;
}

export const ok: Reply = { status: 200, body: { success: true } };

/** `script` gets each request and its index; the server answers with what it returns. */
export const startApi = async (script: (request: Recorded, index: number) => Reply): Promise<FakeApi> => {
  const requests: Recorded[] = [];
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const recorded: Recorded = {
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: text === '' ? undefined : JSON.parse(text),
    };
    requests.push(recorded);
    const reply = script(recorded, requests.length - 1);
    if ('drop' in reply) {
      req.socket.destroy();
      return;
    }
    if ('hang' in reply) return;
    const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
