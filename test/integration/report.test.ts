// `--report`: the page and its JSON, written from a real deploy against the sandbox, however it ends.
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Report, ReportInstance } from '../../src/cli/report-data.js';
import { type World, configYaml, startWorld } from './harness.js';

let world: World;
afterEach(() => world?.close());

const deployWithReports = async () => {
  const html = join(world.dir, 'report.html');
  const json = join(world.dir, 'report.json');
  const run = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--report', html, '--report', json);
  return { run, html: await readFile(html, 'utf8'), report: JSON.parse(await readFile(json, 'utf8')) as Report };
};

const marksOf = (instance: ReportInstance) => instance.marks.map((m) => m.mark);
const side = (report: Report, which: 'old' | 'new') => report.instances.filter((i) => i.side === which);

/** The two gates are polled at once, so registered and healthy may come in either order. */
const expectNewLife = (instance: ReportInstance, healthy: boolean, then: string[]) => {
  const marks = marksOf(instance);
  expect(marks.slice(0, 2)).toEqual(['launched', 'running']);
  const gates = healthy ? ['healthy', 'registered'] : ['registered'];
  expect(marks.slice(2, 2 + gates.length).sort()).toEqual(gates);
  expect(marks.slice(2 + gates.length)).toEqual(then);
};

const expectInTimeOrder = (report: Report) => {
  for (const instance of report.instances) {
    const times = instance.marks.map((m) => m.afterMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  }
};

/** Nothing in the page can make a browser fetch anything. */
const expectSelfContained = (html: string) => {
  expect(html).not.toMatch(/https?:\/\//i);
  expect(html).not.toMatch(/<(script|link|img|iframe)\b/i);
  expect(html).toContain('<svg');
};

describe('--report', () => {
  it('a good deploy: every instance with its marks in order, the page self-contained', async () => {
    world = await startWorld(configYaml());
    const { run, html, report } = await deployWithReports();
    expect(run.code).toBe(0);
    expect(report.outcome).toMatchObject({ kind: 'replaced', exitCode: 0 });
    expect(report.plan.map((az) => [az.az, az.old.length, az.launches, az.new.length])).toEqual([
      ['ap-northeast-1a', 1, 1, 1],
      ['ap-northeast-1c', 1, 1, 1],
    ]);
    expect(side(report, 'old')).toHaveLength(2);
    expect(side(report, 'new')).toHaveLength(2);
    for (const instance of side(report, 'new')) expectNewLife(instance, true, []);
    for (const instance of side(report, 'old')) expect(marksOf(instance)).toEqual(['deregistered', 'drained', 'terminated']);
    expectInTimeOrder(report);
    // Every new instance is healthy before any old one is deregistered.
    const lastHealthy = Math.max(...side(report, 'new').flatMap((i) => i.marks.filter((m) => m.mark === 'healthy').map((m) => m.afterMs)));
    const firstDeregistered = Math.min(...side(report, 'old').map((i) => i.marks[0]!.afterMs));
    expect(lastHealthy).toBeLessThanOrEqual(firstDeregistered);
    expect(report.phases.map((p) => p.phase)).toEqual([
      'preflight',
      'snapshot',
      'plan',
      'launch',
      'register',
      'verify',
      'cutover',
      'terminate',
      'retire',
    ]);
    expectSelfContained(html);
    for (const instance of report.instances) expect(html).toContain(instance.id);
  });

  it('a rolled-back deploy (exit 3): the new instances undone, the old ones untouched', async () => {
    world = await startWorld(configYaml());
    await world.inject({ type: 'health-fail', count: 1 });
    const { run, html, report } = await deployWithReports();
    expect(run.code).toBe(3);
    expect(report.outcome).toMatchObject({ kind: 'rolled-back', exitCode: 3 });
    const undone = ['deregistered', 'drained', 'terminated'];
    const fresh = side(report, 'new');
    expect(fresh).toHaveLength(2);
    const failing = fresh.filter((i) => !marksOf(i).includes('healthy'));
    expect(failing).toHaveLength(1);
    expectNewLife(failing[0]!, false, undone);
    expectNewLife(fresh.find((i) => i !== failing[0])!, true, undone);
    for (const instance of side(report, 'old')) expect(instance.marks).toEqual([]);
    expectInTimeOrder(report);
    expect(report.phases.at(-1)).toMatchObject({ phase: 'rollback' });
    expectSelfContained(html);
    expect(html).toContain('rolled-back (exit 3)');
  });

  it('a report folder that does not exist is refused before anything is launched (exit 2)', async () => {
    world = await startWorld(configYaml());
    const path = join(world.dir, 'no-such-folder', 'report.html');
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--report', path);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: --report ${path}: the folder ${join(world.dir, 'no-such-folder')} cannot hold it`);
    expect(run.stderr).toContain('nothing was changed');
    expect((await world.requests()).filter((r) => r.by === 'client')).toEqual([]);
    await expect(access(path)).rejects.toThrow();
  });

  it('a report file that is neither .html nor .json is refused (exit 2)', async () => {
    world = await startWorld(configYaml());
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--report', join(world.dir, 'report.txt'));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--report must name a file ending in .html or .json');
    expect((await world.requests()).filter((r) => r.by === 'client')).toEqual([]);
  });
});
