#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=100
// The flags above make V8 collect the AWS SDK's XML parsing garbage early: a small young generation,
// and an old one that grows to twice what survives a full collection rather than up to four times.
// A 2,000-instance deploy peaks about 40 MB lower (README "Performance"). They must be startup
// flags: v8.setFlagsFromString after start leaves the heap as it was.
import nodeModule from 'node:module';
import { createInterface } from 'node:readline/promises';
import { main } from './main.js';
import { signalPolicy } from './signals.js';

// Node 22 and later keep the code they compile on disk (os.tmpdir()/node-compile-cache, or
// $NODE_COMPILE_CACHE; NODE_DISABLE_COMPILE_CACHE=1 turns it off): the AWS SDK, loaded at the first
// AWS call, then loads in about half the time. Node 20 has no such cache.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

// First SIGINT/SIGTERM: abort, so the engine rolls back what it can (or, past verification,
// finishes the step in flight) and main returns 130/143. The same signal again within 2s is the
// supervisor's process-group delivery and is ignored; a later one, or a third, exits at once: the
// journal is written atomically after every step, so it stays consistent.
const interrupt = new AbortController();
const decide = signalPolicy();
let recovery: { readonly rollback: string; readonly resume: string } | undefined;
const say = (line: string) => process.stderr.write(`${line}\n`);
const onSignal = (name: 'SIGINT' | 'SIGTERM') => () => {
  switch (decide()) {
    case 'stop':
      say(`${name}: stopping safely (a second signal after 2s, or a third, exits at once)`);
      interrupt.abort(name);
      return;
    case 'repeat':
      say(`${name} again within 2s: taken as the same signal (sent to the process group); still stopping safely`);
      return;
    case 'exit':
      say(`${name} again: exiting at once; the deploy may be half done`);
      if (recovery) {
        say(`  undo it with:   ${recovery.rollback}`);
        say(`  or finish it:   ${recovery.resume}`);
      }
      process.exit(name === 'SIGTERM' ? 143 : 130);
  }
};
process.on('SIGINT', onSignal('SIGINT'));
process.on('SIGTERM', onSignal('SIGTERM'));

process.exitCode = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  signal: interrupt.signal,
  interactive: process.stdin.isTTY === true && process.stdout.isTTY === true,
  ask: async (question, signal) => {
    // Not in terminal mode: no line editing, so no cursor movement, and Ctrl-C stays the terminal's SIGINT.
    const lines = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
    // End of input (Ctrl-D) answers nothing: no.
    const closed = new Promise<undefined>((resolve) => lines.once('close', () => resolve(undefined)));
    try {
      return await Promise.race([lines.question(question, { signal }), closed]);
    } catch {
      return undefined;
    } finally {
      lines.close();
    }
  },
  onDeploy: (commands) => {
    recovery = commands;
  },
});
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
