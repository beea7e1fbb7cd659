import { JournalError, message } from './errors.js';
import type { DeployAction, Emit, Phase } from './events.js';
import type { Balancer, Capacity, Clock, Fleet, Hooks, Journal, Monitor, RunnerState, Subnet } from './ports.js';
import type { DeployRecord, DeployStatus } from './record.js';
import type { RoleSpec } from './spec.js';

export interface Deps {
  readonly fleet: Fleet;
  readonly balancer: Balancer;
  readonly capacity: Capacity;
  readonly monitor: Monitor;
  readonly journal: Journal;
  readonly hooks: Hooks;
  readonly clock: Clock;
  readonly emit: Emit;
  /** `hostname:pid`, recorded so an operator can tell where a deploy runs. */
  readonly runner: string;
  /** Whether the process a record or a lock names still runs. */
  readonly runnerState: (runner: string) => RunnerState;
}

/** One deploy in progress: its spec, its durable record, and how to time and save steps. */
export interface Deployment {
  readonly spec: RoleSpec;
  readonly deps: Deps;
  readonly record: DeployRecord;
  readonly subnets: readonly Subnet[];
  /** How long targets may take to drain (see drainTimeout). */
  readonly drainMs: number;
  /** The operator's interrupt. */
  readonly signal: AbortSignal;
  readonly phaseMs: Partial<Record<Phase, number>>;
  /** Why the journal could not save the record, from its first failure on: the record there is out of date. */
  journalFailure?: string;
}

/** Runs one phase, emitting its start and end and recording its duration. */
export const timed = async <T>(run: Pick<Deployment, 'deps' | 'phaseMs'>, phase: Phase, body: () => Promise<T>): Promise<T> => {
  const { clock, emit } = run.deps;
  emit({ type: 'phase.started', phase });
  const t0 = clock.now();
  const result = await body();
  const ms = clock.now() - t0;
  run.phaseMs[phase] = (run.phaseMs[phase] ?? 0) + ms;
  emit({ type: 'phase.done', phase, ms });
  return result;
};

/** Every change of a deploy's status goes through here, and is saved at once. */
export const setStatus = (run: Deployment, status: DeployStatus): Promise<void> => {
  run.record.status = status;
  return save(run);
};

/**
 * Persists the record; called before and after every step that changes the world. A failed save
 * stops a deploy going forward (throws a JournalError, so nothing new starts); while the deploy is
 * undone or ends, it is remembered and the undo goes on, as AWS's tags carry the state.
 */
export const save = async (run: Deployment): Promise<void> => {
  run.record.updatedAt = run.deps.clock.now();
  try {
    await run.deps.journal.save(run.record);
  } catch (error) {
    if (run.journalFailure === undefined) {
      run.journalFailure = message(error);
      run.deps.emit({ type: 'warning', message: `the journal cannot keep the deploy's record: ${run.journalFailure}` });
    }
    if (run.record.status === 'running') throw new JournalError(message(error));
  }
};

/** The first event of every deploy command: which deploy, of what, and in which mode. */
export const announce = (deps: Deps, action: DeployAction, deployId: string, spec: RoleSpec): void =>
  deps.emit({
    type: 'deploy.started',
    action,
    deployId,
    env: spec.env,
    role: spec.role,
    service: spec.service,
    mode: spec.targetGroups.length > 0 ? 'web' : 'worker',
  });
