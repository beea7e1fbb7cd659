// Waves: the plan cut into parts, each launched, verified and cut over before the next. Pure.
import { UsageError } from './errors.js';
import { type AzLaunch, type Plan, clientToken } from './plan.js';
import type { Member } from './snapshot.js';

/** `--batch 5` (instances per wave) or `--batch 25%` (of the new fleet). */
export type Batch = { readonly count: number } | { readonly percent: number };

export interface Wave {
  /** This wave's share of every AZ, each with its own ClientToken. */
  readonly launches: readonly AzLaunch[];
  /** The old instances this wave replaces. */
  readonly old: readonly string[];
}

export interface Waves {
  readonly waves: readonly Wave[];
  /** Set when a limit, not the operator, made the deploy run in more waves than asked. */
  readonly forcedBy?: string;
}

export interface WaveOptions {
  readonly batch?: Batch;
  /** `--canary N`: a first wave of N new instances in the first AZ, with as many of that AZ's old ones. */
  readonly canary?: number;
  /** Web mode: targets the fullest group holds now, and its quota. */
  readonly targets?: { readonly held: number; readonly quota: number; readonly group: string };
}

const BATCH = /^(?:([1-9]\d{0,4})|([1-9]\d?|100)%)$/;
export const BATCH_HINT = 'a number of instances per wave like 5, or a share of the new fleet like "25%" (1% to 100%)';

/** Parses `5` or `25%`; undefined when it is neither. */
export const parseBatch = (value: string): Batch | undefined => {
  const match = BATCH.exec(value);
  if (!match) return undefined;
  return match[1] !== undefined ? { count: Number(match[1]) } : { percent: Number(match[2]) };
};

export const formatBatch = (batch: Batch): string => ('count' in batch ? `${batch.count}` : `${batch.percent}%`);

/** `total` in `parts` sizes that differ by at most one, the larger first. */
const split = (total: number, parts: number): number[] =>
  Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));

/** Takes one from each AZ in turn, so any run of consecutive items is balanced across AZs. */
const interleave = <T>(byAz: readonly (readonly T[])[]): T[] => {
  const out: T[] = [];
  for (let round = 0; byAz.some((items) => items.length > round); round++)
    for (const items of byAz) if (round < items.length) out.push(items[round]!);
  return out;
};

const chunks = <T>(items: readonly T[], sizes: readonly number[]): T[][] =>
  sizes.map((size, i) => {
    const at = sizes.slice(0, i).reduce((sum, n) => sum + n, 0);
    return items.slice(at, at + size);
  });

interface Slot {
  readonly az: string;
  readonly subnetId: string;
}

const slotsOf = (launches: readonly AzLaunch[]): Slot[] =>
  interleave(launches.map((launch) => Array.from({ length: launch.count }, () => ({ az: launch.az, subnetId: launch.subnetId }))));

const launchesOf = (deployId: string, slots: readonly Slot[], wave: number): AzLaunch[] => {
  const counts = new Map<string, Slot & { count: number }>();
  for (const slot of slots) counts.set(slot.az, { ...slot, count: (counts.get(slot.az)?.count ?? 0) + 1 });
  return [...counts.values()].map(({ az, subnetId, count }) => ({ az, subnetId, count, clientToken: clientToken(deployId, az, wave) }));
};

const oldInOrder = (members: readonly Member[], azs: readonly string[]): Member[] => {
  const order = [...new Set([...azs, ...members.map((member) => member.az)])];
  return interleave(order.map((az) => members.filter((member) => member.az === az)));
};

/** The waves for `parts` waves after the canary; nothing but arithmetic. */
const cut = (plan: Plan, members: readonly Member[], parts: number, canary: number | undefined): Wave[] => {
  const azs = plan.launches.map((launch) => launch.az);
  let slots = slotsOf(plan.launches);
  let old = oldInOrder(members, azs);
  const head: { slots: Slot[]; old: Member[] }[] = [];
  if (canary !== undefined) {
    const [first] = plan.launches;
    const taken = slots.filter((slot) => slot.az === first!.az).slice(0, canary);
    const replaced = old.filter((member) => member.az === first!.az).slice(0, canary);
    head.push({ slots: taken, old: replaced });
    slots = slotsOf(plan.launches.map((launch) => (launch.az === first!.az ? { ...launch, count: launch.count - canary } : launch)));
    old = old.filter((member) => !replaced.includes(member));
  }
  const newParts = chunks(slots, split(slots.length, parts));
  const oldParts = chunks(old, split(old.length, parts));
  return [...head, ...newParts.map((part, i) => ({ slots: part, old: oldParts[i]! }))]
    .filter((wave) => wave.slots.length > 0 || wave.old.length > 0)
    .map((wave, i) => ({
      launches: launchesOf(plan.deployId, wave.slots, i),
      old: wave.old.map((member) => member.instanceId),
    }));
};

const newCountOf = (wave: Wave): number => wave.launches.reduce((sum, launch) => sum + launch.count, 0);

/** The most targets a group holds at once: during each wave, what is left of the old fleet plus the new so far. */
const peakTargets = (waves: readonly Wave[], held: number): number => {
  let peak = held;
  let now = held;
  for (const wave of waves) {
    now += newCountOf(wave);
    peak = Math.max(peak, now);
    now -= wave.old.length;
  }
  return peak;
};

/** Web mode: healthy targets must never fall below the old count, after any wave. */
const capacityDip = (waves: readonly Wave[]): number | undefined => {
  let added = 0;
  let removed = 0;
  for (const [i, wave] of waves.entries()) {
    added += newCountOf(wave);
    removed += wave.old.length;
    if (added < removed) return i;
  }
  return undefined;
};

/**
 * Cuts the plan into waves: as many as `batch` asks (one without it), or more when the target
 * quota would not hold a wave's old and new targets together. Every wave is balanced across AZs
 * and launches at least as many as it retires, so capacity never dips between waves.
 */
export const planWaves = (plan: Plan, members: readonly Member[], options: WaveOptions, web: boolean): Waves => {
  const { batch, canary, targets } = options;
  const [first] = plan.launches;
  if (canary !== undefined && canary > first!.count) {
    throw new UsageError(
      `--canary ${canary} is more than the ${first!.count} instances the plan launches in ${first!.az}, the canary's AZ`,
      `give --canary at most ${first!.count}`,
    );
  }
  const rest = plan.newCount - (canary ?? 0);
  const size = batch === undefined ? rest : 'count' in batch ? batch.count : Math.ceil((plan.newCount * batch.percent) / 100);
  const asked = rest === 0 ? 1 : Math.ceil(rest / Math.max(1, size));
  let parts = asked;
  let waves = cut(plan, members, parts, canary);
  while (targets && peakTargets(waves, targets.held) > targets.quota && parts < rest) waves = cut(plan, members, ++parts, canary);
  if (targets && peakTargets(waves, targets.held) > targets.quota) {
    throw new UsageError(
      `target group ${targets.group} holds ${targets.held} targets: even one new instance per wave would take it to ${peakTargets(waves, targets.held)}, above its quota of ${targets.quota} targets`,
      'ask AWS for a higher "Targets per target group" quota and set limits.targetsPerGroup to it, or remove targets the role does not own',
    );
  }
  const dip = web ? capacityDip(waves) : undefined;
  if (dip !== undefined) {
    throw new UsageError(
      `wave ${dip + 1} of ${waves.length} would retire more old instances than the waves so far launched: capacity behind the load balancer would drop`,
      'raise --canary to at least the old instances in its AZ, or set perAz: match',
    );
  }
  return {
    waves,
    ...(parts > asked && {
      forcedBy: `limits.targetsPerGroup (${targets!.quota}): target group ${targets!.group} holds ${targets!.held} targets, so ${plan.newCount} new ones are added in ${waves.length} waves`,
    }),
  };
};
