/** What the operator sees where a secret would have been. */
export const MASK = '[redacted]';

/** Below this length a secret is masked only where it stands as a whole word: a one-letter key would otherwise turn `working` into `wor[redacted]ing`. */
export const SHORT_SECRET = 8;

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Replaces every whole occurrence of each secret, longest first so one inside another is not left half masked. */
export const maskSecrets = (text: string, secrets: readonly (string | undefined)[]): string =>
  secrets
    .filter((secret): secret is string => typeof secret === 'string' && secret !== '')
    .sort((a, b) => b.length - a.length)
    .reduce(
      (masked, secret) =>
        secret.length >= SHORT_SECRET
          ? masked.replaceAll(secret, MASK)
          : masked.replace(new RegExp(`(?<![\\p{L}\\p{N}_])${escaped(secret)}(?![\\p{L}\\p{N}_])`, 'gu'), MASK),
      text,
    );

/**
 * The variables that hold a Mackerel key: MACKEREL_APIKEY, or what an environment's
 * `mackerel.apiKeyEnv` names (the config accepts only names that match, so every key is masked).
 */
export const API_KEY_VARIABLE = /API_?KEY/i;
