// How long the steps that are not waits of their own may take. Each is a deadline on every call
// of the step; a step past it leaves what it could not do for a person (exit 4), never hangs.

/** One step of the old fleet's retirement after verification: terminate, retire (cutover adds the drain timeout). */
export const STEP_MS = 5 * 60_000;
/** Marking the new instances done, and the graph annotation. */
export const MARK_MS = 60_000;
/** A rollback, which must not obey the interrupt that may have caused it. */
export const ROLLBACK_MS = 15 * 60_000;
