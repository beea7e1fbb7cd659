// Every deadline of the engine fires through the Clock port: on the fake clock it fires at its
// virtual instant, and no test waits for it in real time.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MARK_MS, ROLLBACK_MS, STEP_MS } from '../../src/rollout/deadlines.js';
import { DRAIN_MARGIN_MS } from '../../src/rollout/preflight.js';
import { TAG_STATE } from '../../src/rollout/tags.js';
import { replace } from '../../src/rollout/deploy.js';
import { DEPLOY_ID, type Stage, expectReplaced, expectUntouched, inProcess, recordOf, runReplace, runResume, stage } from './fakes.js';

let wall = 0;
beforeEach(() => {
  wall = performance.now();
});
afterEach(() => {
  // Minutes of virtual time, well under a second of real time.
  expect(performance.now() - wall).toBeLessThan(1500);
});

const elapsed = (s: Stage, from: number) => s.fakes.clock.now() - from;

/** A port call that answers nothing until its deadline aborts it. */
const hang = (s: Stage, port: 'fleet' | 'balancer' | 'monitor', method: string, when?: (args: readonly unknown[]) => boolean) =>
  s.fakes.world.callFaults.push({ port, method, times: Infinity, hang: true, ...(when ? { when } : {}) });

describe('deadlines of the bring-up', () => {
  it('timeouts.total cuts launch, register and verify short, whatever their own timeouts', async () => {
    const s = stage('worker', { spec: { timeouts: { launch: 300_000, verify: 600_000, unhealthy: 180_000, total: 120_000 } } });
    s.fakes.world.inject({ type: 'agent-silent', count: 1 });
    const t0 = s.fakes.clock.now();
    const outcome = await runReplace(s);
    expect(outcome).toMatchObject({ kind: 'rolled-back', reason: 'launch, register and verify ran past the 120s deadline' });
    expect(elapsed(s, t0)).toBeGreaterThanOrEqual(120_000);
    expect(elapsed(s, t0)).toBeLessThan(200_000);
    expect(expectUntouched(s)).toEqual([]);
  });

  it('timeouts.verify gives up on a host that never registers at its instant', async () => {
    const s = stage('worker');
    s.fakes.world.inject({ type: 'agent-silent', count: 1 });
    const t0 = s.fakes.clock.now();
    const outcome = await runReplace(s);
    expect(outcome).toMatchObject({ kind: 'rolled-back', reason: expect.stringMatching(/gave up after 600s/) });
    // Launch (a 20 s boot) plus the verify timeout, plus the rollback.
    expect(elapsed(s, t0)).toBeGreaterThanOrEqual(620_000);
    expect(elapsed(s, t0)).toBeLessThan(700_000);
  });

  it('a call that never answers is cut by the total deadline', async () => {
    const s = stage('web', { spec: { timeouts: { launch: 300_000, verify: 600_000, unhealthy: 180_000, total: 90_000 } } });
    hang(s, 'balancer', 'register');
    const t0 = s.fakes.clock.now();
    expect(await runReplace(s)).toMatchObject({ kind: 'rolled-back', reason: 'launch, register and verify ran past the 90s deadline' });
    expect(elapsed(s, t0)).toBeGreaterThanOrEqual(90_000);
    expect(expectUntouched(s)).toEqual([]);
  });
});

describe("deadlines of the old fleet's retirement", () => {
  it('timeouts.drain: old targets still draining when it runs out are left for resume (exit 4), which finishes them', async () => {
    const s = stage('web', {
      spec: { timeouts: { launch: 300_000, verify: 600_000, unhealthy: 180_000, total: 1_800_000, drain: 60_000 } },
    });
    const before = s.fakes.clock.now();
    // Verified first; then every deregistered target drains ten times the 30 s delay.
    s.fakes.world.inject({ type: 'slow-drain', factor: 10 });
    const outcome = await runReplace(s);
    expect(outcome).toMatchObject({
      kind: 'incomplete',
      leftovers: [
        expect.objectContaining({ what: expect.stringMatching(/deregistered but still running: targets drained: gave up after 60s/) }),
      ],
    });
    expect(recordOf(s)).toMatchObject({ status: 'incomplete', step: 'cutover', terminated: [] });
    expect(s.old.map((i) => i.state)).toEqual(['running', 'running']);
    // As the leftover says: resume once they have drained.
    await s.fakes.run(s.fakes.clock.sleep(300_000, new AbortController().signal));
    expect((await runResume(s)).kind).toBe('replaced');
    expect(expectReplaced(s, 2)).toEqual([]);
    expect(elapsed(s, before)).toBeGreaterThan(300_000);
  });

  it('without timeouts.drain, the drain may take the longest deregistration delay plus a margin', async () => {
    const s = stage('web', { deregistrationDelay: 120_000 });
    s.fakes.world.inject({ type: 'slow-drain', factor: 2 });
    const outcome = await runReplace(s);
    expect(outcome).toMatchObject({
      kind: 'incomplete',
      leftovers: [
        expect.objectContaining({ what: expect.stringMatching(new RegExp(`gave up after ${(120_000 + DRAIN_MARGIN_MS) / 1000}s`)) }),
      ],
    });
    const cutover = s.fakes.events.find((e) => e.type === 'phase.done' && e.phase === 'cutover');
    expect((cutover as { ms: number }).ms).toBeGreaterThanOrEqual(120_000 + DRAIN_MARGIN_MS);
  });

  it(`STEP_MS: a TerminateInstances that never answers is left for a person after ${STEP_MS / 60_000} minutes`, async () => {
    const s = stage('worker');
    hang(s, 'fleet', 'terminate');
    const outcome = await runReplace(s);
    expect(outcome).toMatchObject({
      kind: 'incomplete',
      leftovers: [
        expect.objectContaining({
          what: expect.stringMatching(/could not terminate the old instances/),
          fix: expect.stringMatching(/mackerel-replacer resume/),
        }),
      ],
    });
    const terminate = s.fakes.events.find((e) => e.type === 'phase.done' && e.phase === 'terminate');
    expect(terminate).toMatchObject({ ms: STEP_MS });
  });

  it(`MARK_MS: tagging the new instances done that never answers is a leftover after ${MARK_MS / 1000}s`, async () => {
    const s = stage('worker');
    hang(s, 'fleet', 'tag', (args) => (args[1] as Record<string, string>)[TAG_STATE] === 'done');
    let retired = 0;
    const { outcome } = await inProcess(
      s.fakes,
      (deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, deps, new AbortController().signal),
      {
        emit: (event) => {
          if (event.type === 'phase.done' && event.phase === 'retire') retired = s.fakes.clock.now();
        },
      },
    );
    expect(outcome).toMatchObject({
      kind: 'incomplete',
      leftovers: [expect.objectContaining({ what: expect.stringMatching(/could not mark the new instances done/) })],
    });
    expect(recordOf(s)!.updatedAt - retired).toBeGreaterThanOrEqual(MARK_MS);
    expect(recordOf(s)!.updatedAt - retired).toBeLessThan(MARK_MS + 10_000);
  });

  it(`MARK_MS: an annotation that never answers is only a warning after ${MARK_MS / 1000}s`, async () => {
    const s = stage('worker');
    hang(s, 'monitor', 'annotate');
    expect((await runReplace(s)).kind).toBe('replaced');
    expect(s.fakes.events).toContainEqual({ type: 'warning', message: expect.stringMatching(/could not write the graph annotation/) });
  });
});

describe("the rollback's own deadline", () => {
  it(`ROLLBACK_MS: a rollback whose TerminateInstances never answers ends incomplete after ${ROLLBACK_MS / 60_000} minutes`, async () => {
    const s = stage('worker');
    s.fakes.world.inject({ type: 'die-while-booting', count: 1 });
    hang(s, 'fleet', 'terminate');
    const outcome = await runReplace(s);
    expect(outcome).toMatchObject({
      kind: 'incomplete',
      leftovers: expect.arrayContaining([expect.objectContaining({ what: expect.stringMatching(/may still be running/) })]),
    });
    const rollback = s.fakes.events.find((e) => e.type === 'phase.done' && e.phase === 'rollback');
    expect(rollback).toMatchObject({ ms: expect.any(Number) });
    expect((rollback as { ms: number }).ms).toBeGreaterThanOrEqual(ROLLBACK_MS);
  });
});
