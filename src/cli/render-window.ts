import type { Outcome } from '../rollout/deploy.js';
import { keptIds, keptUntil } from '../rollout/keep.js';
import type { DeployRecord } from '../rollout/record.js';
import { duration } from './render.js';

type Kept = Extract<Outcome, { kind: 'kept' }>;
type Held = Extract<Outcome, { kind: 'held' }>;

/** The end of a deploy that keeps the old fleet: what runs, until when, and the commands that end the window. */
export const renderKept = (outcome: Kept): string[] => [
  `deploy ${outcome.deployId}: the new fleet serves; the old instances ${outcome.kept.join(', ') || '-'} are kept running (deregistered, hosts in standby) until ${new Date(outcome.keptUntil).toISOString()}`,
  `  finish (terminate and retire them): mackerel-replacer finish ${outcome.deployId}`,
  `  roll back (the old fleet serves again, then the new one goes): mackerel-replacer rollback ${outcome.deployId}`,
  `  terminate part of them: mackerel-replacer shrink ${outcome.deployId} (add --to N, or --to 50%)`,
];

/** The end of a held deploy: the new fleet waits beside the old one, which still serves. */
export const renderHeld = (outcome: Held): string[] => [
  `deploy ${outcome.deployId} is held: the new instances ${outcome.held.join(', ') || '-'} are verified${outcome.registered ? ' and registered beside the old ones' : ' (Mackerel gate; not registered yet)'}; the old fleet still serves`,
  `  switch: mackerel-replacer cutover ${outcome.deployId}`,
  `  undo: mackerel-replacer rollback ${outcome.deployId}`,
];

/** A kept deploy in `status`: how long it has kept the old fleet, what is left of it, and how to end the window. */
export const renderKeptStatus = (record: DeployRecord, now: number): string[] => {
  if (record.status !== 'kept') return [];
  const until = keptUntil(record);
  const age = record.keptSince === undefined ? 'kept' : `kept for ${duration(now - record.keptSince)}`;
  const window =
    until === undefined
      ? ''
      : until <= now
        ? `, window ended ${new Date(until).toISOString()}`
        : `, window ends ${new Date(until).toISOString()}`;
  return [`  old fleet ${age}${window}: ${keptIds(record).join(', ') || '-'}`, `    finish: mackerel-replacer finish ${record.deployId}`];
};
