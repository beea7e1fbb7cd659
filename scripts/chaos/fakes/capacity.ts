// The account's room, in memory: an account that has room for any fleet of the fakes (every type
// offered, addresses and vCPUs to spare). Each limit itself is enforced by the sandbox and tested there.
import type { Capacity } from '../../../src/rollout/ports.js';

const ROOM = 1_000_000;

export const createCapacity = (): Capacity => ({
  vcpuQuota: async () => ROOM,
  vcpus: async (types) => new Map(types.map((type) => [type, 2])),
  runningTypes: async () => [],
  offered: async (types, azs) => new Map(azs.map((az) => [az, new Set(types)])),
  freeAddresses: async (subnetIds) => new Map(subnetIds.map((id) => [id, ROOM])),
  missingSecurityGroups: async () => [],
  keyPairExists: async () => true,
});
