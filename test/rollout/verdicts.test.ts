import { describe, expect, it } from 'vitest';
import type { Instance } from '../../src/rollout/ports.js';
import {
  aliveVerdict,
  bootVerdict,
  drainVerdict,
  goneVerdict,
  healthVerdict,
  registrationVerdict,
  stableVerdict,
  unhealthySince,
} from '../../src/rollout/verdicts.js';

const instance = (id: string, state: Instance['state']): Instance => ({
  id, state, az: 'a', subnetId: 's', vpcId: 'v', imageId: 'ami', tags: {},
});
const arn = 'arn:aws:elasticloadbalancing:r:1:targetgroup/web/0';

describe('bootVerdict', () => {
  it('passes when all run, waits for pending or unseen ones, fails on a dead one', () => {
    expect(bootVerdict(['i-1'], [instance('i-1', 'running')])).toEqual({ kind: 'passed' });
    expect(bootVerdict(['i-1', 'i-2'], [instance('i-1', 'running')])).toMatchObject({
      kind: 'pending', done: 1, total: 2, waitingFor: ['i-2 (not visible yet)'],
    });
    expect(bootVerdict(['i-1'], [instance('i-1', 'terminated')])).toEqual({ kind: 'failed', reason: 'i-1 is terminated' });
  });
});

describe('registrationVerdict', () => {
  it('needs every new instance as a working host', () => {
    const hosts = [
      { id: 'h1', name: 'a', status: 'working' as const, instanceId: 'i-1' },
      { id: 'h2', name: 'b', status: 'standby' as const, instanceId: 'i-2' },
    ];
    expect(registrationVerdict(['i-1'], hosts)).toEqual({ kind: 'passed' });
    expect(registrationVerdict(['i-1', 'i-2', 'i-3'], hosts)).toMatchObject({
      kind: 'pending', waitingFor: ['i-2 (host h2 is standby)', 'i-3 (not registered)'],
    });
  });
});

describe('healthVerdict', () => {
  it('needs every new instance healthy in every group, and names the reason otherwise', () => {
    const groups = [{ arn, targets: [{ id: 'i-1', state: 'healthy' as const }, { id: 'i-2', state: 'unhealthy' as const, reason: 'Target.Timeout' }] }];
    expect(healthVerdict(['i-1'], groups)).toEqual({ kind: 'passed' });
    expect(healthVerdict(['i-1', 'i-2', 'i-3'], groups)).toMatchObject({
      kind: 'pending', done: 1, total: 3, waitingFor: ['i-2 in web (unhealthy: Target.Timeout)', 'i-3 in web (not registered)'],
    });
  });
});

describe('drainVerdict', () => {
  it('passes once the old targets are gone or unused', () => {
    expect(drainVerdict(['i-1'], [{ arn, targets: [{ id: 'i-1', state: 'draining' }] }])).toMatchObject({ kind: 'pending' });
    expect(drainVerdict(['i-1'], [{ arn, targets: [{ id: 'i-1', state: 'unused' }, { id: 'i-9', state: 'healthy' }] }])).toEqual({ kind: 'passed' });
    expect(drainVerdict(['i-1'], [{ arn, targets: [] }])).toEqual({ kind: 'passed' });
  });
});

describe('aliveVerdict', () => {
  it('never passes on its own, and fails as soon as AWS takes a new instance away', () => {
    expect(aliveVerdict(['i-1'], [instance('i-1', 'running')])).toMatchObject({ kind: 'pending' });
    expect(aliveVerdict(['i-1', 'i-2'], [instance('i-1', 'running'), instance('i-2', 'terminated')])).toEqual({
      kind: 'failed', reason: 'i-2 is terminated',
    });
  });
});

describe('unhealthySince', () => {
  it('keeps the first time a target was seen unhealthy, and forgets it once healthy', () => {
    const unhealthy = [{ arn, targets: [{ id: 'i-1', state: 'unhealthy' as const, reason: 'Target.Timeout' }] }];
    const first = unhealthySince(new Map(), ['i-1'], unhealthy, 100);
    expect([...first]).toEqual([['i-1 in web (Target.Timeout)', 100]]);
    expect([...unhealthySince(first, ['i-1'], unhealthy, 900)]).toEqual([['i-1 in web (Target.Timeout)', 100]]);
    expect(unhealthySince(first, ['i-1'], [{ arn, targets: [{ id: 'i-1', state: 'healthy' }] }], 950).size).toBe(0);
    expect(unhealthySince(new Map(), ['i-2'], unhealthy, 100).size).toBe(0);
  });
});

describe('stableVerdict', () => {
  const passed = { kind: 'passed' } as const;
  it('holds a passing verdict back until it has lasted stableFor without a break', () => {
    expect(stableVerdict(passed, 1000, 1200, 500)).toMatchObject({ kind: 'pending' });
    expect(stableVerdict(passed, 1000, 1500, 500)).toEqual(passed);
    const pending = healthVerdict(['i-1'], [{ arn, targets: [] }]);
    expect(stableVerdict(pending, undefined, 1500, 500)).toBe(pending);
  });
});

describe('goneVerdict', () => {
  it('passes once every instance is terminated or no longer visible', () => {
    expect(goneVerdict(['i-1', 'i-2'], [instance('i-1', 'terminated')])).toEqual({ kind: 'passed' });
    expect(goneVerdict(['i-1'], [instance('i-1', 'shutting-down')])).toMatchObject({ kind: 'pending', waitingFor: ['i-1 (shutting-down)'] });
  });
});
