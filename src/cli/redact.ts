import { maskSecrets } from '../shared/mask.js';

/** The secret values the tool may hold, as the environment gives them. */
const SECRET_VARIABLES = ['MACKEREL_APIKEY', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;

/**
 * Masks the environment's secret values in `text`: for printing what the tool did not build itself.
 * `apiKeyEnvs`: the variables the config names for its environments' Mackerel keys.
 */
export const redactEnvSecrets = (text: string, env: NodeJS.ProcessEnv, apiKeyEnvs: readonly string[] = []): string =>
  maskSecrets(
    text,
    [...SECRET_VARIABLES, ...apiKeyEnvs].map((name) => env[name]),
  );
