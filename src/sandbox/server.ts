import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAgent } from './agent.js';
import { agentConfigOf, bakedAgentConfigOf, instanceMetadata, userDataRestartsAgent } from './agent-config.js';
import { type ApiServer, send, serveApi } from './api-request.js';
import { DEFAULT_KEY_ENV, SeedError, splitByAccount } from './accounts.js';
import { createSimClock, type SimClock } from './clock.js';
import { handleControl, type RequestRecord } from './control.js';
import { type SandboxSeed, type SeedableConfig, seedFromConfig, seedWorld } from './seed.js';
import { createShared, createWorld, type World } from './world.js';

export type SandboxOptions = ({ readonly seed: SandboxSeed } | { readonly config: SeedableConfig }) & {
  /** The Mackerel API key the sandbox accepts. @default 'sandbox' */
  readonly apiKey?: string;
  /** Where the keys of the organizations of environments that name an `apiKeyEnv` are read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** Real ms per simulated ms. @default DEFAULT_TIME_SCALE */
  readonly timeScale?: number;
};

/** Real ms per simulated ms: a simulated second lasts 10 ms. */
export const DEFAULT_TIME_SCALE = 0.01;

export interface Sandbox {
  /** `http://127.0.0.1:<port>`: the Mackerel API base and the AWS endpoint at once. */
  readonly url: string;
  readonly port: number;
  /** The accounts it serves; the first is where the access key id `sandbox` acts. */
  readonly accountIds: readonly string[];
  /** Stops the agent and the server, closing every connection. */
  close(): Promise<void>;
}

const readBody = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const handler = (server: ApiServer) => async (request: IncomingMessage, response: ServerResponse) => {
  const body = await readBody(request);
  const path = new URL(request.url ?? '/', 'http://sandbox').pathname;
  if (path.startsWith('/_sandbox/')) {
    // `?account=<id>`: another account than the first.
    const account = new URL(request.url ?? '/', 'http://sandbox').searchParams.get('account');
    const world = account === null ? server.worlds[0] : server.worlds.find((known) => known.accountId === account);
    if (!world) return send(response, { status: 404, headers: { 'content-type': 'text/plain' }, body: `no account ${account}\n` });
    return send(response, handleControl(world, server.requests, request.method ?? 'GET', path, body));
  }
  await serveApi(server, request, response, body);
};

const listen = (server: ReturnType<typeof createServer>, port: number) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });

/** Starts the loopback Mackerel + EC2 + ELBv2 sandbox, seeded, with its simulated mackerel-agent. */
export const startSandbox = async (options: SandboxOptions): Promise<Sandbox> => {
  const seed = 'seed' in options ? options.seed : seedFromConfig(options.config);
  const apiKey = options.apiKey ?? 'sandbox';
  const env = options.env ?? process.env;
  const clock = createSimClock(options.timeScale ?? DEFAULT_TIME_SCALE);
  const shared = createShared();
  const apiKeys = new Map<World, string>();
  for (const account of splitByAccount(seed)) {
    const world = createWorld({ clock, region: seed.region, accountId: account.accountId, shared });
    seedWorld(world, account.seed);
    const key = account.apiKeyEnv === DEFAULT_KEY_ENV ? apiKey : (env[account.apiKeyEnv] ?? apiKey);
    const same = [...apiKeys].find(([, known]) => known === key);
    if (same) {
      throw new SeedError(
        `the Mackerel organizations of accounts ${same[0].accountId} and ${account.accountId} would have the same key: set ${account.apiKeyEnv} to another key before starting the sandbox`,
      );
    }
    apiKeys.set(world, key);
  }
  const worlds = [...apiKeys.keys()];
  const requests: RequestRecord[] = [];
  const serve = handler({ worlds, apiKeys, requests });
  const server = createServer((request, response) => {
    serve(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`sandbox bug: ${String(error)}\n`);
    });
  });
  const port = await listen(server, options.port ?? 0);
  const url = `http://127.0.0.1:${port}`;
  const agents = worlds.map((world) => runAgents(world, url, apiKeys.get(world)!, clock));
  return {
    url,
    port,
    accountIds: worlds.map((world) => world.accountId),
    close: async () => {
      await Promise.all(agents.map((stop) => stop()));
      const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      server.closeAllConnections();
      await closed;
    },
  };
};

/** The simulated mackerel-agent of every instance of one account, reporting to its organization. Returns what stops them. */
const runAgents = (world: World, url: string, apiKey: string, clock: SimClock): (() => Promise<void>) => {
  const agent = startAgent({
    mackerelBase: url,
    apiKey,
    clock,
    configOf: (id) => agentConfigOf(world, id),
    bootConfigOf: (id) => bakedAgentConfigOf(world, id),
    restartedByUserData: (id) => userDataRestartsAgent(world, id),
    metadataOf: (id) => {
      const instance = world.instances.get(id);
      return instance && instanceMetadata(world, instance);
    },
    isSilent: (id) => world.instances.get(id)?.agentSilent ?? false,
    postsMetrics: (instanceId, hostId) => !world.mutedMetrics.has(instanceId) && !world.mutedMetrics.has(hostId),
  });
  // An instance's boot starts its agent and its shutdown stops it, on the world's timeline.
  const unobserve = world.observe((event) => {
    if (event.type === 'instance.running') agent.booted(event.instanceId, event.t);
    else if (event.type === 'instance.terminating') agent.stopping(event.instanceId, event.t);
  });
  return async () => {
    unobserve();
    await agent.stop();
  };
};
