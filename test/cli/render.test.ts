import { describe, expect, it } from 'vitest';
import { duration, renderEvent, renderPlan } from '../../src/cli/render.js';
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

  it('names ten instances of a long list and counts the rest, so a 2,000-instance line stays readable', () => {
    const ids = Array.from({ length: 1998 }, (_, i) => `i-${String(i).padStart(17, '0')}`);
    const line = renderEvent({ type: 'step.done', phase: 'terminate', what: 'terminated the old instances', ids })!;
    expect(line).toBe(`  terminated the old instances: ${ids.slice(0, 10).join(', ')} and 1988 more`);
    const pending = renderEvent({ ...waiting, done: 0, total: 1998, pending: ids } as DeployEvent)!;
    expect(pending).toContain(`waiting on ${ids.slice(0, 10).join(', ')} and 1988 more, 45s of 10m`);
    expect(renderEvent({ type: 'step.done', phase: 'terminate', what: 'terminated', ids: ids.slice(0, 10) })).toBe(
      `  terminated: ${ids.slice(0, 10).join(', ')}`,
    );
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

describe('renderPlan', () => {
  const TG = 'arn:aws:elasticloadbalancing:r:1:targetgroup/reactio-web/0a';
  const image = (id: string, name: string, createdAt: string) => ({ id, name, state: 'available', createdAt });
  const member = (instanceId: string, az: string, imageId: string) => ({
    hostId: `h-${instanceId}`,
    hostName: instanceId,
    hostStatus: 'working' as const,
    instanceId,
    az,
    imageId,
    launchedAt: '2026-10-02T03:04:05.000Z',
  });
  const plan = {
    deployId: '20261129-120000-abcd',
    image: image('ami-new', 'web-3', '2026-11-01T00:00:00.000Z'),
    instanceType: 't3.small',
    launches: [
      { az: 'ap-northeast-1a', subnetId: 'subnet-a', count: 2, clientToken: 't-a' },
      { az: 'ap-northeast-1c', subnetId: 'subnet-c', count: 1, clientToken: 't-c' },
    ],
    newCount: 3,
    oldCount: 2,
    checks: ['AWS credentials and region (DryRun DescribeInstances)', 'DryRun RunInstances in ap-northeast-1a'],
  };

  it('per AZ the old instances and what replaces them, the image change with names and dates, the checks, what is terminated', () => {
    const snapshot = {
      members: [member('i-1', 'ap-northeast-1a', 'ami-old'), member('i-2', 'ap-northeast-1a', 'ami-gone')],
      stale: [],
      held: [],
      images: [image('ami-old', 'web-1', '2026-10-01T00:00:00.000Z')],
      checks: [],
    };
    expect(renderPlan(plan, snapshot, { targetGroups: [TG], stableFor: 30_000 })).toEqual([
      'plan for deploy 20261129-120000-abcd (nothing was changed):',
      '  image: ami-old (web-1, created 2026-10-01T00:00:00.000Z), ami-gone (deregistered) -> ami-new (web-3, created 2026-11-01T00:00:00.000Z)',
      '  ap-northeast-1a:',
      '    old: i-1 ami-old launched 2026-10-02T03:04:05.000Z, host h-i-1 working',
      '    old: i-2 ami-gone launched 2026-10-02T03:04:05.000Z, host h-i-2 working',
      '    new: 2 x t3.small in subnet-a',
      '  ap-northeast-1c:',
      '    old: none',
      '    new: 1 x t3.small in subnet-c',
      '  checks passed:',
      '    AWS credentials and region (DryRun DescribeInstances)',
      '    DryRun RunInstances in ap-northeast-1a',
      '  gates: Mackerel registration, target health in reactio-web held for 30s',
      '  terminated once the new fleet passes: i-1, i-2',
    ]);
  });

  it('names the Mackerel gates the role configures, and that stableFor then covers every gate', () => {
    const snapshot = { members: [], stale: [], images: [], checks: [], held: [] };
    const gates = { metrics: { name: 'loadavg5', maxAge: 180_000 }, alerts: { statuses: ['CRITICAL', 'WARNING'] as const } };
    expect(renderPlan(plan, snapshot, { targetGroups: [], stableFor: 60_000, gates }).find((line) => line.startsWith('  gates:'))).toBe(
      '  gates: Mackerel registration, loadavg5 posted within 3m, no open CRITICAL/WARNING alert, all held for 1m',
    );
    expect(renderPlan(plan, snapshot, { targetGroups: [], stableFor: 60_000 }).find((line) => line.startsWith('  gates:'))).toBe(
      '  gates: Mackerel registration',
    );
    expect(renderPlan(plan, snapshot, { targetGroups: [TG], stableFor: 300 }).find((line) => line.startsWith('  gates:'))).toBe(
      '  gates: Mackerel registration, target health in reactio-web held for 300ms',
    );
  });
});
