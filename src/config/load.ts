import { dirname, resolve } from 'node:path';
import { ConfigError } from '../rollout/errors.js';
import { defaultOwnership } from '../rollout/ownership.js';
import type { RoleSpec } from '../rollout/spec.js';
import { checkConsistency } from './consistency.js';
import { describeIssues, dotted, type Problem } from './issues.js';
import { FileProblem, readRegularFile } from './read.js';
import { type ConfigFile, configSchema } from './schema.js';
import { parseYaml } from './yaml.js';

/** A validated config file, remembering where it came from for messages and relative paths. */
export interface Config extends ConfigFile {
  readonly file: string;
}

/** Reads, parses and validates a config file; every problem found is in the one ConfigError thrown. */
export const loadConfig = async (file: string): Promise<Config> => {
  const source = await readText(file, resolve(file), '', CONFIG_LIMIT, 'a config file may be at most 1 MiB');
  const parsed = parseYaml(source);
  if ('problems' in parsed) throw configError(file, parsed.problems);
  const result = configSchema.safeParse(parsed.value, { reportInput: true });
  if (!result.success) throw configError(file, describeIssues(result.error.issues));
  const problems = checkConsistency(result.data);
  if (problems.length > 0) throw configError(file, problems);
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
const CONFIG_LIMIT = 1_048_576;

const readUserData = (file: string, target: string, path: string): Promise<string> =>
  readText(file, target, path, USER_DATA_LIMIT, `EC2 accepts at most ${USER_DATA_LIMIT} bytes of user data`);

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

const readText = async (file: string, target: string, path: string, maxBytes: number, limit: string): Promise<string> => {
  try {
    return await readRegularFile(target, maxBytes, limit);
  } catch (error) {
    if (error instanceof FileProblem) throw new ConfigError(file, path, error.message);
    throw error;
  }
};

const configError = (file: string, problems: readonly Problem[]): ConfigError => {
  const [only] = problems;
  if (problems.length === 1 && only) return new ConfigError(file, only.path, only.problem);
  const lines = problems.map(({ path, problem }) => `  ${path || '(whole file)'}: ${problem}`);
  return new ConfigError(file, '', `${problems.length} problems:\n${lines.join('\n')}`);
};
