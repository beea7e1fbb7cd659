// The limits the README states are the ones the code enforces.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TAG_LIMITS, TOOL_TAGS, VAR_BUDGET } from '../../src/rollout/tags.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const figures = (pattern: RegExp) => [...readme.matchAll(pattern)].map((match) => Number(match[1]));

describe('README figures', () => {
  it('states the tag budget the schema enforces', () => {
    const budgets = figures(/at most (\d+)(?:`? `?tags(?! of its own)|:)/g);
    expect(budgets.length).toBeGreaterThan(0);
    expect(new Set(budgets)).toEqual(new Set([VAR_BUDGET]));
    const toolTags = figures(/(?:tool adds up to|tool sets up to|tool writes at most) (\d+)/g);
    expect(toolTags.length).toBeGreaterThan(0);
    expect(new Set(toolTags)).toEqual(new Set([TOOL_TAGS]));
    expect(new Set(figures(/EC2 (?:allows|holds) (\d+)/g))).toEqual(new Set([TAG_LIMITS.perResource]));
  });
});
