import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/config/duration.js';

describe('parseDuration', () => {
  it.each([
    ['100ms', 100],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1m5ms', 60_005],
    ['2h3m4s5ms', 7_384_005],
    ['0s', 0],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', 'ms', '1.5s', '-1s', '5 m', '30m1h', '1h1h', '5d', ' 5s', '5S'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
