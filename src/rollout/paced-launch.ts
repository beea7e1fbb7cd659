import type { Emit } from './events.js';
import { type LaunchBucket, type LaunchedChunk, launchRounds, tokensAt, waitMs } from './pacing.js';
import type { AzLaunch } from './plan.js';
import type { Call, Clock } from './ports.js';
import type { DeployRecord } from './record.js';

type Launched = Pick<DeployRecord, 'launches' | 'launched' | 'launchedChunks'>;

/**
 * The chunks whose instances the record holds: those it recorded, then, for a record without them
 * (rebuilt from the instances' tags), each AZ's recorded instances given to its chunks in round
 * order. `unclaimed` is what each AZ holds beyond them: a part of its next chunk.
 */
export const heldChunks = (
  deploy: Launched,
  rounds: readonly AzLaunch[][],
  now: number,
): { chunks: Record<string, LaunchedChunk>; unclaimed: Map<string, readonly string[]> } => {
  const chunks: Record<string, LaunchedChunk> = { ...deploy.launchedChunks };
  const claimed = new Set(Object.values(chunks).flatMap((chunk) => chunk.ids));
  const unclaimed = new Map(Object.entries(deploy.launched).map(([az, ids]) => [az, ids.filter((id) => !claimed.has(id))]));
  for (const chunk of rounds.flat()) {
    const left = unclaimed.get(chunk.az) ?? [];
    if (chunks[chunk.clientToken] !== undefined || left.length < chunk.count) continue;
    chunks[chunk.clientToken] = { ids: left.slice(0, chunk.count), at: now };
    unclaimed.set(chunk.az, left.slice(chunk.count));
  }
  return { chunks, unclaimed };
};

/**
 * Sends the plan's rounds, each once the bucket holds its tokens by the engine's clock, never a
 * chunk whose instances the record holds (the boot wait re-observes those). Returns every new
 * instance id, the record's included. The bucket the deploy recorded wins over the config's: a
 * resume must cut the same chunks. An answer without the instances the record holds for its chunk
 * is named and fails the launch.
 */
export const launchPaced = async (
  deploy: Launched & Pick<DeployRecord, 'deployId' | 'launchBucket'>,
  configured: LaunchBucket,
  launchChunks: (chunks: readonly AzLaunch[]) => Promise<Readonly<Record<string, string[]>>>,
  deps: { clock: Clock; emit: Emit },
  call: Call,
): Promise<string[]> => {
  const bucket = deploy.launchBucket ?? configured;
  const rounds = launchRounds(deploy.launches, bucket);
  const total = deploy.launches.reduce((sum, launch) => sum + launch.count, 0);
  const { chunks, unclaimed } = heldChunks(deploy, rounds, deps.clock.now());
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
      checkAnswers(todo, chunks, unclaimed);
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

/** The instances the record held for a chunk sent again must be in EC2's answer (the same ClientToken). */
const checkAnswers = (sent: readonly AzLaunch[], chunks: Record<string, LaunchedChunk>, unclaimed: Map<string, readonly string[]>) => {
  const differences = sent.flatMap((chunk) => {
    const held = unclaimed.get(chunk.az) ?? [];
    unclaimed.delete(chunk.az);
    const answer = chunks[chunk.clientToken]!.ids;
    const missing = held.filter((id) => !answer.includes(id));
    return missing.length > 0
      ? [`${chunk.clientToken}: EC2 answered ${answer.join(', ')}, but the record holds ${missing.join(', ')} for this chunk`]
      : [];
  });
  if (differences.length > 0) {
    throw new Error(`RunInstances launched other instances than the ones the deploy holds (${differences.join('; ')})`);
  }
};
