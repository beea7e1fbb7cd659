import { AMI_HINT, AMI_ID } from '../config/ami.js';
import { UsageError } from '../rollout/errors.js';
import { BATCH_HINT, type Batch, parseBatch } from '../rollout/waves.js';
import { TAG_LIMITS } from '../rollout/tags.js';
import { VAR_NAME_MAX } from '../rollout/template.js';

/**
 * The value parser of a flag that takes one value: given twice, or given empty, is an error rather
 * than "the last one wins" (`--role web --role worker` must not replace worker). One per parse.
 */
export const single = <Value = string>(flag: string, check: (value: string) => Value = (value) => value as Value) => {
  let seen: string | undefined;
  return (value: string): Value => {
    if (seen !== undefined) {
      throw new UsageError(`${flag} is given twice (${JSON.stringify(seen)}, then ${JSON.stringify(value)})`, `give ${flag} once`);
    }
    if (value === '') throw new UsageError(`${flag} is empty`);
    seen = value;
    return check(value);
  };
};

export const checkAmi = (value: string): string => {
  if (AMI_ID.test(value)) return value;
  throw new UsageError(
    `--ami must be ${AMI_HINT}, got ${JSON.stringify(value)}`,
    'leave --ami out to launch the newest image the config selects',
  );
};

export const checkPort = (value: string): number => {
  if (/^\d+$/.test(value) && Number(value) <= 65_535) return Number(value);
  throw new UsageError(`--port must be an integer from 0 to 65535, got ${JSON.stringify(value)}`, '0 picks a free port');
};

const VAR = new RegExp(`^([A-Za-z_][A-Za-z0-9_]{0,${VAR_NAME_MAX - 1}})=(.*)$`, 's');

/**
 * The value parser of `--var name=value`, repeatable: each name once (a second value for the same
 * name is an error, not "the last one wins"). The value is everything after the first "=".
 */
export const collectVars = () => {
  const vars: Record<string, string> = {};
  return (given: string): Record<string, string> => {
    const match = VAR.exec(given);
    if (!match) {
      throw new UsageError(
        `--var must be NAME=VALUE, NAME up to ${VAR_NAME_MAX} letters, digits and "_", not starting with a digit; got ${JSON.stringify(given.length > 80 ? `${given.slice(0, 80)}…` : given)}`,
        'for example --var artifact=s3://bucket/app-1234.tar.gz',
      );
    }
    const [, name, value] = match as unknown as [string, string, string];
    if (Object.hasOwn(vars, name)) {
      throw new UsageError(
        `--var ${name} is given twice (${JSON.stringify(vars[name])}, then ${JSON.stringify(value)})`,
        `give --var ${name} once`,
      );
    }
    if (value.length > TAG_LIMITS.value) {
      throw new UsageError(
        `--var ${name} is ${value.length} characters long; each value is recorded in an EC2 tag, which holds at most ${TAG_LIMITS.value}`,
        'pass a shorter value (a build id, say) and build the rest of the string in the user data template',
      );
    }
    vars[name] = value;
    return vars;
  };
};

export const checkBatch = (value: string): Batch => {
  const batch = parseBatch(value);
  if (batch) return batch;
  throw new UsageError(`--batch must be ${BATCH_HINT}, got ${JSON.stringify(value)}`, 'leave --batch out to replace in one wave');
};

export const checkCanary = (value: string): number => {
  if (/^[1-9]\d{0,4}$/.test(value)) return Number(value);
  throw new UsageError(`--canary must be a positive number of instances, got ${JSON.stringify(value)}`, 'for example --canary 1');
};
