import { once } from 'node:events';
import { loadConfig } from '../config/load.js';
import { UsageError } from '../rollout/errors.js';
import { SeedError } from '../sandbox/accounts.js';
import { startSandbox } from '../sandbox/server.js';
import { type Io, interruptCode, reportError } from './io.js';

export interface SandboxFlags {
  readonly config: string;
  readonly port: number;
  readonly apiKey: string;
}

/** The environment that points the tool (and mkr-style tools) at a sandbox. */
export const sandboxEnv = (url: string, apiKey: string, region: string): Record<string, string> => ({
  MACKEREL_APIKEY: apiKey,
  MACKEREL_APIBASE: url,
  AWS_ENDPOINT_URL: url,
  AWS_REGION: region,
  AWS_ACCESS_KEY_ID: 'sandbox',
  AWS_SECRET_ACCESS_KEY: 'sandbox',
  AWS_EC2_METADATA_DISABLED: 'true',
});

/** Serves the sandbox in the foreground until SIGINT/SIGTERM. */
export const runSandbox = async (flags: SandboxFlags, io: Io): Promise<number> => {
  try {
    const config = await loadConfig(flags.config);
    const region = config.region ?? 'ap-northeast-1';
    const sandbox = await startSandbox({ config: { ...config, region }, port: flags.port, apiKey: flags.apiKey, env: io.env }).catch(
      (error: unknown) => {
        if (error instanceof SeedError) throw new UsageError(error.message);
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
        throw new UsageError(`port ${flags.port} on 127.0.0.1 is already in use`, 'pick another --port, or 0 for any free one');
      },
    );
    io.out(`sandbox serving Mackerel, EC2, ELBv2 and STS on ${sandbox.url}, seeded from ${flags.config}`);
    const [first, ...others] = sandbox.accountIds;
    if (others.length > 0) {
      io.out(`accounts: the access key id sandbox or ${first} acts in ${first}; ${others.map((id) => `${id} in ${id}`).join(', ')}`);
    }
    io.out('point the tool at it with:');
    const env = sandboxEnv(sandbox.url, flags.apiKey, region);
    io.out(
      `export ${Object.entries(env)
        .map(([key, value]) => `${key}=${value}`)
        .join(' ')}`,
    );
    if (!io.signal.aborted) await once(io.signal, 'abort');
    await sandbox.close();
    return interruptCode(io.signal);
  } catch (error) {
    return reportError(error, io);
  }
};
