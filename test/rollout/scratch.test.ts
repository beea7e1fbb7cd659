import fc from 'fast-check';
import { it } from 'vitest';
import { runOnFakes } from '../../scripts/chaos/fake-run.js';
import { describeRun } from '../../scripts/chaos/property.js';
import { scheduleArb } from '../../scripts/chaos/schedule.js';
import { PINNED } from '../../scripts/chaos/pinned.js';

it('smoke', async () => {
  const t0 = performance.now();
  let n = 0;
  const seen = new Map<string, number>();
  for (const pin of PINNED.filter((p) => p.schedule.via === 'fakes')) {
    const report = await runOnFakes(pin.schedule);
    const problems = pin.problems(report);
    if (problems.length > 0) {
      const key = problems.join('|').replace(/i-0\w+/g, 'i-X').replace(/fkh\w+/g, 'h').slice(0, 200);
      if (!seen.has(key)) console.log(pin.name, '\n', problems.join('\n'), '\n', describeRun(report).slice(0, 6000));
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  const samples = fc.sample(scheduleArb, { numRuns: 3000, seed: 42 });
  for (const s of samples) {
    const schedule = { ...s, via: 'fakes' as const };
    n++;
    const report = await runOnFakes(schedule);
    if (report.violations.length > 0) {
      const key = report.violations.map((v) => `${v.invariant}:${v.detail}`).join('|').replace(/i-0\w+/g, 'i-X').replace(/fkh\w+/g, 'h').replace(/t=\d+/g, 't').slice(0, 200);
      if (!seen.has(key)) console.log(JSON.stringify(schedule), '\n', describeRun(report).slice(0, 8000));
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  console.log(n, 'runs', performance.now() - t0, 'ms', [...seen]);
}, 600_000);
