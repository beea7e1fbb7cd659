#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=100
// The flags above make V8 collect the AWS SDK's XML parsing garbage early: a small young generation,
// and an old one that grows to twice what survives a full collection rather than up to four times.
// A 2,000-instance deploy peaks about 40 MB lower (README "Performance"). They must be startup
// flags: v8.setFlagsFromString after start leaves the heap as it was.
import nodeModule from 'node:module';
import { createInterface } from 'node:readline/promises';
import { BUG, EXIT, reportBug } from './io.js';
import { lineWriter } from './line-writer.js';
import { main } from './main.js';
import { STOP_SIGNALS, type StopSignal, signalPolicy } from './signals.js';

// Node 22 and later keep the code they compile on disk (os.tmpdir()/node-compile-cache, or
// $NODE_COMPILE_CACHE; NODE_DISABLE_COMPILE_CACHE=1 turns it off): the AWS SDK, loaded at the first
// AWS call, then loads in about half the time. Node 20 has no such cache.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

// First SIGINT/SIGTERM/SIGHUP: abort, so the engine rolls back what it can (or, past verification,
// finishes the step in flight) and main returns 130/143/129. The same signal again within 2s is the
// supervisor's process-group delivery and is ignored; a later one, or a third, exits at once: the
// journal is written atomically after every step, so it stays consistent.
const interrupt = new AbortController();
const decide = signalPolicy();
let recovery: { readonly rollback: string; readonly resume: string } | undefined;
const out = lineWriter(process.stdout);
const err = lineWriter(process.stderr);
const onSignal = (name: StopSignal) => () => {
  switch (decide()) {
    case 'stop':
      err(`${name}: stopping safely (a second signal after 2s, or a third, exits at once)`);
      interrupt.abort(name);
      return;
    case 'repeat':
      err(`${name} again within 2s: taken as the same signal (sent to the process group); still stopping safely`);
      return;
    case 'exit':
      err(`${name} again: exiting at once; the deploy may be half done`);
      if (recovery) {
        err(`  undo it with:   ${recovery.rollback}`);
        err(`  or finish it:   ${recovery.resume}`);
      }
      process.exit(STOP_SIGNALS[name]);
  }
};
for (const name of Object.keys(STOP_SIGNALS) as StopSignal[]) process.on(name, onSignal(name));

// An error nothing caught (a bug in a callback) stops the run as a signal does, so the engine rolls
// back what it started, or records where it stopped, before the process exits 1.
let bug = false;
const onBug = (error: unknown) => {
  if (!bug) {
    bug = true;
    reportBug(error, { err, env: process.env });
    err('stopping safely before exiting');
  }
  interrupt.abort(BUG);
};
process.on('uncaughtException', onBug);
process.on('unhandledRejection', onBug);

const code = await main(process.argv.slice(2), {
  out,
  err,
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
process.exitCode = bug ? EXIT.bug : code;
for (const name of Object.keys(STOP_SIGNALS)) process.removeAllListeners(name);
