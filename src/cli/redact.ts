import { API_KEY_VARIABLE, maskSecrets } from '../shared/mask.js';

/** The AWS secrets the tool may hold, as the environment gives them. */
const AWS_SECRET_VARIABLES = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;

/** Masks the environment's secret values (the AWS secrets, and every Mackerel key: API_KEY_VARIABLE) in `text`: for printing what the tool did not build itself. */
export const redactEnvSecrets = (text: string, env: NodeJS.ProcessEnv): string =>
  maskSecrets(text, [
    ...AWS_SECRET_VARIABLES.map((name) => env[name]),
    ...Object.keys(env)
      .filter((name) => API_KEY_VARIABLE.test(name))
      .map((name) => env[name]),
  ]);
