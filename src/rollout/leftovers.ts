import { message } from './errors.js';

/** Something a failed step left behind, and the command that finishes it by hand. */
export interface Leftover {
  readonly what: string;
  readonly fix: string;
}

/**
 * Runs one clean-up step; a failure becomes a Leftover instead of stopping the others, so a
 * rollback or cutover always does everything it can and then names exactly what is left.
 */
export const orLeftover = async (leftovers: Leftover[], what: string, fix: string, step: () => Promise<void>): Promise<boolean> => {
  try {
    await step();
    return true;
  } catch (error) {
    leftovers.push({ what: `${what}: ${message(error)}`, fix });
    return false;
  }
};
