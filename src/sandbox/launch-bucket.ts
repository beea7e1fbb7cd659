import { QueryError } from './query.js';
import type { World } from './world.js';

// EC2's RunInstances resource bucket for the account and Region: `launchBurst` instances when
// full, refilled `launchRefillPerSecond` per simulated second. A request for more instances than
// the bucket holds fails whole (the harsher reading of "throttled even before the total limit").

export interface LaunchBucketState {
  tokens: number;
  /** Simulated ms of the last refill. */
  at: number;
}

const refill = (world: World, now: number): LaunchBucketState => {
  const { launchBurst, launchRefillPerSecond } = world.settings;
  const bucket = world.launchBucket;
  bucket.tokens = Math.min(launchBurst, bucket.tokens + ((now - bucket.at) / 1000) * launchRefillPerSecond);
  bucket.at = now;
  return bucket;
};

/** Takes `count` tokens, or throws RequestLimitExceeded (HTTP 503) and takes none. */
export const takeLaunchTokens = (world: World, count: number, now: number): void => {
  const bucket = refill(world, now);
  if (count > bucket.tokens) throw new QueryError(503, 'RequestLimitExceeded', 'Request limit exceeded.');
  bucket.tokens -= count;
};

/** A world edit set new limits: the bucket starts full at them. */
export const resetLaunchBucket = (world: World, now: number): void => {
  world.launchBucket.tokens = world.settings.launchBurst;
  world.launchBucket.at = now;
};
