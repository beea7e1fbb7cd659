// Launch pacing under EC2's RunInstances bucket: the rounds (pure), then whole deploys on the fakes,
// checked against the bucket by each new instance's launch time, and a kill while pacing.
import { describe, expect, it } from 'vitest';
import { replace } from '../../src/rollout/deploy.js';
import type { DeployEvent } from '../../src/rollout/events.js';
import { launchPaced } from '../../src/rollout/paced-launch.js';
import { launchRounds, tokensAt, waitMs } from '../../src/rollout/pacing.js';
import { makePlan } from '../../src/rollout/plan.js';
import { rollbackDeploy } from '../../src/rollout/resume.js';
import {
  DEPLOY_ID,
  type Stage,
  expectReplaced,
  expectUntouched,
  inProcess,
  launched,
  recordOf,
  roleSpec,
  runReplace,
  runResume,
  stage,
} from './fakes.js';

const AZS = ['ap-northeast-1a', 'ap-northeast-1c', 'ap-northeast-1d'];
const launches = (perAz: number) =>
  AZS.map((az, i) => ({ az, subnetId: `subnet-${i}`, count: perAz, clientToken: `${DEPLOY_ID}/${az}/0` }));
const BUCKET = { burst: 1000, refillPerSecond: 2 };

describe('launchRounds', () => {
  it('keeps a plan the bucket holds as one round with the plan’s own ClientTokens', () => {
    const plan = launches(300);
    expect(launchRounds(plan, BUCKET)).toEqual([plan]);
  });

  it('launches 2,000 as the full bucket, then rounds of 30 s of refill, what each AZ has left balanced after each round', () => {
    const plan = launches(667).slice(0, 2).concat(launches(666).slice(2));
    const rounds = launchRounds(plan, BUCKET);
    const sizes = rounds.map((round) => round.reduce((sum, chunk) => sum + chunk.count, 0));
    expect(sizes[0]).toBe(1000);
    expect(sizes.slice(1).every((size) => size <= 60)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(2000);
    const perAz = new Map<string, number>();
    for (const round of rounds) {
      for (const chunk of round) perAz.set(chunk.az, (perAz.get(chunk.az) ?? 0) + chunk.count);
      const counts = plan.map(({ az, count }) => count - (perAz.get(az) ?? 0));
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
    expect(Object.fromEntries(perAz)).toEqual({ [AZS[0]!]: 667, [AZS[1]!]: 667, [AZS[2]!]: 666 });
    const tokens = rounds.flat().map((chunk) => chunk.clientToken);
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(tokens.every((token) => token.length <= 64)).toBe(true);
  });

  it('keeps rounds of the whole bucket when a second of refill would fill it, and those wait a second more each', () => {
    const bucket = { burst: 10, refillPerSecond: 100 };
    const rounds = launchRounds(launches(13).slice(0, 2), bucket);
    expect(rounds.map((round) => round.reduce((sum, chunk) => sum + chunk.count, 0))).toEqual([10, 10, 6]);
    expect(waitMs(0, 10, bucket)).toBe(100 + 1000);
  });

  it('gives every AZ a chunk when the refill per round is smaller than the AZs', () => {
    const rounds = launchRounds(launches(4), { burst: 3, refillPerSecond: 0.01 });
    expect(rounds.map((round) => round.map((chunk) => chunk.count))).toEqual([
      [1, 1, 1],
      [1, 1, 1],
      [1, 1, 1],
      [1, 1, 1],
    ]);
  });
});

describe('tokensAt', () => {
  it('replays the recorded chunks: spent at once, refilled by the second, never above the burst', () => {
    const bucket = { burst: 10, refillPerSecond: 2 };
    expect(tokensAt(5_000, bucket, [])).toBe(10);
    const chunks = [
      { ids: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'], at: 1_000 },
      { ids: ['k', 'l'], at: 2_000 },
    ];
    expect(tokensAt(2_000, bucket, chunks)).toBe(0);
    expect(tokensAt(4_500, bucket, chunks)).toBe(5);
    expect(tokensAt(60_000, bucket, chunks)).toBe(10);
  });
});

describe('the plan', () => {
  it('says when pacing applies, in how many rounds, and how long the refill takes', () => {
    const spec = roleSpec('worker', { perAz: 'match', launchBucket: BUCKET });
    const members = AZS.flatMap((az) => Array.from({ length: 700 }, () => ({ az })));
    const image = { id: 'ami-1', name: 'x', state: 'available', createdAt: '' };
    const subnets = AZS.map((az, i) => ({ id: `subnet-${i}`, az, vpcId: 'vpc-1' }));
    const plan = makePlan({ ...spec, maxInstances: 10_000 }, DEPLOY_ID, image, subnets, { members: members as never });
    expect(plan.pacing).toEqual({ bucket: BUCKET, rounds: 1 + Math.ceil(1100 / 60), refillMs: 550_000 });
    expect(makePlan(spec, DEPLOY_ID, image, subnets, { members: members.slice(0, 3) as never }).pacing).toBeUndefined();
  });
});

const PACED = { perAz: 12, launchBucket: { burst: 10, refillPerSecond: 2 } } as const;

/** Every instance launched by `t` fits in the bucket: the burst plus what refilled since the first launch. */
const overBucket = (s: Stage): string[] => {
  const times = launched(s)
    .map((i) => i.launchedAt)
    .sort((a, b) => a - b);
  const first = times[0] ?? 0;
  return times.flatMap((t, i) => {
    const allowed = PACED.launchBucket.burst + ((t - first) / 1000) * PACED.launchBucket.refillPerSecond;
    return i + 1 > allowed + 1e-9 ? [`${i + 1} launched by ${t - first} ms, the bucket allows ${allowed}`] : [];
  });
};

describe('a deploy larger than the bucket (fakes)', () => {
  it('launches the burst, then the rest as the bucket refills, and says so', async () => {
    const s = stage('web', { spec: PACED, oldPerAz: 2 });
    const events: DeployEvent[] = [];
    const { outcome } = await inProcess(
      s.fakes,
      (deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, deps, new AbortController().signal),
      {
        emit: (event) => events.push(event),
      },
    );
    expect(outcome).toMatchObject({ kind: 'replaced' });
    expect(expectReplaced(s, 24)).toEqual([]);
    expect(overBucket(s)).toEqual([]);
    expect(new Set(launched(s).map((i) => i.launchedAt)).size).toBe(3);
    const paced = events.filter((event) => event.type === 'launch.paced');
    expect(paced).toEqual([
      { type: 'launch.paced', launched: 10, total: 24, refillPerSecond: 2, remainingMs: 7_000 },
      { type: 'launch.paced', launched: 18, total: 24, refillPerSecond: 2, remainingMs: 3_000 },
    ]);
    const chunks = Object.values(recordOf(s)!.launchedChunks ?? {});
    expect(chunks.flatMap((chunk) => chunk.ids).sort()).toEqual(
      launched(s)
        .map((i) => i.id)
        .sort(),
    );
  });
  it('keeps a second of refill in hand before every later round, and pays that second once, not per round', async () => {
    const s = stage('worker', { spec: { ...PACED, perAz: 20 }, oldPerAz: 2 });
    expect((await runReplace(s)).kind).toBe('replaced');
    const { burst, refillPerSecond } = PACED.launchBucket;
    const rounds = new Map<number, number>();
    for (const instance of launched(s)) rounds.set(instance.launchedAt, (rounds.get(instance.launchedAt) ?? 0) + 1);
    const [firstRound, ...later] = [...rounds].sort((a, b) => a[0] - b[0]);
    const first = firstRound![0];
    expect(later.length).toBeGreaterThan(2);
    let before = burst;
    for (const [at, size] of later) {
      const model = burst + ((at - first) / 1000) * refillPerSecond - before;
      expect(model).toBeGreaterThanOrEqual(size + refillPerSecond);
      before += size;
    }
    expect(later.at(-1)![0] - first).toBe(((40 - burst) / refillPerSecond) * 1000 + 1000);
  });
});

const killedWhilePacing = async (s: Stage, lag: number) => {
  const { outcome, process } = await inProcess(
    s.fakes,
    (deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, deps, new AbortController().signal),
    { emit: (event, proc) => event.type === 'launch.paced' && proc.kill(lag) },
  );
  expect(outcome).toBeUndefined();
  expect(process.alive()).toBe(false);
};

describe('kill -9 while pacing', () => {
  it.each([0, 1, 2])('%i calls late, then resume: replaced, never more instances than the plan, the bucket respected', async (lag) => {
    const s = stage('web', { spec: PACED, oldPerAz: 2 });
    await killedWhilePacing(s, lag);
    expect(launched(s).length).toBeLessThan(24);
    expect((await runResume(s)).kind).toBe('replaced');
    expect(expectReplaced(s, 24)).toEqual([]);
    expect(overBucket(s)).toEqual([]);
  });

  it.each([0, 1, 2])('%i calls late, then rollback: nothing new left running', async (lag) => {
    const s = stage('worker', { spec: PACED, oldPerAz: 2 });
    await killedWhilePacing(s, lag);
    const { outcome } = await inProcess(s.fakes, (deps) => rollbackDeploy(s.spec, DEPLOY_ID, deps, new AbortController().signal));
    expect(outcome).toMatchObject({ kind: 'rolled-back' });
    expect(expectUntouched(s)).toEqual([]);
  });

  it('an unpaced deploy is one round, as before', async () => {
    const s = stage('web', { spec: { perAz: 2 }, oldPerAz: 2 });
    expect((await runReplace(s)).kind).toBe('replaced');
    expect(Object.keys(recordOf(s)!.launchedChunks ?? {}).every((token) => token.endsWith('/0'))).toBe(true);
  });
});

describe('chunks the record holds are never sent again', () => {
  const deps = {
    clock: { now: () => 0, sleep: async () => undefined, deadline: () => new AbortController().signal },
    emit: () => undefined,
  };
  const call = { signal: new AbortController().signal };
  const plan = launches(2).slice(0, 2);
  const [a, c] = AZS as [string, string];
  const sending = (answers: Record<string, string[]>) => {
    const sent: string[] = [];
    const launchChunks = async (chunks: readonly { clientToken: string }[]) => {
      sent.push(...chunks.map((chunk) => chunk.clientToken));
      return Object.fromEntries(chunks.map((chunk) => [chunk.clientToken, answers[chunk.clientToken]!]));
    };
    return { sent, launchChunks };
  };

  it("a record rebuilt from the instances' tags (no chunks recorded) sends nothing for the AZs whose instances it holds", async () => {
    const { sent, launchChunks } = sending({ [`${DEPLOY_ID}/${c}/0`]: ['i-c1', 'i-c2'] });
    const deploy = { deployId: DEPLOY_ID, launches: plan, launched: { [a]: ['i-a1', 'i-a2'] } };
    const ids = await launchPaced(deploy, BUCKET, launchChunks, deps, call);
    expect(sent).toEqual([`${DEPLOY_ID}/${c}/0`]);
    expect(ids).toEqual(['i-a1', 'i-a2', 'i-c1', 'i-c2']);
  });

  it('an answer without the instances the record holds for its chunk is named and fails the launch', async () => {
    const deploy = { deployId: DEPLOY_ID, launches: plan, launched: { [a]: ['i-a1', 'i-a2'], [c]: ['i-c1'] } };
    const same = sending({ [`${DEPLOY_ID}/${c}/0`]: ['i-c1', 'i-c2'] });
    expect(await launchPaced(deploy, BUCKET, same.launchChunks, deps, call)).toEqual(['i-a1', 'i-a2', 'i-c1', 'i-c2']);
    const other = sending({ [`${DEPLOY_ID}/${c}/0`]: ['i-c7', 'i-c8'] });
    await expect(launchPaced(deploy, BUCKET, other.launchChunks, deps, call)).rejects.toThrow(
      `RunInstances launched other instances than the ones the deploy holds (${DEPLOY_ID}/${c}/0: EC2 answered i-c7, i-c8, but the record holds i-c1 for this chunk)`,
    );
  });
});
