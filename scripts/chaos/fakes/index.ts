// In-memory fakes of every port of the engine (Fleet, Balancer, Monitor, Journal, Clock) over one
// world, for engine tests and chaos runs without a network and without real waiting. Each run of
// the tool is a process: `start` gives it its own deps, and killing it is a kill -9.
import type { Deps } from '../../../src/rollout/context.js';
import type { DeployEvent, Emit } from '../../../src/rollout/events.js';
import type { State } from '../sandbox-world.js';
import { withCallFaults } from './call-faults.js';
import { createFakeClock, type FakeClock } from './clock.js';
import { createCapacity } from './capacity.js';
import { createFleet } from './ec2.js';
import { createBalancer, healthyCount } from './elbv2.js';
import { type HookLog, createHookLog, createHooks } from './hooks.js';
import { createJournal, type JournalDisk, type LockFiles } from './journal.js';
import { createMonitor } from './mackerel.js';
import { createProcess, type FakeProcess } from './process.js';
import type { Conduit } from './transport.js';
import { createWorld, type World } from './world.js';

export { createFakeClock, type FakeClock } from './clock.js';
export { createProcess, type FakeProcess } from './process.js';
export { ServiceError } from './transport.js';
export * from './seed.js';
export * from './world.js';

export interface Fakes {
  readonly clock: FakeClock;
  readonly world: World;
  /** The journal's records, as JSON text, across every process. */
  readonly disk: JournalDisk;
  /** Every event the live processes emitted, in order. */
  readonly events: DeployEvent[];
  /** The hooks the processes ran, and which ones fail. */
  readonly hooks: HookLog;
  /** A new process of the tool and the deps it runs with. */
  start(options?: { readonly emit?: Emit }): { readonly process: FakeProcess; readonly deps: Deps };
  /** Runs `work` to its end on the fake clock. */
  run<T>(work: Promise<T>): Promise<T>;
  /** The world in the sandbox's `/_sandbox/state` shape, as of now. */
  state(): State;
}

export interface FakesOptions {
  /** Fake ms per ms of AWS's own timing. @default 1 */
  readonly timeScale?: number;
  /** Seeds the retry jitter. @default 1 */
  readonly seed?: number;
}

export const createFakes = (options: FakesOptions = {}): Fakes => {
  const clock = createFakeClock();
  const world = createWorld(clock, { timeScale: options.timeScale, seed: options.seed });
  const disk: JournalDisk = new Map();
  const locks: LockFiles = new Map();
  const processes = new Map<string, FakeProcess>();
  const events: DeployEvent[] = [];
  const hooks = createHookLog();
  let pid = 100;
  return {
    clock,
    world,
    disk,
    events,
    hooks,
    start: (startOptions = {}) => {
      pid++;
      const process = createProcess(`fakehost:${pid}`, clock.owned);
      processes.set(process.name, process);
      const conduit: Conduit = { world, process, clock: process.clock };
      const deps: Deps = {
        fleet: withCallFaults(world, process, 'fleet', createFleet(conduit)),
        balancer: withCallFaults(world, process, 'balancer', createBalancer(conduit)),
        capacity: createCapacity(),
        monitor: withCallFaults(world, process, 'monitor', createMonitor(conduit)),
        journal: withCallFaults(world, process, 'journal', createJournal(disk, locks, process)),
        hooks: createHooks(hooks, conduit),
        clock: process.clock,
        emit: (event) => {
          if (!process.alive()) return;
          events.push(event);
          startOptions.emit?.(event);
        },
        runner: process.name,
        runnerState: (runner) => {
          const other = processes.get(runner);
          return other === undefined ? 'elsewhere' : other.alive() ? 'alive' : 'gone';
        },
      };
      return { process, deps };
    },
    run: (work) => clock.run(work),
    state: () => stateOf(world),
  };
};

const stateOf = (world: World): State => {
  world.advance();
  return {
    instances: [...world.instances.values()].map((i) => ({ id: i.id, imageId: i.imageId, az: i.az, state: i.state, tags: { ...i.tags } })),
    hosts: [...world.hosts.values()].map((h) => ({
      id: h.id,
      status: h.status,
      isRetired: h.isRetired,
      ...(h.customIdentifier === undefined ? {} : { customIdentifier: h.customIdentifier }),
      roles: structuredClone(h.roles),
    })),
    targetGroups: [...world.targetGroups.values()].map((g) => ({
      arn: g.arn,
      healthy: healthyCount(g),
      minHealthy: g.minHealthy,
      targets: [...g.targets.values()].map((t) => ({ id: t.id, state: t.state })),
    })),
    images: [...world.images.values()].map((i) => ({ id: i.id, name: i.name, createdAt: i.createdAt })),
    annotations: world.annotations.map((a) => ({ ...a })),
  };
};
