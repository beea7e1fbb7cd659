import { AMI_HINT, AMI_ID } from '../config/schema.js';
import { UsageError } from '../rollout/errors.js';

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
  throw new UsageError(`--ami must be ${AMI_HINT}, got ${JSON.stringify(value)}`, 'leave --ami out to launch the newest image the config selects');
};

export const checkPort = (value: string): number => {
  if (/^\d+$/.test(value) && Number(value) <= 65_535) return Number(value);
  throw new UsageError(`--port must be an integer from 0 to 65535, got ${JSON.stringify(value)}`, '0 picks a free port');
};
