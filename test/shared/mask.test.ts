import { describe, expect, it } from 'vitest';
import { MASK, maskSecrets } from '../../src/shared/mask.js';

describe('maskSecrets', () => {
  it('masks a long secret wherever it stands, even inside a word', () => {
    expect(maskSecrets('key=abcdefgh12345678; xabcdefgh12345678x', ['abcdefgh12345678'])).toBe(`key=${MASK}; x${MASK}x`);
  });

  it('masks a short secret only where it stands as a whole word', () => {
    expect(maskSecrets('status working, key w', ['w'])).toBe(`status working, key ${MASK}`);
    expect(maskSecrets('X-Api-Key: s3cr.t', ['s3cr.t'])).toBe(`X-Api-Key: ${MASK}`);
    expect(maskSecrets('s3crxt', ['s3cr.t'])).toBe('s3crxt');
  });

  it('masks the longer of two secrets first, so none is left half masked', () => {
    expect(maskSecrets('token abcdefghij', ['abcdefghij', 'abcdefgh'])).toBe(`token ${MASK}`);
  });
});
