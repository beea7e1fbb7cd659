// Worker roles stop taking work before they go: the old hosts go to maintenance, workerDrain is
// waited out (a resume waits only what is left), and the role's hooks run at their boundaries with
// the deploy's facts; a failing beforeCutover rolls back, a failing beforeTerminate leaves the old
// fleet running (incomplete) until resume.
import { describe, expect, it } from 'vitest';
import { replace } from '../../src/rollout/deploy.js';
import type { DeployEvent } from '../../src/rollout/events.js';
import { resumeDeploy } from '../../src/rollout/resume.js';
import type { RoleSpec } from '../../src/rollout/spec.js';
import {
  DEPLOY_ID,
  type Stage,
  expectReplaced,
  expectUntouched,
  inProcess,
  launched,
  recordOf,
  runReplace,
  runResume,
  stage,
} from './fakes.js';

const hook = (command: string) => ({ command, timeout: 60_000 });

const HOOKS: RoleSpec['hooks'] = {
  beforeCutover: hook('warm-up'),
  beforeTerminate: hook('stop-polling'),
  afterDeploy: hook('notify done'),
  onRollback: hook('notify rollback'),
};

/** Each event as one short line, to assert their order. */
const said = (s: Stage): string[] =>
  s.fakes.events.flatMap((event: DeployEvent) => {
    if (event.type === 'step.done') return [`step: ${event.what}`];
    if (event.type === 'hook.done') return [`hook: ${event.hook}${event.failure === undefined ? '' : ' failed'}`];
    if (event.type === 'phase.started' || event.type === 'rollback.started')
      return [event.type === 'phase.started' ? event.phase : 'rolling back'];
    return [];
  });

const hostIdOf = (s: Stage, instanceId: string): string =>
  [...s.fakes.world.hosts.values()].find((host) => host.customIdentifier?.startsWith(instanceId) && !host.isRetired)?.id ?? 'none';

describe('worker hooks', () => {
  it('beforeTerminate runs with the old and new ids after the old hosts are in maintenance, before they are terminated', async () => {
    const s = stage('worker', { spec: { hooks: HOOKS } });
    const oldHosts = s.old.map((instance) => hostIdOf(s, instance.id));
    expect((await runReplace(s)).kind).toBe('replaced');
    expect(expectReplaced(s, 2)).toEqual([]);
    const fresh = launched(s).map((instance) => instance.id);
    const run = s.fakes.hooks.runs.find((r) => r.hook.name === 'beforeTerminate')!;
    expect(run.hook.env).toEqual({
      MR_HOOK: 'beforeTerminate',
      MR_DEPLOY_ID: DEPLOY_ID,
      MR_ENV: 'production',
      MR_ROLE: 'worker',
      MR_SERVICE: 'reactio',
      MR_OLD_INSTANCE_IDS: s.old.map((instance) => instance.id).join(' '),
      MR_NEW_INSTANCE_IDS: fresh.join(' '),
      MR_OLD_HOST_IDS: oldHosts.join(' '),
      MR_NEW_HOST_IDS: fresh.map((id) => hostIdOf(s, id)).join(' '),
      MR_AMI_OLD: s.oldImage.id,
      MR_AMI_NEW: s.newImage.id,
    });
    expect(said(s)).toEqual([
      'preflight',
      'snapshot',
      'plan',
      'launch',
      'verify',
      'hook: beforeCutover',
      'cutover',
      'step: set the new hosts working',
      'step: set the old hosts maintenance',
      'terminate',
      'hook: beforeTerminate',
      'step: terminated the old instances',
      'retire',
      'step: retired the old hosts',
      'hook: afterDeploy',
    ]);
    expect(s.fakes.events).toContainEqual({ type: 'hook.output', hook: 'beforeTerminate', line: 'beforeTerminate ran: stop-polling' });
  });

  it('a failing beforeCutover rolls back, and onRollback runs', async () => {
    const s = stage('worker', { spec: { hooks: HOOKS } });
    s.fakes.hooks.failing.set('beforeCutover', 'exited 1');
    const outcome = await runReplace(s);
    expect(outcome).toMatchObject({ kind: 'rolled-back', reason: 'hook beforeCutover (warm-up) failed: exited 1' });
    expect(expectUntouched(s)).toEqual([]);
    expect(s.fakes.hooks.runs.map((r) => r.hook.name)).toEqual(['beforeCutover', 'onRollback']);
  });

  it('a failing beforeTerminate leaves the old fleet running (incomplete); resume runs it again and finishes', async () => {
    const s = stage('worker', { spec: { hooks: HOOKS } });
    s.fakes.hooks.failing.set('beforeTerminate', 'timed out after 1m and was killed');
    const outcome = await runReplace(s);
    expect(outcome).toMatchObject({ kind: 'incomplete', leftovers: [{ fix: `mackerel-replacer resume ${DEPLOY_ID}` }] });
    expect(outcome.kind === 'incomplete' && outcome.leftovers[0]!.what).toMatch(/hook beforeTerminate \(stop-polling\) failed: timed out/);
    expect(recordOf(s)).toMatchObject({ status: 'incomplete', step: 'terminate', terminated: [] });
    s.fakes.world.advance();
    expect(s.old.map((instance) => instance.state)).toEqual(['running', 'running']);

    s.fakes.hooks.failing.clear();
    expect((await runResume(s)).kind).toBe('replaced');
    expect(expectReplaced(s, 2)).toEqual([]);
    expect(s.fakes.hooks.runs.filter((r) => r.hook.name === 'beforeTerminate')).toHaveLength(2);
  });

  it('a failing afterDeploy is a warning: the deploy is replaced', async () => {
    const s = stage('worker', { spec: { hooks: HOOKS } });
    s.fakes.hooks.failing.set('afterDeploy', 'exited 2');
    expect((await runReplace(s)).kind).toBe('replaced');
    expect(s.fakes.events).toContainEqual({ type: 'warning', message: 'hook afterDeploy (notify done) failed: exited 2' });
  });
});

describe('workerDrain', () => {
  const DRAIN = 10 * 60_000;

  it('waits between maintenance and termination', async () => {
    const s = stage('worker', { spec: { workerDrain: DRAIN } });
    expect((await runReplace(s)).kind).toBe('replaced');
    const steps = said(s).filter((line) => line.startsWith('step:'));
    expect(steps).toEqual([
      'step: set the new hosts working',
      'step: set the old hosts maintenance',
      'step: waited workerDrain for the old workers',
      'step: terminated the old instances',
      'step: retired the old hosts',
    ]);
    const waits = s.fakes.events.filter((e) => e.type === 'waiting' && e.what === 'old workers drained');
    expect(waits.length).toBeGreaterThan(0);
  });

  it('a crash during the drain: resume waits only what is left of it', async () => {
    const s = stage('worker', { spec: { workerDrain: DRAIN } });
    let crashedAt = 0;
    await inProcess(s.fakes, (deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, deps, new AbortController().signal), {
      emit: (event, process) => {
        if (event.type === 'waiting' && event.what === 'old workers drained' && crashedAt === 0) {
          crashedAt = s.fakes.clock.now();
          process.kill();
        }
      },
    });
    const until = recordOf(s)!.workerDrainUntil!;
    expect(recordOf(s)).toMatchObject({ status: 'running', step: 'cutover', terminated: [] });
    expect(until).toBeGreaterThanOrEqual(crashedAt);
    expect(until).toBeLessThanOrEqual(crashedAt + DRAIN);

    // Half the drain passes before anyone resumes.
    await s.fakes.run(s.fakes.clock.sleep(DRAIN / 2, new AbortController().signal));
    let terminatedAt = 0;
    await inProcess(s.fakes, (deps) => resumeDeploy(s.spec, DEPLOY_ID, deps, new AbortController().signal), {
      emit: (event) => {
        if (event.type === 'step.done' && event.phase === 'terminate') terminatedAt = s.fakes.clock.now();
      },
    });
    expect(expectReplaced(s, 2)).toEqual([]);
    expect(terminatedAt).toBeGreaterThanOrEqual(until);
    // Not a fresh drain from the resume's start, which would end DRAIN / 2 later.
    expect(terminatedAt).toBeLessThan(until + s.spec.pollInterval * 2);
  });
});
