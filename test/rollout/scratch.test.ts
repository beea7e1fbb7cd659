import { it } from 'vitest';
import { runOnFakes } from '../../scripts/chaos/fake-run.js';
import { describeRun } from '../../scripts/chaos/property.js';

it('smoke', async () => {
  for (const schedule of [
    { via: 'fakes' as const, role: 'web' as const, perAz: 1 as const, faults: [] },
    { via: 'fakes' as const, role: 'worker' as const, perAz: 2 as const, faults: [] },
    { via: 'fakes' as const, role: 'web' as const, perAz: 1 as const, faults: [{ type: 'die-while-booting' as const, count: 1 }] },
  ]) {
    const t0 = performance.now();
    const report = await runOnFakes(schedule);
    console.log(performance.now() - t0, 'ms');
    console.log(describeRun(report));
  }
});
