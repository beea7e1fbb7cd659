import { type Config, loadConfig, resolveRole } from '../config/load.js';
import type { Deps } from '../rollout/context.js';
import { UsageError } from '../rollout/errors.js';
import { describeHolder, describeStatus } from '../rollout/lock.js';
import type { Call, Holder } from '../rollout/ports.js';
import { recoverRecord } from '../rollout/recovery.js';
import { type DeployRecord, launchedIds } from '../rollout/record.js';
import { observeGroups } from '../rollout/verify.js';
import { groupName } from '../rollout/verdicts.js';
import { pasteable } from './commands.js';
import { EXIT, type Io, reportError } from './io.js';
import { renderKeptStatus } from './render-window.js';
import { DEFAULT_JOURNAL_DIR, createFileJournal } from './journal-file.js';
import { runnerState } from './runner.js';
import { buildDeps, targetOf } from './wiring.js';

export interface StatusFlags {
  readonly config: string;
  readonly journalDir?: string;
  readonly json?: boolean;
  /** With `role`: where to look for a deploy the journal does not hold (another machine's). */
  readonly env?: string;
  readonly role?: string;
}

/**
 * A deploy whose runner died on this machine stays "running" in its record until resumed or rolled
 * back; the command working on it now, if any, holds its lock.
 */
const line = (record: DeployRecord, holder: Holder | undefined): string => {
  const working = holder && runnerState(holder.runner) !== 'gone';
  const state = working ? record.status : describeStatus(record, runnerState(record.runner));
  const started = `${record.deployId}  ${record.env}/${record.role}  ${state} at ${record.step}  started ${new Date(record.startedAt).toISOString()} on ${record.runner}`;
  return working ? `${started}  worked on by ${describeHolder(holder)}` : started;
};

const whereOf = (flags: StatusFlags, record: DeployRecord) => ({
  config: flags.config,
  env: record.env,
  role: record.role,
  journalDir: flags.journalDir ?? DEFAULT_JOURNAL_DIR,
});

/** A deploy of another machine: its record rebuilt from AWS tags, as resume and rollback would. */
const rebuilt = async (
  deployId: string,
  choice: { readonly env?: string; readonly role: string },
  config: Config,
  deps: Deps,
  call: Call,
): Promise<DeployRecord> => {
  const spec = await resolveRole(config, choice);
  const record = await recoverRecord(spec, deployId, deps, Date.now(), call);
  if (!record) {
    throw new UsageError(
      `deploy ${deployId} is not in the journal, and no instance of ${spec.env}/${spec.role} in AWS carries its tag`,
      'check the id, --env, --role and --journal-dir',
    );
  }
  return record;
};

/** Without an id: every deploy in the journal. With one: its record and a fresh look at AWS and Mackerel. */
export const runStatus = async (deployId: string | undefined, flags: StatusFlags, io: Io): Promise<number> => {
  try {
    const journal = createFileJournal(flags.journalDir ?? DEFAULT_JOURNAL_DIR);
    if (!deployId) {
      const records = await journal.list();
      if (flags.json) io.out(JSON.stringify(records));
      else
        for (const record of records) {
          io.out(line(record, await journal.holder(record.deployId)));
          for (const kept of renderKeptStatus(record, Date.now())) io.out(pasteable(kept, whereOf(flags, record)));
        }
      if (!flags.json && records.length === 0) io.out(`no deploys in ${flags.journalDir ?? DEFAULT_JOURNAL_DIR}`);
      return EXIT.ok;
    }
    const journaled = await journal.load(deployId);
    if (!journaled && flags.role === undefined) {
      throw new UsageError(
        `deploy ${deployId} is not in the journal (${flags.journalDir ?? DEFAULT_JOURNAL_DIR})`,
        'to rebuild it from AWS tags, pass its --role (and --env)',
      );
    }
    const config = await loadConfig(flags.config);
    const env = journaled?.env ?? (await resolveRole(config, { env: flags.env, role: flags.role! })).env;
    const deps = buildDeps(io.env, targetOf(config, env), flags.journalDir ?? DEFAULT_JOURNAL_DIR, () => {});
    const call = { signal: io.signal };
    const record = journaled ?? (await rebuilt(deployId, { env, role: flags.role! }, config, deps, call));
    const spec = await resolveRole(config, { env: record.env, role: record.role });
    const newIds = launchedIds(record);
    const oldIds = record.snapshot.map((member) => member.instanceId);
    const [instances, groups, hosts] = await Promise.all([
      deps.fleet.describe([...newIds, ...oldIds], call),
      observeGroups(deps.balancer, spec.targetGroups, call),
      deps.monitor.hosts(spec.service, spec.role, call),
    ]);
    const look = (id: string) => ({
      id,
      state: instances.find((instance) => instance.id === id)?.state ?? 'gone',
      targets: groups.map((group) => `${groupName(group.arn)}: ${group.targets.find((t) => t.id === id)?.state ?? 'not registered'}`),
      host: hosts.find((host) => host.instanceId === id)?.status ?? 'no live host',
    });
    const now = { new: newIds.map(look), old: oldIds.map(look) };
    if (flags.json) {
      io.out(JSON.stringify({ record, now }));
      return EXIT.ok;
    }
    io.out(line(record, await journal.holder(deployId)));
    if (!journaled)
      io.out(`  rebuilt from the instances' tags in AWS: the journal (${flags.journalDir ?? DEFAULT_JOURNAL_DIR}) has no record of it`);
    if (record.reason) io.out(`  reason: ${record.reason}`);
    const where = whereOf(flags, record);
    for (const kept of renderKeptStatus(record, Date.now())) io.out(pasteable(kept, where));
    for (const left of record.leftovers) io.out(`  left: ${left.what}\n    ${pasteable(left.fix, where)}`);
    for (const [side, looks] of Object.entries(now)) {
      for (const it of looks)
        io.out(`  ${side} ${it.id}: EC2 ${it.state}; Mackerel ${it.host}${it.targets.length ? `; ${it.targets.join(', ')}` : ''}`);
    }
    return EXIT.ok;
  } catch (error) {
    return reportError(error, io);
  }
};
