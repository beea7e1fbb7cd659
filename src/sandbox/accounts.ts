import type { SandboxSeed, SeedEnvironment } from './seed.js';
import { ACCOUNT_ID, type Caller, type World } from './world.js';

/** The variable of the organization of environments that name none: its key is the sandbox's --api-key. */
export const DEFAULT_KEY_ENV = 'MACKEREL_APIKEY';

/** A config the sandbox cannot simulate: it says why. */
export class SeedError extends Error {
  override readonly name = 'SeedError';
}

/** One account of the sandbox, with the environments in it and their Mackerel organization. */
export interface AccountSeed {
  readonly accountId: string;
  /** The variable whose value, in the sandbox's environment, is the organization's key. */
  readonly apiKeyEnv: string;
  readonly seed: SandboxSeed;
}

/**
 * The seed split by account, in the config's order (the first is where the key id `sandbox`
 * acts). Each account's environments share one Mackerel organization, and each organization is
 * in one account: the sandbox keeps an organization's hosts beside its account's instances.
 */
export const splitByAccount = (seed: SandboxSeed): AccountSeed[] => {
  const accounts = new Map<string, { apiKeyEnv: string; environments: Record<string, SeedEnvironment> }>();
  const accountOfKey = new Map<string, string>();
  for (const [env, environment] of Object.entries(seed.environments)) {
    const accountId = environment.accountId ?? ACCOUNT_ID;
    const apiKeyEnv = environment.apiKeyEnv ?? DEFAULT_KEY_ENV;
    const account = accounts.get(accountId) ?? { apiKeyEnv, environments: {} };
    const other = accountOfKey.get(apiKeyEnv) ?? accountId;
    if (account.apiKeyEnv !== apiKeyEnv || other !== accountId) {
      throw new SeedError(
        `environment ${env} (account ${accountId}, Mackerel key ${apiKeyEnv}): the sandbox simulates one Mackerel organization per AWS account, and ${
          other === accountId
            ? `account ${accountId} already has the organization of ${account.apiKeyEnv}`
            : `${apiKeyEnv} is already the organization of account ${other}`
        }`,
      );
    }
    account.environments[env] = environment;
    accounts.set(accountId, account);
    accountOfKey.set(apiKeyEnv, accountId);
  }
  return [...accounts].map(([accountId, { apiKeyEnv, environments }]) => ({
    accountId,
    apiKeyEnv,
    seed: { region: seed.region, environments },
  }));
};

/** The access key id of a SigV4 `Authorization` header. */
export const keyIdOf = (authorization: string | undefined): string | undefined => /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];

/**
 * Who an access key id acts as: `sandbox` in the first account, a 12-digit account id of the
 * sandbox in that account, a key AssumeRole gave out in the role's account; any other is unknown.
 */
export const callerOf = (worlds: readonly World[], keyId: string): Caller | undefined => {
  const [first] = worlds;
  if (!first) return undefined;
  const session = first.shared.sessions.get(keyId);
  if (session) return session;
  const accountId = keyId === 'sandbox' ? first.accountId : worlds.find((world) => world.accountId === keyId)?.accountId;
  return accountId === undefined ? undefined : { keyId, accountId, arn: `arn:aws:iam::${accountId}:user/sandbox` };
};
