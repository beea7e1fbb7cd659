import { parseDuration } from '../config/duration.js';
import { UsageError } from '../rollout/errors.js';
import type { ShrinkTarget } from '../rollout/finish.js';
import type { KeepPolicy } from '../rollout/record.js';

/** The longest rollback window, as in the config's `keepOld`. */
const KEEP_MAX_MS = 168 * 3_600_000;

/** `--keep-old 30m`: the rollback window (the config's `keepOld.then` does not apply to the flag). */
export const checkKeepOld = (value: string): KeepPolicy => {
  const ms = parseDuration(value);
  if (ms !== undefined && ms > 0 && ms <= KEEP_MAX_MS) return { forMs: ms };
  throw new UsageError(`--keep-old must be a positive duration of at most 168h like "30m" or "2h", got ${JSON.stringify(value)}`);
};

/** `--to 2` or `--to 50%`: how many old instances a shrink leaves running. */
export const checkShrinkTarget = (value: string): ShrinkTarget => {
  const match = /^(\d{1,5})(%?)$/.exec(value);
  if (match && match[2] === '%' && Number(match[1]) >= 1 && Number(match[1]) <= 99) return { percent: Number(match[1]) };
  if (match && match[2] === '' && Number(match[1]) >= 1) return { count: Number(match[1]) };
  throw new UsageError(
    `--to must be a number of old instances (at least 1) or a percentage from 1% to 99%, got ${JSON.stringify(value)}`,
    'to terminate all of them, use finish',
  );
};
