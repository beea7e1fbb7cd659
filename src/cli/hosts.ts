import { loadConfig, resolveRole } from '../config/load.js';
import { type RoleHost, type TargetLook, roleHosts } from '../rollout/role-hosts.js';
import { groupName } from '../rollout/verdicts.js';
import { EXIT, type Io, reportError } from './io.js';
import { DEFAULT_JOURNAL_DIR } from './journal-file.js';
import { buildDeps, targetOf } from './wiring.js';

export interface HostsFlags {
  readonly config: string;
  readonly env?: string;
  readonly role: string;
  readonly json?: boolean;
}

const health = (target: TargetLook): string => (target.reason ? `${target.state} (${target.reason})` : target.state);

/** Columns padded to their widest cell, two spaces apart. */
const table = (rows: readonly (readonly string[])[]): string[] => {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd(),
  );
};

const cells = (host: RoleHost): string[] => [
  host.instanceId ?? '-',
  host.instanceState,
  host.az ?? '-',
  host.imageId ?? '-',
  host.hostId ?? 'no Mackerel host',
  host.hostStatus ?? '-',
  ...host.targets.map(health),
];

/** `hosts`: the role's hosts as Mackerel, EC2 and the target groups see them now. Changes nothing. */
export const runHosts = async (flags: HostsFlags, io: Io): Promise<number> => {
  try {
    const config = await loadConfig(flags.config);
    const spec = await resolveRole(config, { env: flags.env, role: flags.role });
    const deps = buildDeps(io.env, targetOf(config, spec.env), DEFAULT_JOURNAL_DIR, () => {});
    const hosts = await roleHosts(spec, deps, { signal: io.signal });
    if (flags.json) {
      io.out(JSON.stringify({ env: spec.env, role: spec.role, service: spec.service, hosts }));
      return EXIT.ok;
    }
    io.out(`${spec.service}:${spec.role} (${spec.env}): ${hosts.length} hosts`);
    if (hosts.length === 0) return EXIT.ok;
    const header = ['INSTANCE', 'EC2', 'AZ', 'AMI', 'HOST', 'STATUS', ...spec.targetGroups.map(groupName)];
    for (const line of table([header, ...hosts.map(cells)])) io.out(`  ${line}`);
    return EXIT.ok;
  } catch (error) {
    return reportError(error, io);
  }
};
