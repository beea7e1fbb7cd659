// EC2 meters RunInstances with a resource bucket per account and Region (1,000 instances, refilling
// 2 per second by default). A deploy larger than the bucket launches in rounds that fit the tokens
// the bucket holds, each round spread across the AZs, instead of colliding with it.
import type { AzLaunch } from './plan.js';

export interface LaunchBucket {
  /** Instances the bucket holds when full. */
  readonly burst: number;
  readonly refillPerSecond: number;
}

/** A chunk launched, as the journal keeps it: its ids, and when (engine clock, epoch ms). */
export interface LaunchedChunk {
  readonly ids: readonly string[];
  readonly at: number;
}

/** Seconds of refill one later round waits for: fewer, larger RunInstances calls, the same finish. */
const ROUND_SECONDS = 30;

// EC2 adds refill tokens once a second, and its clock is not ours: a round waits for a second of
// refill more than the model says it needs.
const MARGIN_MS = 1000;

const marginTokens = (bucket: LaunchBucket): number => (bucket.refillPerSecond * MARGIN_MS) / 1000;

// A later round leaves room for the margin in the bucket, so the margin's refill carries over to the
// next round instead of spilling over a full bucket: the deploy pays the margin once, not per round.
// A bucket that a second of refill (nearly) fills has no such room: its rounds wait the margin each.
const roundSizes = (total: number, bucket: LaunchBucket, azs: number): number[] => {
  const refilled = Math.round(bucket.refillPerSecond * ROUND_SECONDS);
  const room = Math.floor(bucket.burst - marginTokens(bucket));
  const later = Math.min(bucket.burst, Math.max(azs, room >= azs ? Math.min(room, refilled) : refilled));
  const sizes = [Math.min(total, bucket.burst)];
  for (let left = total - sizes[0]!; left > 0; left -= sizes.at(-1)!) sizes.push(Math.min(left, later));
  return sizes;
};

/**
 * The plan's launches in rounds: the first takes the full bucket, each later one what refills in
 * about 30 s, at most the bucket less a second of refill. Every round goes to the AZs with the most
 * left to launch, so AZs stay balanced. One round of the plan's own launches (and tokens) when the
 * bucket holds the whole plan.
 */
export const launchRounds = (launches: readonly AzLaunch[], bucket: LaunchBucket): AzLaunch[][] => {
  const left = launches.map((launch) => launch.count);
  const total = left.reduce((sum, n) => sum + n, 0);
  return roundSizes(total, bucket, launches.length).map((size, round) => {
    const counts = launches.map(() => 0);
    for (let n = 0; n < size; n++) {
      const az = left.indexOf(Math.max(...left));
      left[az]!--;
      counts[az]!++;
    }
    return launches.flatMap((launch, i) =>
      counts[i]! > 0
        ? [{ ...launch, count: counts[i]!, clientToken: round === 0 ? launch.clientToken : `${launch.clientToken}.${round}` }]
        : [],
    );
  });
};

/** How long the bucket takes to refill what the plan launches beyond it. */
export const refillMs = (total: number, bucket: LaunchBucket): number =>
  Math.ceil((Math.max(0, total - bucket.burst) / bucket.refillPerSecond) * 1000);

/**
 * Tokens in the bucket at `now`, assumed full before the deploy's first launch, less every chunk
 * the journal recorded: a resumed deploy waits as the first process would have.
 */
export const tokensAt = (now: number, bucket: LaunchBucket, launched: readonly LaunchedChunk[]): number => {
  let tokens = bucket.burst;
  let last: number | undefined;
  const refill = (at: number) => {
    if (last !== undefined) tokens = Math.min(bucket.burst, tokens + ((at - last) / 1000) * bucket.refillPerSecond);
    last = at;
  };
  for (const chunk of [...launched].sort((a, b) => a.at - b.at)) {
    refill(chunk.at);
    tokens -= chunk.ids.length;
  }
  refill(now);
  return tokens;
};

/**
 * Milliseconds until the bucket surely holds `wanted` tokens: until the model holds a second of
 * refill more. A round with no room for that in the bucket (the first, which takes the full bucket
 * the model starts with) waits for its own tokens, and a second more when the model lacks them.
 */
export const waitMs = (tokens: number, wanted: number, bucket: LaunchBucket): number => {
  const surely = wanted + marginTokens(bucket);
  if (surely > bucket.burst) return tokens >= wanted ? 0 : Math.ceil(((wanted - tokens) / bucket.refillPerSecond) * 1000) + MARGIN_MS;
  return tokens >= surely ? 0 : Math.ceil(((surely - tokens) / bucket.refillPerSecond) * 1000);
};
