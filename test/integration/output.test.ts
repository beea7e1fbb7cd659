// What the operator and Jenkins see: `--json` NDJSON ending with the outcome line, and the
// confirmation a manual replace asks for on a terminal (never off one).
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { API_KEY, type Run, type World, configYaml, startWorld } from './harness.js';

let world: World;
afterEach(() => world?.close());

type Line = { type: string; [field: string]: unknown };

/** Every stdout line parsed as JSON (a line that is not JSON fails the test). */
const ndjson = (run: Run): Line[] => {
  const lines = run.stdout.split('\n').filter((line) => line !== '');
  return lines.map((line) => {
    expect(() => JSON.parse(line), line).not.toThrow();
    return JSON.parse(line) as Line;
  });
};

const launched = async (): Promise<number> =>
  (await world.requests()).filter((r) => r.by === 'client' && r.action === 'RunInstances' && r.mutating).length;

describe('--json', () => {
  it('replace --json (real child process): NDJSON only, deploy.started first, the outcome with exitCode 0 last', async () => {
    world = await startWorld(configYaml());
    const run = await world.spawn('replace', '--json', '--config', world.configPath, '--role', 'web');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const events = ndjson(run);
    expect(events[0]).toMatchObject({ type: 'deploy.started', action: 'replace', role: 'web', mode: 'web' });
    expect(events.at(-1)).toMatchObject({ type: 'outcome', kind: 'replaced', exitCode: 0 });
    expect(events.filter((e) => e.type === 'outcome')).toHaveLength(1);
    for (const event of events) expect(event.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const types = new Set(events.map((e) => e.type));
    for (const type of ['phase.started', 'phase.done', 'image.resolved', 'snapshot.taken', 'plan.made', 'launch.done', 'step.done']) {
      expect(types, type).toContain(type);
    }
    for (const waiting of events.filter((e) => e.type === 'waiting')) {
      expect(waiting).toMatchObject({ phase: expect.any(String), what: expect.any(String), elapsedMs: expect.any(Number) });
    }
    const outcome = events.at(-1) as unknown as { deployId: string; summary: { deployId: string; newImageId: string } };
    expect(outcome.summary.deployId).toBe(outcome.deployId);
    expect(events[0]?.deployId).toBe(outcome.deployId);
    expect(run.stdout).not.toContain(API_KEY);
  });

  it('a failing deploy ends with the outcome rolled-back, exitCode 3; stderr stays human text', async () => {
    world = await startWorld(configYaml());
    await world.inject({ type: 'health-fail', count: 1 });
    const run = await world.spawn('replace', '--json', '--config', world.configPath, '--role', 'web');
    expect(run.code).toBe(3);
    const events = ndjson(run);
    expect(events[0]?.type).toBe('deploy.started');
    expect(events.some((e) => e.type === 'rollback.started')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'outcome', kind: 'rolled-back', requested: false, aborted: false, exitCode: 3 });
    expect(events.at(-1)?.reason).toMatch(/unhealthy/);
    expect(run.stderr).toMatch(/^rolled back deploy \S+: /m);
    expect(() => JSON.parse(run.stderr.split('\n')[0] ?? '')).toThrow();
    expect(run.stdout + run.stderr).not.toContain(API_KEY);
  });

  it('plan --json ends with the outcome planned, carrying the plan and the old instances', async () => {
    world = await startWorld(configYaml());
    const run = await world.cli('plan', '--json', '--config', world.configPath, '--role', 'web');
    expect(run.code).toBe(0);
    const events = ndjson(run);
    const outcome = events.at(-1) as unknown as Line & { plan: { launches: unknown[] }; old: unknown[] };
    expect(outcome).toMatchObject({ type: 'outcome', kind: 'planned', exitCode: 0 });
    expect(outcome.plan.launches).toHaveLength(2);
    expect(outcome.old).toHaveLength(2);
    expect(await launched()).toBe(0);
  });

  it('a refusal (exit 2) also ends with an outcome line, naming the error; the human text goes to stderr', async () => {
    world = await startWorld(configYaml());
    const run = await world.cli('replace', '--json', '--config', world.configPath, '--role', 'nosuchrole');
    expect(run.code).toBe(2);
    const events = ndjson(run);
    expect(events.at(-1)).toMatchObject({ type: 'outcome', kind: 'error', exitCode: 2 });
    expect(String(events.at(-1)?.error)).toContain('nosuchrole');
    expect(run.stderr).toMatch(/^error: /m);
  });

  it('a flag commander refuses, and a missing MACKEREL_APIKEY, end with an outcome line too, with no secret', async () => {
    world = await startWorld(configYaml());
    const unknown = await world.cli('replace', '--json', '--config', world.configPath, '--role', 'web', '--frobnicate');
    expect(unknown.code).toBe(2);
    expect(ndjson(unknown).at(-1)).toMatchObject({ type: 'outcome', kind: 'error', exitCode: 2 });

    const lines: string[] = [];
    const code = await main(
      ['resume', '20261129-120000-abcd', '--json', '--config', world.configPath, '--role', 'web', '--env', 'staging'],
      {
        out: (line) => lines.push(line),
        err: () => undefined,
        env: { ...process.env, MACKEREL_APIKEY: '' },
        signal: new AbortController().signal,
      },
    );
    expect(code).toBe(2);
    expect(JSON.parse(lines.at(-1) ?? '')).toMatchObject({ type: 'outcome', kind: 'error', exitCode: 2 });
  });

  it('rollback --json of a failed deploy ends with the outcome finished', async () => {
    world = await startWorld(configYaml());
    await world.inject({ type: 'health-fail', count: 1 });
    const failed = ndjson(await world.cli('replace', '--json', '--config', world.configPath, '--role', 'web'));
    const deployId = String(failed[0]?.deployId);
    const run = await world.cli('rollback', deployId, '--json', '--config', world.configPath);
    expect(run.code).toBe(0);
    expect(ndjson(run).at(-1)).toMatchObject({ type: 'outcome', kind: 'finished', deployId, status: 'rolled-back', exitCode: 0 });
  });
});

describe('asking before acting', () => {
  const ask = (answer: string | undefined) => {
    const questions: string[] = [];
    return {
      questions,
      ask: async (question: string) => {
        questions.push(question);
        return answer;
      },
    };
  };
  const runWith = async (args: string[], extra: { interactive?: boolean; ask?: (q: string) => Promise<string | undefined> }) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, {
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      env: process.env,
      signal: new AbortController().signal,
      ...extra,
    });
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  };

  it('off a terminal replace never asks (Jenkins): the child process, stdin not a TTY, replaces at once', async () => {
    world = await startWorld(configYaml());
    const run = await world.spawn('replace', '--config', world.configPath, '--role', 'worker');
    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).not.toContain('Proceed?');
    const asked = ask('n');
    const inProcess = await runWith(['replace', '--config', world.configPath, '--role', 'worker'], { interactive: false, ask: asked.ask });
    expect(inProcess.code).toBe(0);
    expect(asked.questions).toEqual([]);
  });

  it('on a terminal it shows the plan and asks; anything but y changes nothing (exit 2)', async () => {
    world = await startWorld(configYaml());
    for (const answer of ['n', '', undefined, 'yess']) {
      const asked = ask(answer);
      const run = await runWith(['replace', '--config', world.configPath, '--role', 'web'], { interactive: true, ask: asked.ask });
      expect(run.code).toBe(2);
      expect(asked.questions).toEqual(['Proceed? [y/N] ']);
      expect(run.stdout).toMatch(/plan for deploy \S+/);
      expect(run.stderr).toMatch(/not confirmed/);
    }
    expect(await launched()).toBe(0);
  });

  it('on a terminal, y proceeds with exactly the plan shown', async () => {
    world = await startWorld(configYaml());
    const asked = ask('y');
    const run = await runWith(['replace', '--config', world.configPath, '--role', 'web'], { interactive: true, ask: asked.ask });
    expect(run.code).toBe(0);
    expect(asked.questions).toHaveLength(1);
    const planAt = run.stdout.indexOf('plan for deploy');
    expect(planAt).toBeGreaterThan(-1);
    expect(run.stdout.indexOf('launch ...')).toBeGreaterThan(planAt);
    expect(run.stdout).toMatch(/replaced: deploy \S+/);
    expect(await launched()).toBe(2);
  });

  it('--yes, and plan, never ask even on a terminal', async () => {
    world = await startWorld(configYaml());
    const asked = ask('n');
    expect((await runWith(['plan', '--config', world.configPath, '--role', 'worker'], { interactive: true, ask: asked.ask })).code).toBe(0);
    expect(
      (await runWith(['replace', '--yes', '--config', world.configPath, '--role', 'worker'], { interactive: true, ask: asked.ask })).code,
    ).toBe(0);
    expect(asked.questions).toEqual([]);
  });
});
