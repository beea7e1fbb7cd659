import type { Io } from './io.js';

/** Where a run took its config, environment, role and journal from. */
export interface Where {
  readonly config: string;
  readonly env: string;
  readonly role: string;
  readonly journalDir: string;
}

// The engine names its recovery commands with the deploy id alone; the CLI knows the rest.
const COMMAND = /\bmackerel-replacer (resume|rollback|status|finish|cutover|shrink) (\d{8}-\d{6}-[0-9a-f]{4})\b(?! --)/g;

/** A word the shell reads back unchanged. */
const quote = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);

/**
 * Adds the run's `--config`, `--env`, `--role` and `--journal-dir` to every `mackerel-replacer
 * resume|rollback|status|finish|cutover|shrink <id>` in `text`, so a printed command can be pasted as it stands.
 */
export const pasteable = (text: string, where: Where): string =>
  text.replace(COMMAND, (_, command: string, deployId: string) => {
    const scope = command === 'status' ? '' : ` --env ${quote(where.env)} --role ${quote(where.role)}`;
    return `mackerel-replacer ${command} ${deployId} --config ${quote(where.config)}${scope} --journal-dir ${quote(where.journalDir)}`;
  });

/** `io` with every printed recovery command made pasteable for `where`. */
export const pasteableIo = (io: Io, where: Where): Io => ({
  ...io,
  out: (line) => io.out(pasteable(line, where)),
  err: (line) => io.err(pasteable(line, where)),
});
