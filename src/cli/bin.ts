#!/usr/bin/env node
import { main } from './main.js';

// First SIGINT/SIGTERM: abort, so the engine rolls back what it can and main returns 130/143.
// Second: exit at once.
const interrupt = new AbortController();
const onSignal = (name: 'SIGINT' | 'SIGTERM') => () => {
  if (interrupt.signal.aborted) {
    process.stderr.write(`${name} again: exiting at once; the deploy may be left half done\n`);
    process.exit(name === 'SIGTERM' ? 143 : 130);
  }
  process.stderr.write(`${name}: stopping; undoing what this deploy changed (send it again to exit at once)\n`);
  interrupt.abort(name);
};
process.on('SIGINT', onSignal('SIGINT'));
process.on('SIGTERM', onSignal('SIGTERM'));

const code = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  signal: interrupt.signal,
});
process.exitCode = code;
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
