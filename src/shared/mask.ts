/** What the operator sees where a secret would have been. */
export const MASK = '[redacted]';

/** Replaces every whole occurrence of each secret, longest first so one inside another is not left half masked. */
export const maskSecrets = (text: string, secrets: readonly (string | undefined)[]): string =>
  secrets
    .filter((secret): secret is string => typeof secret === 'string' && secret !== '')
    .sort((a, b) => b.length - a.length)
    .reduce((masked, secret) => masked.replaceAll(secret, MASK), text);
