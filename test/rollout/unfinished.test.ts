import { describe, expect, it } from 'vitest';
import type { DeployRecord } from '../../src/rollout/record.js';
import { chooseRecovery } from '../../src/rollout/unfinished.js';

type State = Pick<DeployRecord, 'status' | 'step' | 'cutoverBegun'> & { terminated: readonly string[] };
const at = (state: Partial<State>, keepHeld = false) => {
  const record = { deployId: '20261123-153600-3fa9', status: 'running', step: 'verify', cutoverBegun: false, ...state } as const;
  return chooseRecovery({ ...record, terminated: [...(state.terminated ?? [])] }, { keepHeld }).act;
};

describe('what recover does to an unfinished deploy', () => {
  it.each([
    ['running at launch', { step: 'launch' }],
    ['running at verify', { step: 'verify' }],
    ['verified, cutover not begun', { step: 'cutover' }],
    ['interrupted before cutover began', { status: 'interrupted', step: 'cutover' }],
    ['rebuilt from tags before cutover', { status: 'interrupted', step: 'launch' }],
    ['a rollback that stopped', { status: 'rolling-back', step: 'verify' }],
    ['a rollback of a kept fleet that stopped', { status: 'rolling-back', step: 'terminate', cutoverBegun: true }],
    ['an incomplete rollback', { status: 'incomplete', step: 'verify' }],
    ['held', { status: 'held', step: 'cutover' }],
  ] as const)('rolls back: %s', (_, state) => {
    expect(at(state)).toBe('rollback');
  });

  it.each([
    ['running, cutover begun', { step: 'cutover', cutoverBegun: true }],
    ['interrupted before terminate', { status: 'interrupted', step: 'terminate', cutoverBegun: true }],
    ['rebuilt from tags after a termination', { status: 'interrupted', step: 'terminate', terminated: ['i-0a'] }],
    ['incomplete after cutover', { status: 'incomplete', step: 'retire', cutoverBegun: true }],
  ] as const)('resumes to the end: %s', (_, state) => {
    expect(at(state)).toBe('resume');
  });

  it.each([
    ['kept', { status: 'kept', step: 'terminate', cutoverBegun: true }, false],
    ['held, with --keep-held', { status: 'held', step: 'cutover' }, true],
    ['replaced', { status: 'replaced', step: 'done', cutoverBegun: true }, false],
    ['rolled back', { status: 'rolled-back' }, false],
    ['abandoned', { status: 'abandoned' }, false],
  ] as const)('leaves it as it is: %s', (_, state, keepHeld) => {
    expect(at(state, keepHeld)).toBe('leave');
  });

  it('names the command a person uses for what it leaves', () => {
    const kept = chooseRecovery(
      { deployId: '20261123-153600-3fa9', status: 'kept', step: 'terminate', cutoverBegun: true, terminated: [] },
      { keepHeld: false },
    );
    expect(kept.why).toContain('mackerel-replacer finish 20261123-153600-3fa9');
  });
});
