import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../rollout/errors.js';
import { defaultOwnership } from '../rollout/ownership.js';
import type { RoleSpec } from '../rollout/spec.js';
import { describeIssues, dotted, type Problem } from './issues.js';
import { type ConfigFile, configSchema } from './schema.js';

/** A validated config file, remembering where it came from for messages and relative paths. */
export interface Config extends ConfigFile {
  readonly file: string;
}

/** Reads, parses and validates a config file; every problem found is in the one ConfigError thrown. */
export const loadConfig = async (file: string): Promise<Config> => {
  const source = await readText(file, resolve(file), '');
  const result = configSchema.safeParse(parseYaml(file, source), { reportInput: true });
  if (!result.success) throw configError(file, describeIssues(result.error.issues));
  return { file, ...result.data };
};

/** The role of one environment as the engine needs it, with its user data read. */
export const resolveRole = async (config: Config, choice: { env?: string; role: string }): Promise<RoleSpec> => {
  const env = chooseEnv(config, choice.env);
  const environment = config.environments[env]!;
  const rolesPath = dotted(['environments', env, 'roles']);
  if (!Object.hasOwn(environment.roles, choice.role)) {
    const known = Object.keys(environment.roles).join(', ');
    throw new ConfigError(config.file, rolesPath, `no role "${choice.role}"; known roles: ${known}`);
  }
  const { userDataFile, ownership, ...role } = environment.roles[choice.role]!;
  const userDataPath = dotted(['environments', env, 'roles', choice.role, 'userDataFile']);
  const userData =
    userDataFile === undefined
      ? undefined
      : await readUserData(config.file, resolve(dirname(resolve(config.file)), userDataFile), userDataPath);
  return {
    env,
    role: choice.role,
    service: environment.mackerel.service,
    ...role,
    ownership: ownership ?? defaultOwnership(env, choice.role),
    ...(userData !== undefined && { userData }),
    pollInterval: config.pollInterval,
    newHostStatus: environment.mackerel.newHostStatus,
    targetsPerGroup: config.limits.targetsPerGroup,
  };
};

/** EC2 refuses user data over 16 KB, counted before base64; said here, before any AWS call. */
const USER_DATA_LIMIT = 16_384;

const readUserData = async (file: string, target: string, path: string): Promise<string> => {
  const text = await readText(file, target, path);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > USER_DATA_LIMIT) {
    throw new ConfigError(file, path, `${target} is ${bytes} bytes; EC2 accepts at most ${USER_DATA_LIMIT} bytes of user data`);
  }
  return text;
};

const chooseEnv = (config: Config, env: string | undefined): string => {
  const known = Object.keys(config.environments);
  if (env !== undefined) {
    if (Object.hasOwn(config.environments, env)) return env;
    throw new ConfigError(config.file, 'environments', `no environment "${env}"; known environments: ${known.join(', ')}`);
  }
  if (config.defaultEnv !== undefined) return config.defaultEnv;
  if (known.length === 1) return known[0]!;
  throw new ConfigError(
    config.file,
    'defaultEnv',
    `not set and there are ${known.length} environments; choose one with --env (${known.join(', ')}) or set defaultEnv`,
  );
};

const readText = async (file: string, target: string, path: string): Promise<string> => {
  try {
    return await readFile(target, 'utf8');
  } catch (error) {
    throw new ConfigError(file, path, `cannot read ${target}: ${osReason(error)}`);
  }
};

// Node's fs messages end in ", open '<path>'"; the path is already in our message.
const osReason = (error: unknown): string => String((error as Error).message).replace(/, \w+ '.*'$/s, '');

const parseYaml = (file: string, source: string): unknown => {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw configError(
      file,
      doc.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        return { path: `line ${line}, column ${col}`, problem: error.message };
      }),
    );
  }
  return doc.toJS();
};

const configError = (file: string, problems: readonly Problem[]): ConfigError => {
  const [only] = problems;
  if (problems.length === 1 && only) return new ConfigError(file, only.path, only.problem);
  const lines = problems.map(({ path, problem }) => `  ${path || '(whole file)'}: ${problem}`);
  return new ConfigError(file, '', `${problems.length} problems:\n${lines.join('\n')}`);
};
