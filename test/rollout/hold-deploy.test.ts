// The recovery commands on the in-memory world: one at a time per deploy (two runners at once), and
// a recovery meeting the faults a deploy meets never says "nothing was changed" of a deploy in flight.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/rollout/errors.js';
import { holdDeploy } from '../../src/rollout/lock.js';
import { replace } from '../../src/rollout/deploy.js';
import type { DeployEvent } from '../../src/rollout/events.js';
import { resumeDeploy, rollbackDeploy } from '../../src/rollout/resume.js';
import { TAG_LOCK } from '../../src/rollout/tags.js';
import { DEPLOY_ID, type Stage, expectUntouched, inProcess, launched, recordOf, stage } from './fakes.js';

const never = () => new AbortController().signal;

/** `replace`, killed once it starts `phase`. */
const killedAt = async (s: Stage, phase: string) => {
  const killed = (event: DeployEvent) => event.type === 'phase.started' && event.phase === phase;
  await inProcess(s.fakes, (deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, deps, never()), {
    emit: (event, process) => {
      if (killed(event)) process.kill();
    },
  });
};

const settle = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

describe('one command per deploy', () => {
  it('of a rollback and a resume started at once, one runs and the other is refused naming it; the old fleet serves', async () => {
    const s = stage('web');
    await killedAt(s, 'cutover');
    const rollback = s.fakes.start();
    const resume = s.fakes.start();
    const [rolled, resumed] = await s.fakes.run(
      Promise.all([
        settle(holdDeploy('rollback', DEPLOY_ID, rollback.deps, never(), () => rollbackDeploy(s.spec, DEPLOY_ID, rollback.deps, never()))),
        settle(holdDeploy('resume', DEPLOY_ID, resume.deps, never(), () => resumeDeploy(s.spec, DEPLOY_ID, resume.deps, never()))),
      ]),
    );
    expect(rolled).toMatchObject({ value: { kind: 'rolled-back' } });
    expect(resumed).toMatchObject({ error: expect.any(UsageError) });
    expect((resumed as { error: Error }).error.message).toMatch(
      new RegExp(`deploy ${DEPLOY_ID} is being worked on by rollback on ${rollback.process.name} since`),
    );
    expect(expectUntouched(s)).toEqual([]);
    // Both locks are freed: the tag on the new instances, the journal's.
    expect(launched(s).filter((instance) => instance.tags[TAG_LOCK] !== undefined)).toEqual([]);
    await expect(s.fakes.run(s.fakes.start().deps.journal.holder(DEPLOY_ID))).resolves.toBeUndefined();
  });

  it('is taken over from a command killed while it held it', async () => {
    const s = stage('web');
    await killedAt(s, 'cutover');
    const first = await inProcess(
      s.fakes,
      (deps) => holdDeploy('rollback', DEPLOY_ID, deps, never(), () => rollbackDeploy(s.spec, DEPLOY_ID, deps, never())),
      {
        emit: (event, process) => {
          if (event.type === 'phase.started' && event.phase === 'rollback') process.kill();
        },
      },
    );
    expect(first.process.alive()).toBe(false);
    expect(launched(s).some((instance) => instance.tags[TAG_LOCK]?.startsWith(`rollback ${first.process.name} since`))).toBe(true);
    const { outcome } = await inProcess(s.fakes, (deps) =>
      holdDeploy('rollback', DEPLOY_ID, deps, never(), () => rollbackDeploy(s.spec, DEPLOY_ID, deps, never())),
    );
    expect(outcome).toMatchObject({ kind: 'rolled-back' });
    expect(expectUntouched(s)).toEqual([]);
  });
});

describe('a recovery meeting transient faults', () => {
  it('retries past the SDK attempts, as a deploy waits, and finishes', async () => {
    const s = stage('web');
    await killedAt(s, 'verify');
    s.fakes.world.inject(
      { type: 'api-error', api: 'ec2', status: 503, code: 'RequestLimitExceeded', count: 2 },
      { type: 'drop', api: 'ec2', count: 6 },
    );
    const { outcome } = await inProcess(s.fakes, (deps) =>
      holdDeploy('resume', DEPLOY_ID, deps, never(), () => resumeDeploy(s.spec, DEPLOY_ID, deps, never())),
    );
    expect(outcome).toMatchObject({ kind: 'replaced' });
  });

  it('that cannot go on says what is left in flight and the command that finishes it (incomplete), not "nothing was changed"', async () => {
    const s = stage('web');
    await killedAt(s, 'verify');
    s.fakes.world.inject({ type: 'drop', api: 'ec2', count: 1000 });
    const { outcome } = await inProcess(s.fakes, (deps) =>
      holdDeploy('resume', DEPLOY_ID, deps, never(), () => resumeDeploy(s.spec, DEPLOY_ID, deps, never())),
    );
    const ids = launched(s).map((instance) => instance.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(outcome).toMatchObject({
      kind: 'incomplete',
      reason: expect.stringMatching(/^resume could not go on: EC2 \w+ failed: ECONNRESET/),
      leftovers: [{ what: expect.stringContaining(ids.join(', ')), fix: `mackerel-replacer resume ${DEPLOY_ID}` }],
    });
    expect(recordOf(s)?.status).toBe('running');
  });
});
