import { describe, expect, it } from 'vitest';
import { alertsVerdict, allGatesVerdict, metricsVerdict } from '../../src/rollout/mackerel-gates.js';
import type { Alert } from '../../src/rollout/ports.js';

const ids = ['i-0a', 'i-0b'];
const hostOf = new Map([
  ['i-0a', 'hA'],
  ['i-0b', 'hB'],
]);
const gate = { name: 'loadavg5', maxAge: 180_000 };
const now = 1_000_000_000;

describe('metricsVerdict', () => {
  it('passes when every new host has a value no older than maxAge', () => {
    const latest = new Map([
      ['hA', { time: now - 180_000, value: 0.1 }],
      ['hB', { time: now - 5_000, value: 0.2 }],
    ]);
    expect(metricsVerdict(ids, hostOf, latest, gate, now)).toEqual({ kind: 'passed' });
  });

  it('waits for a host without a host, without a value, or with a stale one, naming host and instance', () => {
    const latest = new Map([['hA', { time: now - 181_000, value: 0.1 }]]);
    expect(metricsVerdict([...ids, 'i-0c'], hostOf, latest, gate, now)).toEqual({
      kind: 'pending',
      done: 0,
      total: 3,
      waitingFor: ['host hA (i-0a): last loadavg5 value 181s old', 'host hB (i-0b): no loadavg5 value yet', 'i-0c (no host yet)'],
    });
  });

  it('counts ages from the newest value when the agents run ahead of this clock', () => {
    const latest = new Map([
      ['hA', { time: now + 600_000, value: 0.1 }],
      ['hB', { time: now + 300_000, value: 0.2 }],
    ]);
    expect(metricsVerdict(ids, hostOf, latest, gate, now)).toMatchObject({
      kind: 'pending',
      waitingFor: ['host hB (i-0b): last loadavg5 value 300s old'],
    });
  });
});

const alert = (over: Partial<Alert>): Alert => ({
  id: 'al1',
  status: 'CRITICAL',
  monitorId: 'mon1',
  type: 'host',
  hostId: 'hB',
  openedAt: now,
  ...over,
});

describe('alertsVerdict', () => {
  it('fails at once on an open alert of a chosen status on a new host, naming alert, status, monitor, host and instance', () => {
    expect(alertsVerdict(ids, hostOf, [alert({ hostId: 'old' }), alert({})], ['CRITICAL'])).toEqual({
      kind: 'failed',
      reason: 'alert al1 (CRITICAL, host monitor mon1) is open on host hB (i-0b)',
    });
  });

  it('ignores alerts of other statuses, of other hosts and without a host', () => {
    const alerts = [alert({ status: 'WARNING' }), alert({ hostId: 'old' }), alert({ hostId: undefined, type: 'service' })];
    expect(alertsVerdict(ids, hostOf, alerts, ['CRITICAL'])).toEqual({ kind: 'passed' });
    expect(alertsVerdict(ids, hostOf, alerts, ['CRITICAL', 'WARNING'])).toMatchObject({ kind: 'failed' });
  });

  it('waits for the hosts of instances not registered yet', () => {
    expect(alertsVerdict(ids, new Map([['i-0a', 'hA']]), [], ['CRITICAL'])).toEqual({
      kind: 'pending',
      done: 1,
      total: 2,
      waitingFor: ['i-0b (no host yet)'],
    });
  });
});

describe('allGatesVerdict', () => {
  const passed = { kind: 'passed' } as const;
  it('passes only when every gate passed', () => {
    expect(
      allGatesVerdict([
        { gate: 'a', verdict: passed },
        { gate: 'b', verdict: passed },
      ]),
    ).toEqual(passed);
  });

  it('names the gate of the first failure, whatever the others wait for', () => {
    const verdict = allGatesVerdict([
      { gate: 'registered', verdict: { kind: 'pending', done: 0, total: 1, waitingFor: ['x'] } },
      { gate: 'no open alert', verdict: { kind: 'failed', reason: 'alert al1 …' } },
    ]);
    expect(verdict).toEqual({ kind: 'failed', reason: 'no open alert: alert al1 …' });
  });

  it('lists what each waiting gate waits for under its name, counting gates', () => {
    const verdict = allGatesVerdict([
      { gate: 'registered', verdict: passed },
      { gate: 'metrics', verdict: { kind: 'pending', done: 1, total: 2, waitingFor: ['host hB (i-0b): no loadavg5 value yet'] } },
    ]);
    expect(verdict).toEqual({ kind: 'pending', done: 1, total: 2, waitingFor: ['metrics: host hB (i-0b): no loadavg5 value yet'] });
  });
});
