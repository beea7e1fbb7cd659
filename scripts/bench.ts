// `npm run bench`: whole deploys against the sandbox at growing fleet sizes. Prints the wall time
// of each phase and the API calls the tool made, per fleet size. The sandbox's clock runs 100x
// faster than real time, so the durations measure the tool's own overhead and polling, not AWS.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import { sandboxEnv } from '../src/cli/sandbox.js';
import { loadConfig } from '../src/config/load.js';
import { startSandbox } from '../src/sandbox/server.js';

const SIZES = [1, 5, 20, 50];
const SUBNETS = ['subnet-0aaa1111', 'subnet-0ccc3333', 'subnet-0ddd4444'];

const configFor = (perAz: number) => `region: ap-northeast-1
pollInterval: 100ms
environments:
  bench:
    mackerel: { service: bench }
    roles:
      web:
        ami: { owners: [self], name: "bench-web-*" }
        instanceType: t3.small
        subnets: [${SUBNETS.join(', ')}]
        securityGroupIds: [sg-0123abcd]
        perAz: ${perAz}
        maxInstances: 1000
        stableFor: 300ms
        targetGroups: [arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/bench-web/0123456789abcdef]
`;

interface Request {
  api: string;
  action: string;
  by: string;
}

const benchOne = async (perAz: number) => {
  const dir = await mkdtemp(join(tmpdir(), 'mr-bench-'));
  const file = join(dir, 'replacer.yml');
  await writeFile(file, configFor(perAz));
  const config = await loadConfig(file);
  const sandbox = await startSandbox({ config: { ...config, region: 'ap-northeast-1' } });
  Object.assign(process.env, sandboxEnv(sandbox.url, 'sandbox', 'ap-northeast-1'), {
    MACKEREL_REPLACER_JOURNAL_DIR: join(dir, 'journal'),
  });
  const lines: string[] = [];
  const started = performance.now();
  const code = await main(['replace', '--config', file, '--role', 'web'], {
    out: (line) => lines.push(line),
    err: (line) => lines.push(line),
    env: process.env,
    signal: new AbortController().signal,
  });
  const wallMs = performance.now() - started;
  const { requests } = (await (await fetch(`${sandbox.url}/_sandbox/requests`)).json()) as { requests: Request[] };
  await sandbox.close();
  const calls = new Map<string, number>();
  for (const request of requests.filter((r) => r.by === 'client')) {
    calls.set(request.action, (calls.get(request.action) ?? 0) + 1);
  }
  const phases = lines.find((line) => line.includes('phases:'))?.split('phases: ')[1] ?? '(no summary)';
  return { instances: perAz * SUBNETS.length, code, wallMs, phases, calls };
};

console.log(`node ${process.version}; sandbox at 100x; pollInterval 100ms; ${SUBNETS.length} AZs; old fleet = new fleet size`);
for (const perAz of SIZES) {
  const result = await benchOne(perAz);
  const total = [...result.calls.values()].reduce((a, b) => a + b, 0);
  console.log(`\n${result.instances} instances (perAz ${perAz}): exit ${result.code}, ${(result.wallMs / 1000).toFixed(2)}s wall`);
  console.log(`  phases: ${result.phases}`);
  console.log(`  API calls: ${total} (${(total / result.instances).toFixed(1)} per instance)`);
  console.log(
    `  ${[...result.calls]
      .sort((a, b) => b[1] - a[1])
      .map(([action, n]) => `${action} ${n}`)
      .join(', ')}`,
  );
  if (result.code !== 0) process.exitCode = 1;
}
