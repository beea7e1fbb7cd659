import type { Emit, Mark } from './events.js';

/**
 * Reports `mark` for the instances not reported yet, in one event per look, so a poll that sees
 * nothing new emits nothing.
 */
export const marker = (emit: Emit, mark: Mark) => {
  const seen = new Set<string>();
  return (ids: Iterable<string>): void => {
    const fresh = [...ids].filter((id) => !seen.has(id));
    if (fresh.length === 0) return;
    for (const id of fresh) seen.add(id);
    emit({ type: 'instances.marked', mark, ids: fresh });
  };
};
