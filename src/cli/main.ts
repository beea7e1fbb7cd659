import { Command, CommanderError, Option } from 'commander';
import { UsageError } from '../rollout/errors.js';
import { checkAmi, checkBatch, checkCanary, checkPort, collectVars, single } from './flags.js';
import { redactEnvSecrets } from './redact.js';
import { jsonOutcome } from './render-json.js';
import { EXIT, type Io, reportError, shorten } from './io.js';
import { DEFAULT_JOURNAL_DIR } from './journal-dir.js';
import { collectReports } from './report-file.js';
import { toolVersion } from './version.js';
import { checkKeepOld, checkShrinkTarget } from './window-flags.js';

const configOption = () => new Option('--config <file>', 'configuration file').default('./replacer.yml').argParser(single('--config'));
const journalOption = () =>
  new Option('--journal-dir <dir>', 'where deploy records are kept')
    .env('MACKEREL_REPLACER_JOURNAL_DIR')
    .default(DEFAULT_JOURNAL_DIR)
    .argParser(single('--journal-dir'));

const jsonOption = () =>
  new Option('--json', 'NDJSON events on stdout (schema in the README), the last line the outcome with the exit code');

const reportOption = () =>
  new Option('--report <file>', 'write a report of the run to FILE.html (a page) or FILE.json, however it ends (repeatable)').argParser(
    collectReports(),
  );

/** The commands whose `--json` prints NDJSON events ending with an outcome line. */
const JSON_COMMANDS = new Set(['replace', 'plan', 'resume', 'rollback', 'finish', 'cutover', 'shrink', 'recover']);

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

// Each command's module is imported when it runs, so `--help` loads neither the SDK nor the engine.
const run = async (argv: readonly string[], io: Io): Promise<number> => {
  let code: number = EXIT.ok;
  const program = new Command('mackerel-replacer')
    .description('Replace every EC2 instance of a Mackerel role with fresh ones from the newest AMI')
    .version(toolVersion(), '--version', 'print the version')
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
      .option(
        '--batch <size>',
        'replace in waves of this many instances, or this share of the fleet ("25%")',
        single('--batch', checkBatch),
      )
      .option('--canary <n>', 'first replace n instances in one AZ, through every gate, then the rest', single('--canary', checkCanary))
      .option('--finish-previous', 'first finish an earlier deploy of the role that keeps its old fleet')
      .addOption(jsonOption())
      .addOption(journalOption());

  deployCommand('replace', 'replace every instance of the role')
    .option('--dry-run', 'stop after printing the plan')
    .option('--force-unlock <id>', 'ignore the lock of this deploy, known dead and cleaned up', single('--force-unlock'))
    .option('--plan <file>', 'apply exactly this reviewed plan (plan --out), or refuse if the role or the image changed', single('--plan'))
    .option('--yes', 'do not ask before acting (only ever asked on a terminal)')
    .addOption(reportOption())
    .option(
      '--keep-old <duration>',
      'after cutover keep the old instances running (deregistered, standby) this long: finish, shrink or rollback',
      single('--keep-old', checkKeepOld),
    )
    .option('--hold', 'stop once the new fleet is verified, the old one still serving; cutover <deploy-id> switches')
    .action(async (flags) => {
      code = await (await import('./replace.js')).runReplace(flags, io);
    });
  deployCommand('plan', 'print what replace would do, and change nothing')
    .option('--out <file>', 'save the plan for replace --plan', single('--out'))
    .action(async (flags) => {
      code = await (await import('./replace.js')).runReplace({ ...flags, dryRun: true }, io);
    });
  const byId = (name: string, description: string) =>
    program
      .command(`${name} <deploy-id>`)
      .description(description)
      .addOption(configOption())
      .option('--env <env>', 'environment (default: from the journal)', single('--env'))
      .option('--role <role>', 'role (default: from the journal; needed when the journal is gone)', single('--role'))
      .addOption(jsonOption())
      .addOption(reportOption())
      .addOption(journalOption());
  for (const [name, description] of [
    ['resume', 'finish a deploy from where it stopped'],
    ['rollback', 'undo a deploy: new instances terminated, old fleet restored'],
    ['finish', 'end the rollback window of a deploy: terminate and retire the old instances it keeps'],
    ['cutover', 'switch a held deploy: register and verify the new fleet, then retire the old one'],
  ] as const) {
    byId(name, description).action(async (deployId: string, flags) => {
      const { RECOVER_ACTS, runRecover } = await import('./recover.js');
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
      const [{ runRecover }, { shrinkKept }] = await Promise.all([import('./recover.js'), import('../rollout/finish.js')]);
      code = await runRecover('shrink', deployId, flags, io, (spec, id, deps, signal) => shrinkKept(spec, id, flags.to, deps, signal));
    });
  program
    .command('recover')
    .description("roll back or finish the role's unfinished deploy, whatever stopped it: what a supervisor runs after a failure")
    .addOption(configOption())
    .option('--env <env>', 'environment (default: defaultEnv, or the only one)', single('--env'))
    .requiredOption('--role <role>', 'the role', single('--role'))
    .option('--keep-held', 'leave a held deploy as it is instead of rolling it back')
    .addOption(jsonOption())
    .addOption(journalOption())
    .action(async (flags) => {
      code = await (await import('./recover-role.js')).runRecoverRole(flags, io);
    });
  program
    .command('status [deploy-id]')
    .description('what a deploy did, where it stopped, and what runs now; without an id, the journal')
    .addOption(configOption())
    .addOption(journalOption())
    .option('--env <env>', 'with --role: where to look for a deploy the journal does not hold', single('--env'))
    .option('--role <role>', "a deploy the journal does not hold (another machine's): rebuild it from AWS tags", single('--role'))
    .option('--json', 'print JSON')
    .action(async (deployId: string | undefined, flags) => {
      code = await (await import('./status.js')).runStatus(deployId, flags, io);
    });
  const roleCommand = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .addOption(configOption())
      .option('--env <env>', 'environment (default: defaultEnv, or the only one)', single('--env'))
      .requiredOption('--role <role>', 'the role', single('--role'));
  roleCommand('hosts', "list the role's hosts: instance, AZ, AMI, Mackerel host and status, health in each target group; changes nothing")
    .option('--json', 'print JSON')
    .action(async (flags) => {
      code = await (await import('./hosts.js')).runHosts(flags, io);
    });
  roleCommand('iam-policy', 'print the least IAM policy that deploying the role needs (JSON)').action(async (flags) => {
    code = await (await import('./iam-policy.js')).runIamPolicy(flags, io);
  });
  program
    .command('sandbox')
    .description('serve a simulated Mackerel + EC2 + ELBv2 on loopback, seeded from the config')
    .addOption(configOption())
    .option('--port <port>', 'port to listen on (0: any free one)', single('--port', checkPort), 4580)
    .option('--api-key <key>', 'the Mackerel API key the sandbox accepts', single('--api-key'), 'sandbox')
    .action(async (flags) => {
      code = await (await import('./sandbox.js')).runSandbox(flags, io);
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
