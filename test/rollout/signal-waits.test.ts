// Every wait speaks and listens, the rollback's and the cutover's drain included: a `waiting` line
// at least every 15 seconds, and the first signal that comes while it runs stops the wait at once,
// saying why (never "The operation was aborted").
import { describe, expect, it } from 'vitest';
import { replace } from '../../src/rollout/deploy.js';
import type { DeployEvent } from '../../src/rollout/events.js';
import { rollbackDeploy } from '../../src/rollout/resume.js';
import { DEPLOY_ID, expectReplaced, inProcess, runReplace, runResume, stage } from './fakes.js';

const waitingIn = (phase: string) => (event: DeployEvent) => event.type === 'waiting' && event.phase === phase;

describe("a rollback's waits speak and listen", () => {
  it('SIGTERM while a rollback waits for the restored old targets stops that wait at once; heartbeats came before', async () => {
    const s = stage('web', { spec: { keepOld: { forMs: 30 * 60_000 } } });
    expect(await runReplace(s)).toMatchObject({ kind: 'kept' });
    // The old targets registered again never pass their health checks: the wait would last timeouts.verify.
    s.fakes.world.inject({ type: 'health-fail', count: 2 });
    const stop = new AbortController();
    const events: DeployEvent[] = [];
    let requestsAtSignal = 0;
    const { outcome } = await inProcess(s.fakes, (deps) => rollbackDeploy(s.spec, DEPLOY_ID, deps, stop.signal), {
      emit: (event) => {
        events.push(event);
        if (!stop.signal.aborted && events.filter(waitingIn('restore')).length === 3) {
          requestsAtSignal = s.fakes.world.stats.requests;
          stop.abort('SIGTERM');
        }
      },
    });
    expect(stop.signal.aborted).toBe(true);
    // No look after the signal, and the new fleet, the only one serving, is left alone.
    expect(s.fakes.world.stats.requests - requestsAtSignal).toBeLessThanOrEqual(1);
    expect(outcome).toMatchObject({ kind: 'incomplete' });
    const leftovers = outcome?.kind === 'incomplete' ? outcome.leftovers : [];
    expect(leftovers.map((left) => left.what)).toEqual([
      'the old targets did not become healthy again: old targets healthy again: interrupted by SIGTERM',
    ]);
    expect(events.some((event) => event.type === 'step.done' && event.phase === 'rollback')).toBe(false);
  });

  it('a signal during the rollback of a failed deploy stops its drain: the new instances are terminated at once', async () => {
    const s = stage('web', { deregistrationDelay: 300_000 });
    s.fakes.world.inject({ type: 'health-fail', count: 1 });
    const stop = new AbortController();
    const events: DeployEvent[] = [];
    const options = { deployId: DEPLOY_ID, dryRun: false };
    const { outcome } = await inProcess(s.fakes, (deps) => replace(s.spec, options, deps, stop.signal), {
      emit: (event) => {
        events.push(event);
        if (!stop.signal.aborted && events.filter(waitingIn('rollback')).length === 2) stop.abort('SIGTERM');
      },
    });
    expect(outcome).toMatchObject({ kind: 'rolled-back', aborted: true });
    const afterSignal = events.slice(events.findLastIndex(waitingIn('rollback')) + 1);
    expect(afterSignal[0]).toEqual({
      type: 'warning',
      message: 'terminating the new instances before they drained: targets drained: interrupted by SIGTERM',
    });
    expect(afterSignal[1]).toMatchObject({ type: 'step.done', phase: 'rollback', what: 'terminated the new instances' });
  });
});

describe("the cutover's drain listens", () => {
  it('SIGTERM while the old targets drain stops the wait: nothing old is terminated, and resume finishes', async () => {
    const s = stage('web', { deregistrationDelay: 300_000 });
    const stop = new AbortController();
    const events: DeployEvent[] = [];
    const options = { deployId: DEPLOY_ID, dryRun: false };
    const { outcome } = await inProcess(s.fakes, (deps) => replace(s.spec, options, deps, stop.signal), {
      emit: (event) => {
        events.push(event);
        if (!stop.signal.aborted && events.filter(waitingIn('cutover')).length === 2) stop.abort('SIGTERM');
      },
    });
    expect(outcome).toMatchObject({ kind: 'interrupted', step: 'terminate' });
    expect(events.slice(events.findLastIndex(waitingIn('cutover')) + 1).map((event) => event.type)).toEqual(['phase.done']);
    for (const instance of s.old) expect(instance.state).toBe('running');
    expect(await runResume(s)).toMatchObject({ kind: 'replaced' });
    expect(expectReplaced(s, 2)).toEqual([]);
  });
});
