// The chaos suite in CI, with a fixed seed: the pinned runs (every crash point among them, against
// the sandbox and against the fakes) and 1000 generated fault schedules, most against the fakes, a
// share against the sandbox. The runs execute the build (dist/) on worker threads; `npm test` builds first.
import { beforeAll, describe, expect, it } from 'vitest';
import { type ChaosResult, runChaos } from '../../scripts/chaos/chaos.js';
import { crashCase, formatFigures } from '../../scripts/chaos/figures.js';
import { PINNED } from '../../scripts/chaos/pinned.js';
import { describeRun } from '../../scripts/chaos/property.js';

const SEED = 20261123;
const RUNS = 1000;

let result: ChaosResult;
beforeAll(async () => {
  const t0 = performance.now();
  result = await runChaos({ runs: RUNS, seed: SEED, shrink: false });
  console.log(formatFigures(result.figures, performance.now() - t0).join('\n'));
  for (const failure of result.failures) console.error(`FAILED: ${failure}`);
}, 540_000);

describe('pinned: every crash point (those of the blue/green options among them), lost RunInstances answers, an exit 4, failing hooks', () => {
  it.each(PINNED.map(({ name }, index) => [name, index] as const))('%s', (_, index) => {
    const report = result.pinned[index]!;
    expect(PINNED[index]!.problems(report), describeRun(report)).toEqual([]);
  });
});

describe('generated fault schedules', () => {
  it(`${RUNS} schedules (seed ${SEED}) keep every invariant`, () => {
    expect(result.shards.flatMap((shard) => (shard.failure ? [shard.failure] : [])).join('\n\n')).toBe('');
    expect(result.shards.reduce((sum, shard) => sum + shard.figures.schedules, 0)).toBe(RUNS);
  });

  it('ran against both the fakes and the sandbox', () => {
    expect(result.figures.runs.fakes).toBeGreaterThan(RUNS / 2);
    expect(result.figures.runs.sandbox).toBeGreaterThan(PINNED.filter((pin) => pin.schedule.via !== 'fakes').length);
  });

  it('met every kind of fault and every crash point', () => {
    const { faults, faultsMet, crashes, violations } = result.figures;
    const apis = ['ec2', 'elbv2', 'mackerel'];
    expect(Object.keys(faults).sort()).toEqual(
      [
        'agent-silent',
        'aws-5xx',
        'capacity',
        'die-while-booting',
        ...apis.flatMap((api) => [`drop-${api}`, `drop-after-${api}`, `stall-${api}`]),
        'ec2-RequestLimitExceeded',
        'elbv2-Throttling',
        'health-fail',
        'health-flap',
        'mackerel-429',
        'mackerel-429-retry-after',
        'mackerel-5xx',
        'never-boot',
        'slow-drain',
      ].sort(),
    );
    expect(Object.keys(faultsMet).sort()).toEqual(['api-error', 'drop', 'drop-after', 'stall']);
    // Each pinned kill (every step boundary, the blue/green options' among them) was reached.
    const pinnedCases = PINNED.filter((pin) => pin.schedule.crash).map((pin) => crashCase(pin.schedule));
    expect(Object.keys(crashes)).toEqual(expect.arrayContaining(pinnedCases));
    expect(violations).toEqual({});
  });
});
