import type { Emit } from './events.js';
import { type LaunchBucket, type LaunchedChunk, launchRounds, tokensAt, waitMs } from './pacing.js';
import type { AzLaunch } from './plan.js';
import type { Call, Clock } from './ports.js';
import type { DeployRecord } from './record.js';

/**
 * Sends the plan's rounds, each once the bucket holds its tokens by the engine's clock, skipping
 * chunks the journal already holds. Returns every new instance id, the journal's included.
 * The bucket the deploy recorded wins over the config's: a resume must cut the same chunks.
 */
export const launchPaced = async (
  deploy: Pick<DeployRecord, 'deployId' | 'launches' | 'launchBucket' | 'launchedChunks'>,
  configured: LaunchBucket,
  launchChunks: (chunks: readonly AzLaunch[]) => Promise<Readonly<Record<string, string[]>>>,
  deps: { clock: Clock; emit: Emit },
  call: Call,
): Promise<string[]> => {
  const bucket = deploy.launchBucket ?? configured;
  const rounds = launchRounds(deploy.launches, bucket);
  const total = deploy.launches.reduce((sum, launch) => sum + launch.count, 0);
  const chunks: Record<string, LaunchedChunk> = { ...deploy.launchedChunks };
  const chunkIds = (chunk: AzLaunch) => chunks[chunk.clientToken]?.ids;
  let launched = 0;
  for (const round of rounds) {
    const todo = round.filter((chunk) => chunkIds(chunk) === undefined);
    if (todo.length > 0) {
      const wanted = todo.reduce((sum, chunk) => sum + chunk.count, 0);
      const wait = waitMs(tokensAt(deps.clock.now(), bucket, Object.values(chunks)), wanted, bucket);
      if (wait > 0) await deps.clock.sleep(wait, call.signal);
      const at = deps.clock.now();
      for (const [token, ids] of Object.entries(await launchChunks(todo))) chunks[token] = { ids, at };
    }
    launched += round.reduce((sum, chunk) => sum + chunk.count, 0);
    if (launched < total) {
      deps.emit({
        type: 'launch.paced',
        launched,
        total,
        refillPerSecond: bucket.refillPerSecond,
        remainingMs: Math.ceil(((total - launched) / bucket.refillPerSecond) * 1000),
      });
    }
  }
  return rounds.flat().flatMap((chunk) => chunkIds(chunk) ?? []);
};
