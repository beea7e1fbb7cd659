import { describe, expect, it } from 'vitest';
import { duration, renderEvent } from '../../src/cli/render.js';
import { jsonEvent, jsonOutcome } from '../../src/cli/render-json.js';
import type { DeployEvent } from '../../src/rollout/events.js';

const ESC = '\u001b';
const AT = Date.UTC(2026, 10, 29, 12, 0, 0);

const waiting: DeployEvent = {
  type: 'waiting',
  phase: 'verify',
  what: 'healthy in the target groups',
  done: 3,
  total: 4,
  pending: ['i-0abc in reactio-web (initial: Elb.InitialHealthChecking)'],
  elapsedMs: 45_000,
  timeoutMs: 600_000,
};

describe('duration', () => {
  it('reads as a console would say it', () => {
    expect(duration(0)).toBe('0s');
    expect(duration(45_000)).toBe('45s');
    expect(duration(600_000)).toBe('10m');
    expect(duration(90_000)).toBe('1m30s');
    expect(duration(7_500_000)).toBe('2h5m');
  });
});

describe('renderEvent (text)', () => {
  it('a waiting line says the phase, what is done, what is awaited, and how long of how long', () => {
    expect(renderEvent(waiting)).toBe(
      'verify: 3/4 healthy in the target groups; waiting on i-0abc in reactio-web (initial: Elb.InitialHealthChecking), 45s of 10m',
    );
  });

  it('a wait without its own deadline says only how long it has lasted', () => {
    const { timeoutMs: _, ...open } = waiting as Extract<DeployEvent, { type: 'waiting' }>;
    expect(renderEvent(open)).toMatch(/, 45s$/);
  });

  it('prints no colour or cursor movement', () => {
    const events: DeployEvent[] = [
      waiting,
      {
        type: 'deploy.started',
        action: 'replace',
        deployId: '20261129-120000-abcd',
        env: 'staging',
        role: 'web',
        service: 'reactio',
        mode: 'web',
      },
      { type: 'phase.started', phase: 'launch' },
      { type: 'phase.done', phase: 'launch', ms: 1234 },
      { type: 'rollback.started', reason: 'verify failed' },
      { type: 'warning', message: 'slow' },
    ];
    for (const event of events) expect(renderEvent(event)).not.toContain(ESC);
  });
});

describe('jsonEvent (NDJSON)', () => {
  it('is one line of JSON: type first, then ts, then the fields of the event', () => {
    const line = jsonEvent(waiting, AT);
    expect(line).not.toContain('\n');
    expect(Object.keys(JSON.parse(line))).toEqual(['type', 'ts', 'phase', 'what', 'done', 'total', 'pending', 'elapsedMs', 'timeoutMs']);
    expect(JSON.parse(line)).toMatchObject({ type: 'waiting', ts: '2026-11-29T12:00:00.000Z', done: 3, total: 4, elapsedMs: 45_000 });
  });

  it('keeps a text with a line break on one line', () => {
    const line = jsonEvent({ type: 'warning', message: 'one\ntwo' }, AT);
    expect(line.split('\n')).toHaveLength(1);
    expect(JSON.parse(line).message).toBe('one\ntwo');
  });
});

describe('jsonOutcome', () => {
  it('is type outcome with the kind first and the exit code last', () => {
    const line = jsonOutcome({ kind: 'rolled-back', deployId: 'd', reason: 'r', requested: false, aborted: false }, 3, AT);
    const parsed = JSON.parse(line);
    expect(Object.keys(parsed)).toEqual(['type', 'ts', 'kind', 'deployId', 'reason', 'requested', 'aborted', 'exitCode']);
    expect(parsed).toMatchObject({ type: 'outcome', kind: 'rolled-back', exitCode: 3 });
  });

  it('an error carries its message and hint', () => {
    expect(JSON.parse(jsonOutcome({ kind: 'error', error: 'no role x', hint: 'roles: web' }, 2, AT))).toEqual({
      type: 'outcome',
      ts: '2026-11-29T12:00:00.000Z',
      kind: 'error',
      error: 'no role x',
      hint: 'roles: web',
      exitCode: 2,
    });
  });
});
