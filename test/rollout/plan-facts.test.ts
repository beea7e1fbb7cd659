// What a plan tells the operator: the old fleet with its images and launch times, what replaces it,
// and the checks that passed on the way, in the order they ran.
import { describe, expect, it } from 'vitest';
import { replace } from '../../src/rollout/deploy.js';
import type { DeployEvent } from '../../src/rollout/events.js';
import { DEPLOY_ID, type Stage, inProcess, stage } from './fakes.js';

const plan = async (s: Stage) => {
  const events: DeployEvent[] = [];
  const { outcome } = await inProcess(
    s.fakes,
    (deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: true }, deps, new AbortController().signal),
    {
      emit: (event) => events.push(event),
    },
  );
  if (outcome?.kind !== 'planned') throw new Error(`expected a plan, got ${outcome?.kind}`);
  return { ...(outcome as Extract<Awaited<ReturnType<typeof replace>>, { kind: 'planned' }>), events };
};

describe('the plan', () => {
  it('web: lists every check preflight, snapshot and plan performed, in order, and changes nothing', async () => {
    const s = stage('web');
    const before = s.fakes.state();
    const { plan: made } = await plan(s);
    expect(made.instanceType).toBe('t3.small');
    expect(made.checks).toEqual([
      'AWS credentials and region (DryRun DescribeInstances)',
      `image ${s.newImage.id} is the newest available match of "reactio-web-*"`,
      expect.stringMatching(/^subnets subnet-0aaa1111, subnet-0ccc3333 exist, one per Availability Zone, in vpc-/),
      expect.stringMatching(/^target groups reactio-web exist, take instance targets/),
      "a load balancer forwards to reactio-web, enabled in every subnet's Availability Zone",
      expect.stringMatching(/^the drain timeout \(\d+s\) covers the longest deregistration delay$/),
      "Mackerel and EC2 agree on 2 hosts of reactio:web: each instance running, in the role's subnets, tagged mackerel-replacer:role=production/web",
      'the role is within maxInstances (2 of 100)',
      'capacity never dips: 2 new instances for 2 old',
      'target group reactio-web has room: 2 + 2 targets of 1000',
      expect.stringMatching(/^security groups .* exist$/),
      'instance type t3.small offered in ap-northeast-1a, ap-northeast-1c',
      expect.stringMatching(/^free addresses: subnet-0aaa1111 \d+ for 1, subnet-0ccc3333 \d+ for 1$/),
      expect.stringMatching(/^the On-Demand Standard vCPU quota has room: \d+ running \+ 4 new \(2 x t3.small, 2 vCPUs each\) of \d+/),
      expect.stringMatching(/^the instance tags fit EC2's limits \(\d+ of 50\)$/),
      'DryRun RunInstances in ap-northeast-1a',
      'DryRun TerminateInstances of the 2 old instances',
    ]);
    expect(s.fakes.state()).toEqual(before);
  });

  it('worker: no target group checks and no capacity check', async () => {
    const { plan: made } = await plan(stage('worker'));
    expect(made.checks.some((check) => /target group|load balancer|capacity|drain/.test(check))).toBe(false);
    expect(made.checks).toContain('DryRun RunInstances in ap-northeast-1a');
  });

  it('the snapshot carries each old instance launch time and the old images as EC2 describes them', async () => {
    const s = stage('web');
    const { snapshot, events } = await plan(s);
    expect(snapshot.members.map((m) => [m.instanceId, m.imageId, m.launchedAt])).toEqual(
      s.old.map((i) => [i.id, s.oldImage.id, new Date(i.launchedAt).toISOString()]),
    );
    expect(snapshot.images).toEqual([
      { id: s.oldImage.id, name: 'reactio-web-2026-10-01', state: 'available', createdAt: '2026-10-01T00:00:00.000Z' },
    ]);
    expect(events.find((e) => e.type === 'snapshot.taken')).toMatchObject({ images: snapshot.images, members: snapshot.members });
  });

  it('an old image deregistered since is missing from the images, not an error', async () => {
    const s = stage('web');
    s.fakes.world.images.delete(s.oldImage.id);
    const { snapshot } = await plan(s);
    expect(snapshot.members).toHaveLength(2);
    expect(snapshot.images).toEqual([]);
  });
});
