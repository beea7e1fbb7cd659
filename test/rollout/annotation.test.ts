// The graph annotation: every deploy that launched anything marks the role's graphs, saying how it
// ended; a deploy that launched nothing marks nothing.
import { describe, expect, it } from 'vitest';
import { recordOf, runReplace, stage } from './fakes.js';

const annotationEvents = (events: readonly { type: string }[]) => events.filter((e) => e.type === 'annotation.created');

describe('graph annotation', () => {
  it('a replaced deploy: one annotation on the role saying replaced, old image -> new, over the deploy', async () => {
    const s = stage('web');
    const t0 = s.fakes.clock.now();
    expect((await runReplace(s)).kind).toBe('replaced');
    expect(s.fakes.world.annotations).toEqual([
      {
        service: 'reactio',
        roles: ['web'],
        title: `mackerel-replacer: web replaced (${s.oldImage.id} -> ${s.newImage.id})`,
        description: `deploy ${recordOf(s)!.deployId} replaced: 2 old -> 2 new instances in production, image ${s.oldImage.id} -> ${s.newImage.id}`,
        from: t0,
        to: expect.any(Number),
      },
    ]);
    // Written once the old fleet is gone, not before.
    const { events } = s.fakes.world;
    const lastTerminated = events.findLastIndex((e) => e.type === 'instance.terminating');
    expect(events.findIndex((e) => e.type === 'annotation.created')).toBeGreaterThan(lastTerminated);
  });

  it('a rolled-back deploy that launched: one annotation saying rolled back and why, after the new side was removed', async () => {
    const s = stage('web');
    s.fakes.world.inject({ type: 'health-fail', count: 1 });
    const outcome = await runReplace(s);
    expect(outcome.kind).toBe('rolled-back');
    const reason = outcome.kind === 'rolled-back' ? outcome.reason : '';
    expect(s.fakes.world.annotations).toHaveLength(1);
    expect(s.fakes.world.annotations[0]).toMatchObject({
      service: 'reactio',
      roles: ['web'],
      title: `mackerel-replacer: web rolled back: ${reason} (${s.oldImage.id} -> ${s.newImage.id})`,
      description: expect.stringMatching(/^deploy \S+ rolled back: .*: 2 old -> 2 new instances in production/),
    });
    const { events } = s.fakes.world;
    const lastNewTerminating = events.findLastIndex((e) => e.type === 'instance.terminating');
    expect(events.findIndex((e) => e.type === 'annotation.created')).toBeGreaterThan(lastNewTerminating);
  });

  it('a deploy whose every launch failed rolls back and annotates nothing', async () => {
    const s = stage('worker');
    s.fakes.world.inject({ type: 'capacity', az: 'ap-northeast-1a' });
    s.fakes.world.inject({ type: 'capacity', az: 'ap-northeast-1c' });
    expect((await runReplace(s)).kind).toBe('rolled-back');
    expect(s.fakes.world.annotations).toEqual([]);
    expect(annotationEvents(s.fakes.world.events)).toEqual([]);
  });

  it('a deploy refused in preflight annotates nothing', async () => {
    const s = stage('web', { balancerAzs: ['ap-northeast-1a'] });
    await expect(runReplace(s)).rejects.toThrow(/not enabled in ap-northeast-1c/);
    expect(s.fakes.world.annotations).toEqual([]);
  });
});
