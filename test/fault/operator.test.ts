// What the chaos runs' operator runs next: the recovery after a kill, the command an exit 4 names,
// then what the schedule's rollback window or hold ends with.
import { describe, expect, it } from 'vitest';
import type { CommandRun } from '../../scripts/chaos/evidence.js';
import { nextCommand } from '../../scripts/chaos/operator.js';
import type { Command, Schedule } from '../../scripts/chaos/schedule.js';

const ran = (command: Command, code: number | 'killed', stderr = ''): CommandRun => ({
  command,
  from: 0,
  code: code === 'killed' ? 137 : code,
  stdout: '',
  stderr,
  killed: code === 'killed',
});

const worker: Schedule = { via: 'fakes', role: 'worker', perAz: 1, faults: [] };

describe('nextCommand', () => {
  it('after a kill, the recovery (its faults injected); a refused rollback, then resume', () => {
    const schedule = { ...worker, crash: { at: 'terminate', recover: 'rollback' as const } };
    expect(nextCommand(schedule, [ran('replace', 'killed')], 'running')).toEqual({ command: 'rollback', inject: true });
    const refused = ran('rollback', 2, 'error: deploy x can no longer be rolled back: old instances i-1 are terminated');
    expect(nextCommand(schedule, [ran('replace', 'killed'), refused], 'running')).toEqual({ command: 'resume' });
  });

  it('after the first exit 4, the command it names with faults lifted and hooks fixed; after a second, nothing', () => {
    const incomplete = ran('replace', 4, '  - hook beforeTerminate failed\n      mackerel-replacer resume 20261123-063600-0a1b');
    expect(nextCommand(worker, [incomplete], 'incomplete')).toEqual({ command: 'resume', fix: true });
    expect(nextCommand(worker, [incomplete, ran('resume', 4, 'mackerel-replacer resume x')], 'incomplete')).toBeUndefined();
  });

  it('a kept deploy: shrink then finish; a killed shrink is not run again, a killed rollback is', () => {
    const shrinking = { ...worker, keep: 'shrink' as const, crash: { at: 'shrink', recover: 'resume' as const } };
    expect(nextCommand(shrinking, [ran('replace', 0)], 'kept')).toEqual({ command: 'shrink' });
    expect(nextCommand(shrinking, [ran('replace', 0), ran('shrink', 0)], 'kept')).toEqual({ command: 'finish' });
    const refusedResume = ran('resume', 2, 'error: deploy x keeps the old fleet: there is nothing to resume');
    expect(nextCommand(shrinking, [ran('replace', 0), ran('shrink', 'killed'), refusedResume], 'kept')).toEqual({ command: 'finish' });
    const back = { ...worker, keep: 'rollback' as const, crash: { at: 'restore', recover: 'resume' as const } };
    expect(nextCommand(back, [ran('replace', 0), ran('rollback', 'killed'), refusedResume], 'kept')).toEqual({ command: 'rollback' });
  });

  it('a held deploy: its cutover once; a deploy that ended needs nothing', () => {
    const held = { ...worker, hold: 'cutover' as const };
    expect(nextCommand(held, [ran('replace', 0)], 'held')).toEqual({ command: 'cutover' });
    expect(nextCommand(held, [ran('replace', 0), ran('cutover', 0)], 'replaced')).toBeUndefined();
    expect(nextCommand(held, [ran('replace', 3)], 'rolled-back')).toBeUndefined();
  });

  it('a held deploy whose journal is lost: resume first (it must refuse), then the cutover, both without the record', () => {
    const lost = { ...worker, hold: 'cutover' as const, journalLost: true as const };
    expect(nextCommand(lost, [ran('replace', 0)], 'held')).toEqual({ command: 'resume', loseJournal: true });
    const refused = ran('resume', 2, 'error: deploy x is held before cutover: resume does not switch the traffic');
    expect(nextCommand(lost, [ran('replace', 0), refused], 'held')).toEqual({ command: 'cutover', loseJournal: true });
  });
});
