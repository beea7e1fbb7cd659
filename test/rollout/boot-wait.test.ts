// The boot wait over the fakes: once every new instance has shown up, a look asks only for the
// instances not running yet, so its pages do not grow with the fleet.
import { describe, expect, it } from 'vitest';
import type { Deps } from '../../src/rollout/context.js';
import { replace } from '../../src/rollout/deploy.js';
import { TAG_DEPLOY } from '../../src/rollout/tags.js';
import type { Fault } from '../../src/sandbox/faults.js';
import { DEPLOY_ID, expectReplaced, inProcess, stage } from './fakes.js';

/**
 * Replaces `perAz` per AZ (2 AZs), launched in rounds under AWS's launch bucket, `lastRound` injected
 * just before the last round: how it ended, and the requests each look of the boot wait cost, in order.
 */
const bootLooks = async (perAz: number, lastRound?: Fault) => {
  const s = stage('worker', { oldPerAz: perAz, spec: { perAz, maxInstances: 5000 } });
  const served = () => s.fakes.world.stats.requests;
  const looks: number[] = [];
  let launching = false;
  const logged = (deps: Deps): Deps => ({
    ...deps,
    fleet: {
      ...deps.fleet,
      findByTag: async (...args) => {
        const before = served();
        const found = await deps.fleet.findByTag(...args);
        if (launching && args[0] === TAG_DEPLOY) looks.push(served() - before);
        return found;
      },
    },
    emit: (event) => {
      const lastRoundSize = s.spec.launchBucket.refillPerSecond * 30;
      if (lastRound && event.type === 'launch.paced' && event.total - event.launched <= lastRoundSize) {
        s.fakes.world.inject(lastRound);
      }
      if (event.type === 'phase.started' || event.type === 'phase.done')
        launching = event.type === 'phase.started' && event.phase === 'launch';
      deps.emit(event);
    },
  });
  const run = (deps: Deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, logged(deps), new AbortController().signal);
  const { outcome } = await inProcess(s.fakes, run);
  return { looks, outcome, s };
};

describe('the boot wait', () => {
  it('lists the whole fleet until every new instance has shown up, then only those not running: one page a look at 2,000', async () => {
    const { looks, outcome, s } = await bootLooks(1000);
    expect(outcome?.kind).toBe('replaced');
    expect(expectReplaced(s, 2000)).toEqual([]);
    expect(looks.length).toBeGreaterThan(2);
    expect(looks[0]).toBe(2);
    expect(looks.slice(1)).toEqual(looks.slice(1).map(() => 1));
  }, 60_000);

  it('still fails at once on an instance that dies after it has shown up', async () => {
    const { looks, outcome } = await bootLooks(1000, { type: 'die-while-booting', count: 1 });
    // It shows up in the first look, whole; a later look, of those not running, finds it gone.
    expect(looks[0]).toBe(2);
    expect(looks.slice(1)).toEqual(looks.slice(1).map(() => 1));
    expect(looks.length).toBeGreaterThan(1);
    expect(outcome).toMatchObject({
      kind: 'rolled-back',
      reason: expect.stringMatching(/new instances running: i-\w+ is (shutting-down|terminated)/),
    });
  }, 60_000);
});
