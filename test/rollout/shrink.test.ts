import { describe, expect, it } from 'vitest';
import { chooseShrink, shrinkCount } from '../../src/rollout/finish.js';
import type { Member } from '../../src/rollout/snapshot.js';

const member = (instanceId: string, az: string): Member => ({
  hostId: `h-${instanceId}`,
  hostName: instanceId,
  hostStatus: 'working',
  instanceId,
  az,
  imageId: 'ami-00000001',
});

describe('shrink', () => {
  it('takes each instance from the AZ with the most left, so the AZs stay balanced', () => {
    const running = [
      member('i-1', 'a'),
      member('i-2', 'a'),
      member('i-3', 'a'),
      member('i-4', 'c'),
      member('i-5', 'c'),
      member('i-6', 'd'),
    ];
    expect(chooseShrink(running, 3)).toEqual(['i-2', 'i-3', 'i-5']);
    expect(chooseShrink(running, 5)).toEqual(['i-3']);
  });

  it('--to P% is a share of the kept fleet, rounded up; --to N is N', () => {
    expect(shrinkCount({ percent: 50 }, 4)).toBe(2);
    expect(shrinkCount({ percent: 50 }, 3)).toBe(2);
    expect(shrinkCount({ count: 1 }, 4)).toBe(1);
  });
});
