import { dirname, resolve } from 'node:path';
import { ConfigError } from '../rollout/errors.js';
import { SECURE_METADATA } from '../rollout/launch-template.js';
import { defaultOwnership } from '../rollout/ownership.js';
import type { RoleSpec } from '../rollout/spec.js';
import { type UserDataTemplate, fillUserData, templateVariables, variableBudget } from '../rollout/template.js';
import { TOOL_TAGS, VAR_BUDGET } from '../rollout/tags.js';
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
  const { userDataFile, ownership, vars, verify, ...role } = environment.roles[choice.role]!;
  const rolePath = ['environments', env, 'roles', choice.role];
  const template =
    userDataFile === undefined
      ? undefined
      : await readTemplate(config.file, resolve(dirname(resolve(config.file)), userDataFile), rolePath, vars);
  if (!template && Object.keys(vars).length > 0) {
    throw new ConfigError(config.file, dotted([...rolePath, 'vars']), 'the role has no userDataFile for its variables to fill');
  }
  if (template) checkVariables(template, role.tags);
  const spec: RoleSpec = {
    env,
    role: choice.role,
    service: environment.mackerel.service,
    ...role,
    instanceType: role.instanceType ?? role.instanceTypes?.[0],
    securityGroupIds: role.securityGroupIds ?? [],
    metadataOptions: role.metadataOptions ?? (role.launchTemplate ? undefined : SECURE_METADATA),
    ownership: ownership ?? defaultOwnership(env, choice.role),
    roleGrace: verify.roleGrace,
    ...(template && { template }),
    pollInterval: config.pollInterval,
    newHostStatus: environment.mackerel.newHostStatus,
    targetsPerGroup: config.limits.targetsPerGroup,
    launchBucket: { burst: config.limits.launchBurst, refillPerSecond: config.limits.launchRefillPerSecond },
    ...(config.limits.vcpu !== undefined && { vcpuQuota: config.limits.vcpu }),
  };
  return fillNow(spec);
};

/**
 * Fills the user data with the config's values when they are all it needs; otherwise the deploy
 * fills it (from --var, or the values promoted from another environment) and this spec has none.
 */
const fillNow = (spec: RoleSpec): RoleSpec => {
  const { template } = spec;
  if (!template) return spec;
  const needed = templateVariables(template);
  if (needed.some((name) => !Object.hasOwn(template.vars, name))) return spec;
  return fillUserData(spec, template.vars, () => 'vars:');
};

/** The config's values must be for the template's variables, and the variables must fit in the instance's tags beside the role's own. */
const checkVariables = (template: UserDataTemplate, tags: Readonly<Record<string, string>>): void => {
  const names = templateVariables(template);
  const unknown = Object.keys(template.vars).filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    throw new ConfigError(
      template.configFile,
      `${template.varsField}.${unknown[0]}`,
      `${template.path} has no variable \${${unknown[0]}}; its variables: ${names.join(', ') || 'none'}`,
    );
  }
  const budget = variableBudget(tags);
  if (names.length > budget) {
    throw new ConfigError(
      template.configFile,
      template.field,
      `${template.path} has ${names.length} variables, and the role ${Object.keys(tags).length} tags: each variable is recorded in a tag on every instance, and variables and tags may be at most ${VAR_BUDGET} together (EC2 allows 50 tags per instance, the tool writes up to ${TOOL_TAGS})`,
    );
  }
};

/** A template is read whole; the EC2 limit of 16 KB applies once its variables are filled in. */
const TEMPLATE_LIMIT = 65_536;
const CONFIG_LIMIT = 1_048_576;

const readTemplate = async (
  file: string,
  target: string,
  rolePath: readonly string[],
  vars: Readonly<Record<string, string>>,
): Promise<UserDataTemplate> => {
  const field = dotted([...rolePath, 'userDataFile']);
  const text = await readText(file, target, field, TEMPLATE_LIMIT, `a user data template may be at most ${TEMPLATE_LIMIT} bytes`);
  return { configFile: file, field, path: target, text, varsField: dotted([...rolePath, 'vars']), vars };
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
