import { Command, CommanderError, Option } from 'commander';
import { UsageError } from '../rollout/errors.js';
import { checkAmi, checkPort, collectVars, single } from './flags.js';
import { checkKeepOld, checkShrinkTarget } from './window-flags.js';
import { shrinkKept } from '../rollout/finish.js';
import { runIamPolicy } from './iam-policy.js';
import { redactEnvSecrets } from './redact.js';
import { jsonOutcome } from './render-json.js';
import { EXIT, type Io, reportError, shorten } from './io.js';
import { DEFAULT_JOURNAL_DIR } from './journal-file.js';
import { RECOVER_ACTS, runRecover } from './recover.js';
import { runReplace } from './replace.js';
import { runStatus } from './status.js';
import { runSandbox } from './sandbox.js';

const configOption = () => new Option('--config <file>', 'configuration file').default('./replacer.yml').argParser(single('--config'));
const journalOption = () =>
  new Option('--journal-dir <dir>', 'where deploy records are kept')
    .env('MACKEREL_REPLACER_JOURNAL_DIR')
    .default(DEFAULT_JOURNAL_DIR)
    .argParser(single('--journal-dir'));

const jsonOption = () =>
  new Option('--json', 'NDJSON events on stdout (schema in the README), the last line the outcome with the exit code');

/** The commands whose `--json` prints NDJSON events ending with an outcome line. */
const JSON_COMMANDS = new Set(['replace', 'plan', 'resume', 'rollback', 'finish', 'cutover', 'shrink']);

/** Parses argv, runs one command, and returns its exit code. Never calls process.exit. */
export const main = async (argv: readonly string[], given: Io): Promise<number> => {
  const dashes = argv.indexOf('--');
  const json = JSON_COMMANDS.has(argv[0] ?? '') && (dashes < 0 ? argv : argv.slice(0, dashes)).includes('--json');
  if (!json) return run(argv, given);
  // Whatever ends the run (a refusal, a bug, a flag commander rejects), the last stdout line is the outcome.
  let ended = false;
  let error: string | undefined;
  let hint: string | undefined;
  const io: Io = {
    ...given,
    out: (line) => {
      ended = line.startsWith('{"type":"outcome"');
      given.out(line);
    },
    err: (line) => {
      if (error === undefined && line.startsWith('error: ')) error = line.slice('error: '.length);
      else if (hint === undefined && error !== undefined && line.startsWith('hint: ')) hint = line.slice('hint: '.length);
      else if (error === undefined && line.startsWith('internal error')) error = 'internal error (a bug): see stderr';
      else if (error === undefined && line.startsWith('interrupted by ')) error = line;
      given.err(line);
    },
  };
  let code: number;
  try {
    code = await run(argv, io);
  } catch (thrown) {
    code = reportError(thrown, io);
  }
  if (!ended) {
    const outcome = { kind: 'error' as const, error: error ?? 'failed: see stderr', ...(hint !== undefined && { hint }) };
    given.out(redactEnvSecrets(jsonOutcome(outcome, code, Date.now()), given.env));
  }
  return code;
};

const run = async (argv: readonly string[], io: Io): Promise<number> => {
  let code: number = EXIT.ok;
  const program = new Command('mackerel-replacer')
    .description('Replace every EC2 instance of a Mackerel role with fresh ones from the newest AMI')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text.trimEnd()), writeErr: (text) => io.err(shorten(text.trimEnd())) });

  const deployCommand = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .addOption(configOption())
      .option('--env <env>', 'environment (default: defaultEnv, or the only one)', single('--env'))
      .requiredOption('--role <role>', 'role to replace', single('--role'))
      .option('--ami <id>', 'launch this AMI instead of the newest match', single('--ami', checkAmi))
      .option(
        '--var <name=value>',
        "a value for a variable of the role's userDataFile (repeatable; over the config's vars:)",
        collectVars(),
      )
      .option(
        '--promote-from <env>',
        "launch the AMI and variable values of this environment's last successful deploy of the role, not the newest AMI",
        single('--promote-from'),
      )
      .option('--allow-stale', 'retire Mackerel hosts whose instance is gone (never terminated) instead of refusing')
      .option('--allow-empty', 'launch even though the role has no instance (its first deploy)')
      .addOption(jsonOption())
      .addOption(journalOption());

  deployCommand('replace', 'replace every instance of the role')
    .option('--dry-run', 'stop after printing the plan')
    .option('--force-unlock <id>', 'ignore the lock of this deploy, known dead and cleaned up', single('--force-unlock'))
    .option('--plan <file>', 'apply exactly this reviewed plan (plan --out), or refuse if the role or the image changed', single('--plan'))
    .option('--yes', 'do not ask before acting (only ever asked on a terminal)')
    .option(
      '--keep-old <duration>',
      'after cutover keep the old instances running (deregistered, standby) this long: finish, shrink or rollback',
      single('--keep-old', checkKeepOld),
    )
    .option('--hold', 'stop once the new fleet is verified, the old one still serving; cutover <deploy-id> switches')
    .option('--finish-previous', 'first finish an earlier deploy of the role that keeps its old fleet')
    .action(async (flags) => {
      code = await runReplace(flags, io);
    });
  deployCommand('plan', 'print what replace would do, and change nothing')
    .option('--out <file>', 'save the plan for replace --plan', single('--out'))
    .action(async (flags) => {
      code = await runReplace({ ...flags, dryRun: true }, io);
    });
  const byId = (name: string, description: string) =>
    program
      .command(`${name} <deploy-id>`)
      .description(description)
      .addOption(configOption())
      .option('--env <env>', 'environment (default: from the journal)', single('--env'))
      .option('--role <role>', 'role (default: from the journal; needed when the journal is gone)', single('--role'))
      .addOption(jsonOption())
      .addOption(journalOption());
  for (const [name, description] of [
    ['resume', 'finish a deploy from where it stopped'],
    ['rollback', 'undo a deploy: new instances terminated, old fleet restored'],
    ['finish', 'end the rollback window of a deploy: terminate and retire the old instances it keeps'],
    ['cutover', 'switch a held deploy: register and verify the new fleet, then retire the old one'],
  ] as const) {
    byId(name, description).action(async (deployId: string, flags) => {
      code = await runRecover(name, deployId, flags, io, RECOVER_ACTS[name]);
    });
  }
  byId('shrink', 'terminate part of the old fleet a deploy keeps, AZs balanced')
    .requiredOption(
      '--to <count>',
      'old instances left running: a number, or a percentage of the kept fleet (50%)',
      single('--to', checkShrinkTarget),
    )
    .action(async (deployId: string, flags) => {
      code = await runRecover('shrink', deployId, flags, io, (spec, id, deps, signal) => shrinkKept(spec, id, flags.to, deps, signal));
    });
  program
    .command('status [deploy-id]')
    .description('what a deploy did, where it stopped, and what runs now; without an id, the journal')
    .addOption(configOption())
    .addOption(journalOption())
    .option('--json', 'print JSON')
    .action(async (deployId: string | undefined, flags) => {
      code = await runStatus(deployId, flags, io);
    });
  program
    .command('iam-policy')
    .description('print the least IAM policy that deploying the role needs (JSON)')
    .addOption(configOption())
    .option('--env <env>', 'environment (default: defaultEnv, or the only one)', single('--env'))
    .requiredOption('--role <role>', 'role to deploy', single('--role'))
    .action(async (flags) => {
      code = await runIamPolicy(flags, io);
    });
  program
    .command('sandbox')
    .description('serve a simulated Mackerel + EC2 + ELBv2 on loopback, seeded from the config')
    .addOption(configOption())
    .option('--port <port>', 'port to listen on (0: any free one)', single('--port', checkPort), 4580)
    .option('--api-key <key>', 'the Mackerel API key the sandbox accepts', single('--api-key'), 'sandbox')
    .action(async (flags) => {
      code = await runSandbox(flags, io);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.refused;
    // A flag's value refused by its parser, before any command ran.
    if (error instanceof UsageError) return reportError(error, io);
    throw error;
  }
};
