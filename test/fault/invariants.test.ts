// The invariant checks must be able to fail: real runs' evidence, doctored the way each bug would
// show in the sandbox's logs and state, is judged a violation of exactly that invariant.
import { beforeAll, describe, expect, it } from 'vitest';
import { TG_ARN } from '../../scripts/chaos/sandbox-world.js';
import { type Event, type Evidence, newIds, oldIds } from '../../scripts/chaos/evidence.js';
import { checkInvariants } from '../../scripts/chaos/invariants.js';
import { collectEvidence } from '../../scripts/chaos/sandbox-run.js';
import { collectFakeEvidence } from '../../scripts/chaos/fake-run.js';

let web: Evidence;
let worker: Evidence;
let rolledBack: Evidence;
// The blue/green options, against the fakes: a rollback in the window, a finish, a failing beforeTerminate.
let windowRollback: Evidence;
let finished: Evidence;
let hookFailed: Evidence;
let heldCutover: Evidence;
beforeAll(async () => {
  heldCutover = (await collectFakeEvidence({ via: 'fakes', role: 'web', perAz: 1, faults: [], hold: 'cutover', journalLost: true }))
    .evidence;
  windowRollback = (await collectFakeEvidence({ via: 'fakes', role: 'web', perAz: 1, faults: [], keep: 'rollback' })).evidence;
  finished = (await collectFakeEvidence({ via: 'fakes', role: 'worker', perAz: 1, faults: [], keep: 'finish' })).evidence;
  hookFailed = (await collectFakeEvidence({ via: 'fakes', role: 'worker', perAz: 1, faults: [], hooks: { beforeTerminate: 'fail' } }))
    .evidence;
  web = (await collectEvidence({ role: 'web', perAz: 1, faults: [] })).evidence;
  worker = (await collectEvidence({ role: 'worker', perAz: 1, faults: [] })).evidence;
  rolledBack = (await collectEvidence({ role: 'web', perAz: 1, faults: [{ type: 'die-while-booting', count: 1 }] })).evidence;
}, 60_000);

type Doctor = (ev: { -readonly [K in keyof Evidence]: Evidence[K] }) => void;
const doctored = (ev: Evidence, change: Doctor): Evidence => {
  const copy = structuredClone(ev);
  change(copy);
  return copy;
};
const invariantsBroken = (ev: Evidence) => [...new Set(checkInvariants(ev).map((v) => v.invariant))];
const isOld = (ev: Evidence) => (e: Event) => oldIds(ev).includes(e.instanceId ?? '');

/** The events with the first old termination moved to the end of command `i` (which did not terminate). */
const terminationMovedInto = (ev: Evidence, i: number): Event[] => {
  const at = ev.events.findIndex((x) => x.type === 'instance.terminating' && isOld(ev)(x));
  const rest = ev.events.filter((_, k) => k !== at);
  const end = ev.commands[i + 1]!.from - 1;
  return [...rest.slice(0, end), ev.events[at]!, ...rest.slice(end)];
};

describe('real runs', () => {
  it('keep every invariant: a web and a worker replace, and a rollback', () => {
    expect(web.status).toBe('replaced');
    expect(worker.status).toBe('replaced');
    expect(rolledBack.status).toBe('rolled-back');
    for (const ev of [web, worker, rolledBack]) expect(checkInvariants(ev)).toEqual([]);
  });

  it('keep every invariant: a rollback in the window, a finish, a failing beforeTerminate fixed and resumed, a held deploy cut over without its journal', () => {
    expect(windowRollback.commands.map((run) => `${run.command} ${run.code}`)).toEqual(['replace 0', 'rollback 0']);
    expect(finished.commands.map((run) => `${run.command} ${run.code}`)).toEqual(['replace 0', 'finish 0']);
    expect(hookFailed.commands.map((run) => `${run.command} ${run.code}`)).toEqual(['replace 4', 'resume 0']);
    expect(heldCutover.commands.map((run) => `${run.command} ${run.code}`)).toEqual(['replace 0', 'resume 2', 'cutover 0']);
    for (const ev of [windowRollback, finished, hookFailed, heldCutover]) expect(checkInvariants(ev)).toEqual([]);
  });
});

describe('each invariant can fail', () => {
  it('1: an old target deregistered before the new ones were healthy', () => {
    const ev = doctored(web, (e) => {
      const events = [...e.events];
      const first = events.findIndex((x) => x.type === 'target.deregistered' && isOld(web)(x));
      e.events = [events[first]!, ...events.filter((_, i) => i !== first)];
    });
    expect(invariantsBroken(ev)).toEqual(['1']);
    expect(checkInvariants(ev)[0]!.detail).toMatch(/before new i-\w+ was working in Mackerel and healthy/);
  });

  it('1: an old instance terminated while a new one was never working in Mackerel', () => {
    const lost = newIds(worker)[0]!;
    const hosts = new Set(worker.after.hosts.filter((h) => h.customIdentifier?.startsWith(lost)).map((h) => h.id));
    const ev = doctored(worker, (e) => {
      e.events = e.events.filter((x) => !(x.type === 'host.status' && hosts.has(x.hostId ?? '')));
    });
    expect(invariantsBroken(ev)).toEqual(['1']);
  });

  it('1: an old instance terminated after AWS took a new one', () => {
    const ev = doctored(web, (e) => {
      const at = e.events.findIndex((x) => x.type === 'instance.terminating' && isOld(web)(x));
      const lost = { t: e.events[at]!.t, type: 'instance.terminating', instanceId: newIds(web)[0]! };
      e.events = [...e.events.slice(0, at), lost, ...e.events.slice(at)];
    });
    expect(invariantsBroken(ev)).toContain('1');
    expect(checkInvariants(ev).map((v) => v.detail)).toContainEqual(expect.stringMatching(/while new i-\w+ had gone/));
  });

  it('2: an instance of another role terminated', () => {
    const other = worker.before.instances.find((i) => i.tags['mackerel-replacer:role'] === 'staging/worker')!.id;
    const ev = doctored(web, (e) => {
      e.events = [...e.events, { t: 1e9, type: 'instance.terminating', instanceId: other }];
    });
    expect(invariantsBroken(ev)).toContain('2');
  });

  it('3: replaced, but a new instance is gone', () => {
    const ev = doctored(web, (e) => {
      e.after.instances.find((i) => i.id === newIds(web)[0])!.state = 'terminated';
    });
    expect(invariantsBroken(ev)).toEqual(['3']);
  });

  it('3: rolled back, but a new instance still runs', () => {
    const ev = doctored(rolledBack, (e) => {
      e.after.instances.find((i) => i.id === newIds(rolledBack)[0])!.state = 'running';
    });
    expect(invariantsBroken(ev)).toEqual(['3']);
  });

  it('3: rolled back, but an old host was left in maintenance', () => {
    const ev = doctored(rolledBack, (e) => {
      e.after.hosts.find((h) => h.customIdentifier?.startsWith(oldIds(rolledBack)[0]!))!.status = 'maintenance';
    });
    expect(invariantsBroken(ev)).toEqual(['3']);
  });

  it('4: more instances than the plan', () => {
    const ev = doctored(worker, (e) => {
      const extra = { ...e.after.instances.find((i) => i.id === newIds(worker)[0])!, id: 'i-0ffffffffffffffff', state: 'terminated' };
      e.after.instances = [...e.after.instances, extra];
    });
    expect(invariantsBroken(ev)).toContain('4');
  });

  it('5: healthy targets dipped below the old count', () => {
    const ev = doctored(web, (e) => {
      e.after.targetGroups.find((g) => g.arn === TG_ARN)!.minHealthy = 1;
    });
    expect(invariantsBroken(ev)).toEqual(['5']);
  });

  it('6: the API key in the output or in the journal', () => {
    const [secret] = web.secrets;
    const inOutput = doctored(web, (e) => {
      e.commands = [{ ...e.commands[0]!, stderr: `request failed: X-Api-Key: ${secret}` }];
    });
    const inFile = doctored(web, (e) => {
      e.files = [...e.files, { path: 'journal/x.json', text: `{"key":"${secret}"}` }];
    });
    expect(invariantsBroken(inOutput)).toEqual(['6']);
    expect(invariantsBroken(inFile)).toEqual(['6']);
  });

  it('exit codes: an internal error, and an exit 4 that names nothing', () => {
    const bug = doctored(web, (e) => {
      e.commands = [{ ...e.commands[0]!, code: 1 }];
    });
    const silent = doctored(web, (e) => {
      e.status = 'incomplete';
      e.commands = [{ ...e.commands[0]!, code: 4, stderr: 'something went wrong' }];
    });
    expect(invariantsBroken(bug)).toEqual(['exit']);
    expect(checkInvariants(silent).map((v) => v.detail)).toEqual(
      expect.arrayContaining([expect.stringMatching(/without naming what is left/), 'the deploy was left incomplete']),
    );
  });

  it('kept: an old instance of a kept fleet terminated before any finish', () => {
    const ev = doctored(finished, (e) => {
      e.events = terminationMovedInto(finished, 0);
    });
    expect(invariantsBroken(ev)).toEqual(['kept']);
  });

  it('held: an old target of a held deploy deregistered before its cutover', () => {
    const ev = doctored(heldCutover, (e) => {
      const at = e.events.findIndex((x) => x.type === 'target.deregistered' && isOld(heldCutover)(x));
      const rest = e.events.filter((_, k) => k !== at);
      e.events = [e.events[at]!, ...rest];
    });
    expect(invariantsBroken(ev)).toContain('held');
  });

  it('restored: a rollback in the window that removes the new fleet before the old hosts are back', () => {
    const ev = doctored(windowRollback, (e) => {
      const hosts = new Set(
        e.before.hosts.filter((h) => oldIds(windowRollback).some((id) => h.customIdentifier?.startsWith(id))).map((h) => h.id),
      );
      e.events = e.events.filter((x) => !(x.type === 'host.status' && x.status === 'working' && hosts.has(x.hostId ?? '')));
    });
    expect(invariantsBroken(ev)).toEqual(['restored']);
    expect(checkInvariants(ev)[0]!.detail).toMatch(/while old host \S+ \(standby\)/);
  });

  it('beforeTerminate: an old instance terminated, and exit 0, after the hook failed', () => {
    const ev = doctored(hookFailed, (e) => {
      e.events = terminationMovedInto(hookFailed, 0);
      e.commands = [{ ...e.commands[0]!, code: 0 }, ...e.commands.slice(1)];
    });
    expect(
      checkInvariants(ev)
        .filter((v) => v.invariant === 'beforeTerminate')
        .map((v) => v.detail),
    ).toEqual([
      expect.stringMatching(/replace \(command 1\) saw beforeTerminate fail, but exited 0, not 4/),
      expect.stringMatching(/replace \(command 1\) saw beforeTerminate fail, but terminated old i-/),
    ]);
  });
});
