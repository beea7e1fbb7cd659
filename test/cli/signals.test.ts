import { describe, expect, it } from 'vitest';
import { signalPolicy } from '../../src/cli/signals.js';

const decide = (...at: number[]) => {
  let now = 0;
  const policy = signalPolicy(() => now);
  return at.map((t) => {
    now = t;
    return policy();
  });
};

describe('what each SIGINT/SIGTERM means', () => {
  it('the first stops safely', () => {
    expect(decide(0)).toEqual(['stop']);
  });

  it('a second within 2s is the same signal, delivered again to the process group', () => {
    expect(decide(0, 1)).toEqual(['stop', 'repeat']);
    expect(decide(5_000, 6_999)).toEqual(['stop', 'repeat']);
  });

  it('a second 2s or more after the first exits at once', () => {
    expect(decide(0, 2_000)).toEqual(['stop', 'exit']);
  });

  it('a third exits at once, however soon', () => {
    expect(decide(0, 1, 2)).toEqual(['stop', 'repeat', 'exit']);
  });
});
