// A journal that cannot keep the record (disk full, read-only, I/O error) stops the deploy as a
// signal would: nothing new starts, what started is undone from what the engine knows and what
// AWS tags say, and the outcome names the journal's error and the command that settles the record.
import { describe, expect, it } from 'vitest';
import { replace } from '../../src/rollout/deploy.js';
import type { DeployEvent } from '../../src/rollout/events.js';
import {
  DEPLOY_ID,
  type Stage,
  capacityDips,
  expectReplaced,
  expectUntouched,
  inProcess,
  launched,
  recordOf,
  runResume,
  runRollback,
  stage,
} from './fakes.js';

const FULL = `cannot write the deploy record journal/${DEPLOY_ID}.json: ENOSPC: no space left on device`;

/** Runs a deploy whose journal saves fail from the first event `from` matches on, as a filling disk does. */
const replaceWithJournalFailing = async (s: Stage, from: (event: DeployEvent) => boolean) => {
  const fault = { port: 'journal' as const, method: 'save', times: 0, error: () => new Error(FULL) };
  s.fakes.world.callFaults.push(fault);
  const options = { deployId: DEPLOY_ID, dryRun: false };
  const { outcome } = await inProcess(s.fakes, (deps) => replace(s.spec, options, deps, new AbortController().signal), {
    emit: (event) => {
      if (fault.times === 0 && from(event)) fault.times = Infinity;
    },
  });
  return { outcome, fault };
};

const verifyStarts = (event: DeployEvent) => event.type === 'phase.started' && event.phase === 'verify';

describe('the journal failing is an interruption, not a bug', () => {
  it('the disk fills during verify: nothing is cut over, the new side is undone, the outcome names the journal error and the rollback command', async () => {
    const s = stage('web');
    const { outcome, fault } = await replaceWithJournalFailing(s, verifyStarts);
    expect(outcome).toMatchObject({
      kind: 'rolled-back',
      reason: expect.stringContaining(FULL),
      aborted: false,
      journal: { what: expect.stringContaining(FULL), fix: expect.stringContaining(`mackerel-replacer rollback ${DEPLOY_ID}`) },
    });
    expect(launched(s).length).toBe(2);
    expect(expectUntouched(s)).toEqual([]);
    expect(capacityDips(s)).toEqual([]);
    // The record could not follow: it still says what it said when the disk filled.
    expect(recordOf(s)).toMatchObject({ status: 'running', step: 'verify' });
    // Once the journal can be written again, the printed command settles the record.
    fault.times = 0;
    expect(await runRollback(s)).toMatchObject({ kind: 'rolled-back', requested: true });
    expect(recordOf(s)).toMatchObject({ status: 'rolled-back', leftovers: [] });
    expect(expectUntouched(s)).toEqual([]);
  });

  it('the disk fills while verify is failing: the unhealthy new targets are still deregistered and terminated', async () => {
    const s = stage('web');
    s.fakes.world.inject({ type: 'health-fail', count: 1 });
    const { outcome } = await replaceWithJournalFailing(s, verifyStarts);
    expect(outcome).toMatchObject({
      kind: 'rolled-back',
      reason: expect.stringMatching(/unhealthy for/),
      journal: { what: expect.stringContaining(FULL) },
    });
    // expectUntouched also finds any new instance still registered, or running.
    expect(expectUntouched(s)).toEqual([]);
  });

  it('the disk fills after cutover: the deploy stops before the next step, incomplete, naming the journal error and resume', async () => {
    const s = stage('web');
    const { outcome, fault } = await replaceWithJournalFailing(s, (event) => event.type === 'phase.done' && event.phase === 'cutover');
    expect(outcome).toMatchObject({ kind: 'incomplete' });
    const leftovers = outcome?.kind === 'incomplete' ? outcome.leftovers : [];
    expect(leftovers).toContainEqual({ what: expect.stringContaining(FULL), fix: `mackerel-replacer resume ${DEPLOY_ID}` });
    // Stopped before terminate: the old instances still run.
    for (const instance of s.old) expect(instance.state).toBe('running');
    fault.times = 0;
    expect(await runResume(s)).toMatchObject({ kind: 'replaced' });
    expect(expectReplaced(s, 2)).toEqual([]);
  });
});
