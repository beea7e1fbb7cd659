#!/usr/bin/env node
import { main } from './main.js';

// First SIGINT/SIGTERM: abort, so the engine rolls back what it can (or, past verification,
// finishes the step in flight) and main returns 130/143. Second: exit at once; the journal is
// written atomically after every step, so it stays consistent.
const interrupt = new AbortController();
let deployId: string | undefined;
const onSignal = (name: 'SIGINT' | 'SIGTERM') => () => {
  if (interrupt.signal.aborted) {
    process.stderr.write(`${name} again: exiting at once; the deploy may be half done\n`);
    if (deployId) {
      process.stderr.write(`  undo it with:   mackerel-replacer rollback ${deployId}\n`);
      process.stderr.write(`  or finish it:   mackerel-replacer resume ${deployId}\n`);
    }
    process.exit(name === 'SIGTERM' ? 143 : 130);
  }
  process.stderr.write(`${name}: stopping safely (send it again to exit at once)\n`);
  interrupt.abort(name);
};
process.on('SIGINT', onSignal('SIGINT'));
process.on('SIGTERM', onSignal('SIGTERM'));

process.exitCode = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  signal: interrupt.signal,
  onDeploy: (id) => {
    deployId = id;
  },
});
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
