import type * as z from 'zod';

/** One problem at one place in the file. */
export interface Problem {
  /** Dotted field path (`environments.staging.roles.web.perAz`) or a YAML position; empty for the whole file. */
  readonly path: string;
  readonly problem: string;
}

/** `environments.staging.roles.web.subnets[1]`; keys that are not plain words are quoted. */
export const dotted = (path: readonly PropertyKey[]): string =>
  path
    .map((key, i) => {
      if (typeof key === 'number') return `[${key}]`;
      const word = String(key);
      if (!/^[A-Za-z0-9_-]+$/.test(word)) return `[${JSON.stringify(word)}]`;
      return i === 0 ? word : `.${word}`;
    })
    .join('');

const show = (value: unknown): string => {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 79)}…` : json;
};

/** Zod issues (parsed with `reportInput`) as problems that name the path, what is allowed and what was there. */
export const describeIssues = (issues: readonly z.core.$ZodIssue[]): Problem[] =>
  issues.flatMap((issue): Problem[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: dotted([...issue.path, key]), problem: issue.message }));
    }
    // A bad record key: the key's own schema says what a name may be.
    const cause = issue.code === 'invalid_key' ? (issue.issues[0] ?? issue) : issue;
    const problem = cause.input === undefined ? `missing; ${cause.message}` : `${cause.message}, got ${show(cause.input)}`;
    return [{ path: dotted(issue.path), problem }];
  });
