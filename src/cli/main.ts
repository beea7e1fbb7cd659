import { Command, CommanderError, Option } from 'commander';
import { EXIT, type Io } from './io.js';
import { runReplace } from './replace.js';
import { runSandbox } from './sandbox.js';

const configOption = () => new Option('--config <file>', 'configuration file').default('./replacer.yml');

/** Parses argv, runs one command, and returns its exit code. Never calls process.exit. */
export const main = async (argv: readonly string[], io: Io): Promise<number> => {
  let code: number = EXIT.replaced;
  const program = new Command('mackerel-replacer')
    .description('Replace every EC2 instance of a Mackerel role with fresh ones from the newest AMI')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text.trimEnd()), writeErr: (text) => io.err(text.trimEnd()) });

  const deployCommand = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .addOption(configOption())
      .option('--env <env>', 'environment (default: defaultEnv, or the only one)')
      .requiredOption('--role <role>', 'role to replace')
      .option('--ami <id>', 'launch this AMI instead of the newest match');

  deployCommand('replace', 'replace every instance of the role')
    .option('--dry-run', 'stop after printing the plan')
    .action(async (flags) => {
      code = await runReplace(flags, io);
    });
  deployCommand('plan', 'print what replace would do, and change nothing').action(async (flags) => {
    code = await runReplace({ ...flags, dryRun: true }, io);
  });
  program
    .command('sandbox')
    .description('serve a simulated Mackerel + EC2 + ELBv2 on loopback, seeded from the config')
    .addOption(configOption())
    .option('--port <port>', 'port to listen on', '4580')
    .option('--api-key <key>', 'the Mackerel API key the sandbox accepts', 'sandbox')
    .action(async (flags) => {
      code = await runSandbox(flags, io);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.replaced : EXIT.refused;
    throw error;
  }
};
