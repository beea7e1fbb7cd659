// `npm run demo`: starts the sandbox from examples/replacer.yml, replaces the web role and the
// worker role with the real CLI process, and prints what the sandbox saw.
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sandboxEnv } from '../src/cli/sandbox.js';
import { loadConfig } from '../src/config/load.js';
import { startSandbox } from '../src/sandbox/server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const configPath = `${root}examples/replacer.yml`;
const bin = `${root}dist/src/cli/bin.js`;

const run = (args: string[], env: Record<string, string>): Promise<number> =>
  new Promise((resolve) => {
    console.log(`\n$ mackerel-replacer ${args.join(' ')}`);
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, NODE_NO_WARNINGS: '1', ...env },
      stdio: 'inherit',
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });

interface DemoState {
  instances: { id: string; state: string; imageId: string; tags: Record<string, string> }[];
  hosts: { id: string; isRetired: boolean; status: string }[];
  targetGroups: { name: string; minHealthy: number; targets: { id: string; state: string }[] }[];
}

const config = await loadConfig(configPath);
const region = config.region ?? 'ap-northeast-1';
const sandbox = await startSandbox({ config: { ...config, region } });
console.log(`sandbox on ${sandbox.url}, seeded from examples/replacer.yml`);
// The demo's deploy records go to a folder of their own, not into the journal of real deploys.
const journal = await mkdtemp(join(tmpdir(), 'mackerel-replacer-demo-'));
const env = { ...sandboxEnv(sandbox.url, 'sandbox', region), MACKEREL_REPLACER_JOURNAL_DIR: journal };
let failed = 0;
try {
  for (const role of ['web', 'worker']) {
    const code = await run(['replace', '--yes', '--config', configPath, '--role', role], env);
    console.log(`exit code ${code}`);
    if (code !== 0) failed += 1;
  }
  const state = (await (await fetch(`${sandbox.url}/_sandbox/state`)).json()) as DemoState;
  console.log('\nwhat the sandbox holds now:');
  for (const role of ['staging/web', 'staging/worker']) {
    const instances = state.instances.filter((i) => i.tags['mackerel-replacer:role'] === role);
    console.log(`  ${role}: ${instances.map((i) => `${i.id} ${i.state} (${i.imageId})`).join(', ')}`);
  }
  for (const group of state.targetGroups) {
    const targets = group.targets.map((t) => `${t.id} ${t.state}`).join(', ');
    console.log(`  target group ${group.name}: ${targets}; fewest healthy at any time: ${group.minHealthy}`);
  }
  const hosts = state.hosts.filter((h) => !h.isRetired);
  console.log(`  Mackerel: ${hosts.length} live hosts, ${state.hosts.length - hosts.length} retired`);
} finally {
  await sandbox.close();
}
process.exitCode = failed === 0 ? 0 : 1;
