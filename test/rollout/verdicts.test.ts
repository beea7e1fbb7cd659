import { describe, expect, it } from 'vitest';
import type { Host, HostStatus, Instance } from '../../src/rollout/ports.js';
import {
  aliveVerdict,
  bootVerdict,
  claimsOf,
  drainVerdict,
  goneVerdict,
  healthVerdict,
  registrationVerdict,
  stableVerdict,
  unhealthySince,
} from '../../src/rollout/verdicts.js';

const instance = (id: string, state: Instance['state']): Instance => ({
  id,
  state,
  az: 'a',
  launchedAt: '2026-11-01T00:00:00.000Z',
  subnetId: 's',
  vpcId: 'v',
  imageId: 'ami',
  tags: {},
});
const arn = 'arn:aws:elasticloadbalancing:r:1:targetgroup/web/0';

describe('bootVerdict', () => {
  it('passes when all run, waits for pending or unseen ones, fails on a dead one', () => {
    expect(bootVerdict(['i-1'], [instance('i-1', 'running')])).toEqual({ kind: 'passed' });
    expect(bootVerdict(['i-1', 'i-2'], [instance('i-1', 'running')])).toMatchObject({
      kind: 'pending',
      done: 1,
      total: 2,
      waitingFor: ['i-2 (not visible yet)'],
    });
    expect(bootVerdict(['i-1'], [instance('i-1', 'terminated')])).toEqual({ kind: 'failed', reason: 'i-1 is terminated' });
  });
});

describe('registrationVerdict', () => {
  const role = 'reactio-staging:web';
  const host = (id: string, instanceId: string, status: HostStatus, overrides: Partial<Host> = {}): Host => ({
    id,
    name: id,
    status,
    instanceId,
    identifiedAs: instanceId,
    roles: [role],
    ...overrides,
  });
  const look = (roleHosts: Host[], lookedUp: [string, Host | undefined][] = [], earlierClaims = new Map<string, string>()) => ({
    roleHosts,
    lookedUp: new Map(lookedUp),
    earlierClaims,
  });

  it('counts working and standby hosts of the role, and names the others', () => {
    const hosts = [host('h1', 'i-1', 'working'), host('h2', 'i-2', 'standby'), host('h3', 'i-3', 'maintenance')];
    expect(registrationVerdict(role, ['i-1', 'i-2'], look(hosts))).toEqual({ kind: 'passed' });
    expect(registrationVerdict(role, ['i-1', 'i-3', 'i-4'], look(hosts))).toMatchObject({
      kind: 'pending',
      done: 1,
      waitingFor: ['i-3 (host h3 is maintenance)', 'i-4 (not registered)'],
    });
  });

  it('fails on a host registered under other roles, or none, once the role grace is over, and says what to set', () => {
    const api = host('h9', 'i-1', 'standby', { roles: ['reactio-staging:api'] });
    expect(registrationVerdict(role, ['i-1'], look([], [['i-1', api]]))).toEqual({
      kind: 'failed',
      reason:
        'instance i-1 registered as host h9 with roles reactio-staging:api, not reactio-staging:web: set roles = ["reactio-staging:web"] in its mackerel-agent.conf (user data that writes it must restart the agent: systemctl restart mackerel-agent)',
    });
    const none = host('h9', 'i-1', 'standby', { roles: [] });
    expect(registrationVerdict(role, ['i-1'], look([], [['i-1', none]]))).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('with no roles, not'),
    });
    expect(registrationVerdict(role, ['i-1'], look([], [['i-1', undefined]]))).toMatchObject({ kind: 'pending' });
  });

  it('waits for a host without the role within the role grace: its user data may still restart the agent with it', () => {
    const worker = host('h9', 'i-1', 'standby', { roles: ['reactio-staging:worker'] });
    expect(registrationVerdict(role, ['i-1'], { ...look([], [['i-1', worker]]), withinRoleGrace: true })).toMatchObject({
      kind: 'pending',
      done: 0,
      waitingFor: ['i-1 (host h9 has roles reactio-staging:worker, not yet reactio-staging:web)'],
    });
  });

  it("fails at once on a host that carries another instance's customIdentifier", () => {
    const baked = host('h5', 'i-2', 'standby', { identifiedAs: 'i-0builder' });
    expect(registrationVerdict(role, ['i-1', 'i-2'], look([baked]))).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining(
        "instance i-2 registered as host h5, which carries the customIdentifier of i-0builder: the image was baked with mackerel-agent's id file",
      ),
    });
  });

  it('fails at once when one host stands for two new instances, across looks too', () => {
    const first = [host('h5', 'i-1', 'standby')];
    const claims = claimsOf(['i-1', 'i-2'], first, new Map());
    expect(registrationVerdict(role, ['i-1', 'i-2'], look(first, [], claims))).toMatchObject({ kind: 'pending' });
    expect(registrationVerdict(role, ['i-1', 'i-2'], look([host('h5', 'i-2', 'standby')], [], claims))).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('instances i-1 and i-2 both registered as host h5'),
    });
  });
});

describe('healthVerdict', () => {
  it('needs every new instance healthy in every group, and names the reason otherwise', () => {
    const groups = [
      {
        arn,
        targets: [
          { id: 'i-1', state: 'healthy' as const },
          { id: 'i-2', state: 'unhealthy' as const, reason: 'Target.Timeout' },
        ],
      },
    ];
    expect(healthVerdict(['i-1'], groups)).toEqual({ kind: 'passed' });
    expect(healthVerdict(['i-1', 'i-2', 'i-3'], groups)).toMatchObject({
      kind: 'pending',
      done: 1,
      total: 3,
      waitingFor: ['i-2 in web (unhealthy: Target.Timeout)', 'i-3 in web (not registered)'],
    });
  });
});

describe('drainVerdict', () => {
  it('passes once the old targets are gone or unused', () => {
    expect(drainVerdict(['i-1'], [{ arn, targets: [{ id: 'i-1', state: 'draining' }] }])).toMatchObject({ kind: 'pending' });
    expect(
      drainVerdict(
        ['i-1'],
        [
          {
            arn,
            targets: [
              { id: 'i-1', state: 'unused' },
              { id: 'i-9', state: 'healthy' },
            ],
          },
        ],
      ),
    ).toEqual({ kind: 'passed' });
    expect(drainVerdict(['i-1'], [{ arn, targets: [] }])).toEqual({ kind: 'passed' });
  });
});

describe('aliveVerdict', () => {
  it('never passes on its own, and fails as soon as AWS takes a new instance away', () => {
    expect(aliveVerdict(['i-1'], [instance('i-1', 'running')])).toMatchObject({ kind: 'pending' });
    expect(aliveVerdict(['i-1', 'i-2'], [instance('i-1', 'running'), instance('i-2', 'terminated')])).toEqual({
      kind: 'failed',
      reason: 'i-2 is terminated',
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
    expect(stableVerdict(passed, 1000, 1200, 500)).toMatchObject({ kind: 'pending', passesInMs: 300 });
    expect(stableVerdict(passed, 1000, 1500, 500)).toEqual(passed);
    const pending = healthVerdict(['i-1'], [{ arn, targets: [] }]);
    expect(stableVerdict(pending, undefined, 1500, 500)).toBe(pending);
  });
});

describe('goneVerdict', () => {
  it('passes once every instance is terminated or no longer visible', () => {
    expect(goneVerdict(['i-1', 'i-2'], [instance('i-1', 'terminated')])).toEqual({ kind: 'passed' });
    expect(goneVerdict(['i-1'], [instance('i-1', 'shutting-down')])).toMatchObject({
      kind: 'pending',
      waitingFor: ['i-1 (shutting-down)'],
    });
  });
});
