// The pipeline and the CLI cannot drift apart: every `mackerel-replacer …` command line in the
// Jenkinsfile and jenkins/**/*.groovy is extracted, its Groovy expressions are given real values,
// and it runs as the real CLI process against a sandbox seeded from the example configs, as a dry
// run (plan, status, replace --dry-run) or on a deploy it made, expecting exit 0. A Groovy
// expression the table below does not know fails the test, so a pipeline change must come with its
// values here. Which lines the pipeline runs, in what order, is scripts/check-pipeline.sh's check.
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { expectUntouched } from '../integration/expect.js';
import { type World, startWorld } from '../integration/harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'dist/src/cli/bin.js');
const ARTIFACT = 'artifact=s3://reactio-builds/web/app-3f9c2e1.tar.gz';

interface Line {
  readonly where: string;
  readonly text: string;
}

const groovyFiles = async (): Promise<string[]> => {
  const files = [join(ROOT, 'Jenkinsfile')];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.groovy')) files.push(path);
    }
  };
  await walk(join(ROOT, 'jenkins'));
  return files;
};

const VERB = /mackerel-replacer (replace|plan|status|recover|resume|rollback|cutover|finish|shrink|iam-policy|sandbox)\b[^"'()\n]*/g;

/** Every `mackerel-replacer <command> …` in the pipeline's Groovy, up to the end of its string. */
const extract = async (): Promise<Line[]> => {
  const lines: Line[] = [];
  for (const file of await groovyFiles()) {
    const text = await readFile(file, 'utf8');
    text.split('\n').forEach((line, index) => {
      if (line.trimStart().startsWith('//')) return;
      for (const match of line.matchAll(VERB)) {
        lines.push({ where: `${relative(ROOT, file)}:${index + 1}`, text: match[0].trim() });
      }
    });
  }
  return lines;
};

/** The `flags += " --name ${…}"` fragments replaceRole appends, by flag name. */
const flagFragments = async (): Promise<Map<string, string>> => {
  const text = await readFile(join(ROOT, 'jenkins/vars/replaceRole.groovy'), 'utf8');
  const fragments = new Map<string, string>();
  for (const match of text.matchAll(/flags \+= (["'])(.*?)\1\s*$/gm)) {
    const name = /--([a-z-]+)/.exec(match[2]!)![1]!;
    fragments.set(name, match[2]!);
  }
  return fragments;
};

/** Replaces each `${expr}` with values[expr]; an expression without a value fails, naming it. */
const fill = (line: Line, values: Record<string, string>): string =>
  line.text.replace(/\$\{([^}]*)\}/g, (_, expr: string) => {
    const value = values[expr];
    if (value === undefined) throw new Error(`${line.where}: no test value for the Groovy expression \${${expr}} in: ${line.text}`);
    return value;
  });

/** The argv of a shell line: redirections dropped, split on blanks (the pipeline's values carry none). */
const argv = (shell: string): string[] =>
  shell
    .replace(/\s*\d?>\s*\S+/g, '')
    .replace(/\s*\d?>&\d/g, '')
    .trim()
    .split(/\s+/)
    .slice(1);

const run = (world: World, args: string[]) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', ...world.env } },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: `${stdout}${stderr}` });
      },
    );
  });

/** An example config with its userDataFile made absolute, so it loads from the test's folder. */
const example = async (name: string): Promise<string> =>
  (await readFile(join(ROOT, 'examples', name), 'utf8')).replace(
    /userDataFile: (\S+)/g,
    (_, file: string) => `userDataFile: ${join(ROOT, 'examples', file)}`,
  );

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('the pipeline’s mackerel-replacer command lines', () => {
  it('replaceRole appends only flags of replace', async () => {
    const replaceHelp = await new Promise<string>((resolve) =>
      execFile(process.execPath, [BIN, 'replace', '--help'], (_, stdout) => resolve(stdout)),
    );
    const names = [...(await flagFragments()).keys()];
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(replaceHelp).toContain(`--${name}`);
  });

  it('staging, from examples/replacer.yml: replace --dry-run of every web and worker role (with and without --ami), plan, status: exit 0', async () => {
    world = await startWorld(await example('replacer.yml'));
    const lines = (await extract()).filter((line) => line.text.includes('--config'));
    const fragments = await flagFragments();
    const flag = (name: string, value = '') => fragments.get(name)!.replace(/\$\{[^}]*\}/, value);
    const ami = (await world.state()).images.find((image) => image.name.startsWith('reactio-web-'))!.id;
    const cases: Record<string, string>[] = [];
    for (const role of ['web', 'worker']) {
      cases.push({ role, flags: flag('dry-run') });
    }
    cases.push({ role: 'web', flags: flag('ami', ami) + flag('dry-run') });
    // replaceRole's status and cutover lines need a held deploy: the staged cutover test runs them.
    for (const line of lines.filter(
      (l) =>
        (!/ --promote-from staging/.test(l.text) && !l.where.startsWith('jenkins/vars/replaceRole.groovy')) ||
        l.text.startsWith('mackerel-replacer replace'),
    )) {
      for (const values of line.text.includes('replace') ? cases : [{ role: 'web', flags: '' }]) {
        const args = argv(fill(line, { config: world.configPath, 'env.REPLACER_CONFIG': world.configPath, envName: 'staging', ...values }));
        const result = await run(world, args);
        expect(result.code, `${line.where}: mackerel-replacer ${args.join(' ')}\n${result.out}`).toBe(0);
      }
    }
    expect((await world.requests()).filter((request) => request.mutating && request.by === 'client')).toEqual([]);
  });

  it('promotion, from examples/promotion.yml: staging deploys with --var through the replace line, then production plans and dry-runs --promote-from staging: exit 0', async () => {
    world = await startWorld(await example('promotion.yml'));
    const lines = (await extract()).filter((line) => line.text.includes('--config'));
    const fragments = await flagFragments();
    const flag = (name: string, value = '') => fragments.get(name)!.replace(/\$\{[^}]*\}/, value);
    const replace = lines.find((line) => line.text.startsWith('mackerel-replacer replace'))!;
    const base = { config: world.configPath, 'env.REPLACER_CONFIG': world.configPath, role: 'web' };
    // The staging deploy that production promotes from: for real, as the Deploy staging stage runs it.
    const staging = await run(world, argv(fill(replace, { ...base, envName: 'staging', flags: flag('var', ARTIFACT) })));
    expect(staging.code, staging.out).toBe(0);
    const production = [
      argv(fill(replace, { ...base, envName: 'production', flags: flag('promote-from', 'staging') + flag('dry-run') })),
      ...lines
        .filter((line) => line !== replace && !/ (cutover|recover) /.test(line.text))
        .map((line) => argv(fill(line, { envName: 'production', ...base }))),
    ];
    for (const args of production) {
      const result = await run(world, args);
      expect(result.code, `mackerel-replacer ${args.join(' ')}\n${result.out}`).toBe(0);
      if (args[0] === 'plan') expect(result.out).toContain('staging');
    }
  });

  it('staged cutover, from examples/replacer.yml: replace --hold through the replace line, then status finds the held deploy and the cutover line switches it: exit 0', async () => {
    world = await startWorld(await example('replacer.yml'));
    const lines = (await extract()).filter((line) => line.where.startsWith('jenkins/'));
    const fragments = await flagFragments();
    const line = (verb: string) => lines.find((l) => l.text.startsWith(`mackerel-replacer ${verb}`) && l.text.includes('--config'))!;
    const values = { config: world.configPath, envName: 'staging', role: 'web' };
    const held = await run(world, argv(fill(line('replace'), { ...values, flags: fragments.get('hold')! })));
    expect(held.code, held.out).toBe(0);
    const status = await run(world, argv(fill(line('status'), values)));
    expect(status.code, status.out).toBe(0);
    // As heldDeploy in replaceRole.groovy finds it.
    const records: { deployId: string; env: string; role: string; status: string }[] = JSON.parse(status.out);
    const deployId = records.find((r) => r.env === 'staging' && r.role === 'web' && r.status === 'held')!.deployId;
    const cut = await run(world, argv(fill(line('cutover'), { ...values, deployId })));
    expect(cut.code, cut.out).toBe(0);
    expect(cut.out).toMatch(/terminated the old instances/);
  });

  it('refused approval, from examples/replacer.yml: replace --hold through the replace line, then the recover line rolls the held fleet back: exit 0, the role as before', async () => {
    world = await startWorld(await example('replacer.yml'));
    const before = await world.state();
    const lines = (await extract()).filter((line) => line.where.startsWith('jenkins/') && line.text.includes('--config'));
    const line = (verb: string) => lines.find((l) => l.text.startsWith(`mackerel-replacer ${verb}`))!;
    const values = { config: world.configPath, envName: 'staging', role: 'web' };
    const held = await run(world, argv(fill(line('replace'), { ...values, flags: (await flagFragments()).get('hold')! })));
    expect(held.code, held.out).toBe(0);
    const recovered = await run(world, argv(fill(line('recover'), values)));
    expect(recovered.code, recovered.out).toBe(0);
    await expectUntouched(world, 'web', before);
  });
});
