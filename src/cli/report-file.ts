// `--report FILE.html` / `--report FILE.json`: checked before anything runs, written however the run ends.
import { constants } from 'node:fs';
import { access, stat, writeFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { fileKind, osReason } from '../config/read.js';
import { ApiError, UsageError } from '../rollout/errors.js';
import { redactEnvSecrets } from './redact.js';
import type { JsonOutcome } from './render-json.js';
import type { Report } from './report-data.js';
import { reportHtml } from './report-html.js';

const FORMATS = { '.html': reportHtml, '.json': (report: Report) => `${JSON.stringify(report, null, 2)}\n` } as const;

/** The value parser of `--report`, repeatable (an HTML page and its JSON in one run): each path once, ending .html or .json. */
export const collectReports = () => {
  const paths: string[] = [];
  return (given: string): string[] => {
    if (!Object.hasOwn(FORMATS, extname(given).toLowerCase())) {
      throw new UsageError(
        `--report must name a file ending in .html or .json, got ${JSON.stringify(given)}`,
        'for example --report deploy.html',
      );
    }
    if (paths.includes(given)) throw new UsageError(`--report ${given} is given twice`, 'give each report file once');
    paths.push(given);
    return paths;
  };
};

/** Refuses (exit 2, before anything runs) a report path whose folder is missing or not writable, or which is not a file. */
export const checkReportPaths = async (paths: readonly string[]): Promise<void> => {
  for (const path of paths) {
    const folder = dirname(resolve(path));
    const problem = await writableFolder(folder);
    if (problem) {
      throw new UsageError(
        `--report ${path}: ${problem}`,
        'give a path in an existing folder this user can write (the folder is not created)',
      );
    }
    const existing = await stat(path).catch(() => undefined);
    if (existing && !existing.isFile()) throw new UsageError(`--report ${path} is ${fileKind(existing)}, not a file`);
  }
};

const writableFolder = async (folder: string): Promise<string | undefined> => {
  try {
    const stats = await stat(folder);
    if (!stats.isDirectory()) return `${folder} is ${fileKind(stats)}, not a folder`;
    await access(folder, constants.W_OK);
    return undefined;
  } catch (error) {
    return `the folder ${folder} cannot hold it: ${osReason(error)}`;
  }
};

/** Writes the report in each file's format, secrets masked; returns the problems instead of throwing. */
export const writeReports = async (paths: readonly string[], report: Report, env: NodeJS.ProcessEnv): Promise<string[]> => {
  const problems: string[] = [];
  for (const path of paths) {
    const render = FORMATS[extname(path).toLowerCase() as keyof typeof FORMATS];
    await writeFile(path, redactEnvSecrets(render(report), env)).catch((error: unknown) =>
      problems.push(`could not write the report ${path}: ${osReason(error)}`),
    );
  }
  return problems;
};

/** The report's outcome for a run that threw: as reportError tells it, a bug's detail left to stderr. */
export const errorOutcome = (error: unknown, signal: AbortSignal): JsonOutcome => {
  if (signal.aborted) return { kind: 'error', error: `interrupted by ${String(signal.reason)} before anything was changed` };
  if (error instanceof UsageError || error instanceof ApiError)
    return { kind: 'error', error: error.message, ...(error.hint && { hint: error.hint }) };
  return { kind: 'error', error: 'internal error (a bug): see stderr' };
};
