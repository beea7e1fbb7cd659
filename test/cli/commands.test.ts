import { describe, expect, it } from 'vitest';
import { pasteable } from '../../src/cli/commands.js';

const where = { config: 'conf/replacer.yml', env: 'staging', role: 'web', journalDir: '/var/lib/mr deploys' };
const id = '20261123-153600-3fa9';

describe('printed commands carry the run flags', () => {
  it('resume and rollback: config, env, role and journal folder, quoted for the shell', () => {
    expect(pasteable(`finish it with "mackerel-replacer resume ${id}" or "mackerel-replacer rollback ${id}"`, where)).toBe(
      `finish it with "mackerel-replacer resume ${id} --config conf/replacer.yml --env staging --role web --journal-dir '/var/lib/mr deploys'"` +
        ` or "mackerel-replacer rollback ${id} --config conf/replacer.yml --env staging --role web --journal-dir '/var/lib/mr deploys'"`,
    );
  });

  it('status takes no env or role', () => {
    expect(pasteable(`mackerel-replacer status ${id}`, where)).toBe(
      `mackerel-replacer status ${id} --config conf/replacer.yml --journal-dir '/var/lib/mr deploys'`,
    );
  });

  it('keeps the text after the id, and quotes a quote', () => {
    expect(pasteable(`mackerel-replacer resume ${id}, once they have drained`, { ...where, journalDir: "it's" })).toBe(
      `mackerel-replacer resume ${id} --config conf/replacer.yml --env staging --role web --journal-dir 'it'\\''s', once they have drained`,
    );
  });

  it('leaves a command that already has flags, and other text, alone', () => {
    const text = `mackerel-replacer resume ${id} --config x; aws ec2 terminate-instances --instance-ids i-1`;
    expect(pasteable(text, where)).toBe(text);
  });
});
