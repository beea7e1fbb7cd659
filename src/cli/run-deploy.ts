import { type Config, loadConfig, resolveRole } from '../config/load.js';
import type { Deps, Outcome } from '../rollout/deploy.js';
import type { Plan } from '../rollout/plan.js';
import type { Finished } from '../rollout/resume.js';
import type { Snapshot } from '../rollout/snapshot.js';
import type { RoleSpec } from '../rollout/spec.js';
import { EXIT, type Io, interruptCode, reportError } from './io.js';
import { pasteable, pasteableIo } from './commands.js';
import { proveWritable } from './journal-dir.js';
import { DEFAULT_JOURNAL_DIR } from './journal-file.js';
import { redactEnvSecrets } from './redact.js';
import { renderHeld, renderKept } from './render-window.js';
import { renderEvent, renderFailure, renderPlan, renderSummary } from './render.js';
import { type JsonOutcome, jsonEvent, jsonOutcome } from './render-json.js';
import { reportCollector } from './report-data.js';
import { checkReportPaths, errorOutcome, writeReports } from './report-file.js';
import { buildDeps, targetOf } from './wiring.js';

export interface DeployFlags {
  readonly config: string;
  readonly env?: string;
  readonly role: string;
  readonly journalDir?: string;
  /** Changes nothing, so needs no journal folder. */
  readonly dryRun?: boolean;
  /** `--json`: NDJSON events on stdout, ending with the outcome line; stderr stays human text. */
  readonly json?: boolean;
  /** `--report FILE.html|FILE.json`: the run's report, written however it ends. */
  readonly report?: readonly string[];
}

/** What a command may ask of the person running it, between the plan and the first change. */
export interface Prompt {
  /** Shows the plan and asks to proceed; true only for a yes. */
  confirm(planned: { readonly plan: Plan; readonly snapshot: Snapshot }): Promise<boolean>;
}

export type AnyOutcome = Outcome | Finished | { readonly kind: 'planned'; readonly plan: Plan; readonly snapshot: Snapshot };

const stamp = (): string => new Date().toISOString().slice(11, 19);

/**
 * Loads the role, proves the journal folder writable, wires the real adapters with a progress
 * renderer, runs `act`, and reports the outcome as an exit code. Every recovery command printed
 * carries this run's flags.
 */
export const runDeploy = async (
  flags: DeployFlags,
  io: Io,
  act: (spec: RoleSpec, deps: Deps, config: Config, prompt: Prompt) => Promise<AnyOutcome>,
): Promise<number> => {
  const json = flags.json === true;
  const journalDir = flags.journalDir ?? DEFAULT_JOURNAL_DIR;
  let say = io;
  const reports = flags.report ?? [];
  let collector: ReturnType<typeof reportCollector> | undefined;
  const saveReport = async (outcome: JsonOutcome, code: number) => {
    if (!collector) return;
    for (const problem of await writeReports(reports, collector.finish(outcome, code, Date.now()), io.env)) say.err(`warning: ${problem}`);
  };
  try {
    if (reports.length > 0) {
      await checkReportPaths(reports);
      collector = reportCollector(Date.now());
    }
    const config = await loadConfig(flags.config);
    const spec = await resolveRole(config, { env: flags.env, role: flags.role });
    const target = targetOf(config, spec.env);
    const redact = (text: string) => redactEnvSecrets(text, io.env);
    const where = { config: flags.config, env: spec.env, role: spec.role, journalDir };
    say = pasteableIo(io, where);
    if (!flags.dryRun) await proveWritable(journalDir);
    // In --json mode stdout carries only NDJSON: the human lines of a success are left out (the outcome carries them).
    const log = (text: string) => {
      if (json) return;
      // A hook's output is the one thing printed that the tool did not write itself.
      for (const line of redact(text).split('\n')) say.out(`[${stamp()}] ${line}`);
    };
    const out = say.out;
    const deps = buildDeps(io.env, target, journalDir, (event) => {
      collector?.add(event, Date.now());
      if (event.type === 'deploy.started') {
        const command = (action: string) => pasteable(`mackerel-replacer ${action} ${event.deployId}`, where);
        io.onDeploy?.({ rollback: command('rollback'), resume: command('resume') });
      }
      if (json) {
        out(redact(jsonEvent(event, Date.now())));
        return;
      }
      const line = renderEvent(event);
      if (line) log(line);
    });
    const prompt: Prompt = {
      confirm: async ({ plan, snapshot }) => {
        for (const line of renderPlan(plan, snapshot, spec)) (json ? say.err : log)(line);
        const answer = await io.ask?.('Proceed? [y/N] ', io.signal);
        return /^\s*y(es)?\s*$/i.test(answer ?? '');
      },
    };
    const outcome = await act(spec, deps, config, prompt);
    const code = report(outcome, spec, say, log);
    if (json) out(redact(jsonOutcome(asJson(outcome), code, Date.now())));
    await saveReport(asJson(outcome), code);
    return code;
  } catch (error) {
    const code = reportError(error, say);
    await saveReport(errorOutcome(error, io.signal), code);
    return code;
  }
};

const asJson = (outcome: AnyOutcome): JsonOutcome => {
  switch (outcome.kind) {
    case 'planned':
      return {
        kind: 'planned',
        deployId: outcome.plan.deployId,
        plan: outcome.plan,
        old: outcome.snapshot.members,
        oldImages: outcome.snapshot.images,
        ...(outcome.snapshot.held.length > 0 && { held: outcome.snapshot.held }),
      };
    case 'replaced':
      return { kind: 'replaced', deployId: outcome.summary.deployId, summary: outcome.summary };
    case 'finished':
      return { kind: 'finished', deployId: outcome.deployId, status: outcome.status };
    case 'rolled-back': {
      const { deployId, reason, requested, aborted, waves, journal } = outcome;
      return { kind: 'rolled-back', deployId, reason, requested, aborted, ...(waves && { waves }), ...(journal && { journal }) };
    }
    case 'incomplete':
      return {
        kind: 'incomplete',
        deployId: outcome.deployId,
        reason: outcome.reason,
        leftovers: outcome.leftovers.map(({ what, fix }) => ({ what, fix })),
      };
    case 'interrupted':
      return { kind: 'interrupted', deployId: outcome.deployId, step: outcome.step };
    case 'kept':
      return { kind: 'kept', deployId: outcome.deployId, keptUntil: new Date(outcome.keptUntil).toISOString(), kept: outcome.kept };
    case 'held':
      return { kind: 'held', deployId: outcome.deployId, registered: outcome.registered, held: outcome.held };
  }
};

const report = (outcome: AnyOutcome, spec: RoleSpec, io: Io, log: (line: string) => void): number => {
  switch (outcome.kind) {
    case 'planned':
      for (const line of renderPlan(outcome.plan, outcome.snapshot, spec)) log(line);
      return EXIT.ok;
    case 'replaced':
      for (const line of renderSummary(outcome.summary)) log(line);
      return EXIT.ok;
    case 'finished':
      log(`deploy ${outcome.deployId} is already ${outcome.status}; nothing to do`);
      return EXIT.ok;
    case 'rolled-back':
      if (outcome.requested) {
        for (const line of renderFailure(outcome)) log(line);
        return EXIT.ok;
      }
      for (const line of renderFailure(outcome)) io.err(line);
      return outcome.aborted ? interruptCode(io.signal) : EXIT.rolledBack;
    case 'incomplete':
      for (const line of renderFailure(outcome)) io.err(line);
      return EXIT.incomplete;
    case 'interrupted':
      io.err(`interrupted before ${outcome.step}: the new fleet is verified and serving; the old one is not yet fully retired`);
      io.err(`  finish it with: mackerel-replacer resume ${outcome.deployId}`);
      return interruptCode(io.signal);
    case 'kept':
      for (const line of renderKept(outcome)) log(line);
      return EXIT.ok;
    case 'held':
      for (const line of renderHeld(outcome)) log(line);
      return EXIT.ok;
  }
};
