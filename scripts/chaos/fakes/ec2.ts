// EC2 in memory: what RunInstances, DescribeInstances, TerminateInstances, CreateTags and DeleteTags
// do to instances, and the Fleet port over them with the adapter's batching and errors.
import { UsageError } from '../../../src/rollout/errors.js';
import type { Fleet, Image, Instance, LaunchRequest } from '../../../src/rollout/ports.js';
import { bootAgent, stopAgent } from './mackerel.js';
import { instanceStopped } from './elbv2.js';
import { type Conduit, send, ServiceError } from './transport.js';
import type { FakeInstance, World } from './world.js';

const BATCH = 100;
const PAGE = 1000;
const MAX_TAGS = 50;

export const chunk = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** Terminated instances stay visible for a while, then EC2 forgets them. */
const visible = (world: World, instance: FakeInstance, now: number): boolean =>
  instance.state !== 'terminated' || now - (instance.terminatedAt ?? now) < world.timing.terminatedVisible;

export const toInstance = (instance: FakeInstance): Instance => ({
  id: instance.id,
  state: instance.state,
  az: instance.az,
  subnetId: instance.subnetId,
  vpcId: instance.vpcId,
  imageId: instance.imageId,
  launchedAt: new Date(instance.launchedAt).toISOString(),
  tags: { ...instance.tags },
});

/** All or nothing: one unknown id fails the whole call, as EC2 does. */
const find = (world: World, ids: readonly string[]): FakeInstance[] => {
  const now = world.clock.now();
  const missing = ids.filter((id) => {
    const instance = world.instances.get(id);
    return !instance || !visible(world, instance, now);
  });
  if (missing.length > 0) throw new ServiceError('InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`);
  return ids.map((id) => world.instances.get(id)!);
};

const checkTagCount = (id: string, keys: Iterable<string>): void => {
  const count = new Set(keys).size;
  if (count > MAX_TAGS)
    throw new ServiceError('TagLimitExceeded', `The maximum number of tags per resource is ${MAX_TAGS}: ${id} would have ${count}.`);
};

/** What RunInstances checks before anything else, DryRun included. */
const checkLaunch = (world: World, request: LaunchRequest): void => {
  const image = world.images.get(request.imageId);
  if (!image) throw new ServiceError('InvalidAMIID.NotFound', `The image id '[${request.imageId}]' does not exist`);
  if (!world.subnets.has(request.subnetId))
    throw new ServiceError('InvalidSubnetID.NotFound', `The subnet ID '${request.subnetId}' does not exist`);
  if (request.count < 1) throw new ServiceError('InvalidParameterValue', 'MinCount must be at least 1');
  if (request.clientToken.length > 64) throw new ServiceError('InvalidParameterValue', 'ClientToken must be at most 64 characters');
  checkTagCount('the instance', Object.keys(request.tags));
};

const fingerprint = (request: LaunchRequest): string => JSON.stringify({ ...request, clientToken: undefined });

/** pending → running after the boot time, unless a fault holds it or kills it on the way. */
export const launchInstances = (world: World, request: LaunchRequest): FakeInstance[] => {
  const prior = world.clientTokens.get(request.clientToken);
  if (prior) {
    if (prior.fingerprint !== fingerprint(request)) {
      throw new ServiceError(
        'IdempotentParameterMismatch',
        `The client token '${request.clientToken}' was already used with different parameters.`,
      );
    }
    return prior.ids.map((id) => world.instances.get(id)!);
  }
  const subnet = world.subnets.get(request.subnetId)!;
  if (
    world.faults.take(
      (f) => f.type === 'capacity' && f.az === subnet.az && (f.instanceType ?? request.instanceType) === request.instanceType,
    )
  ) {
    throw new ServiceError(
      'InsufficientInstanceCapacity',
      `We currently do not have sufficient ${request.instanceType} capacity in the Availability Zone you requested (${subnet.az}).`,
      500,
    );
  }
  const now = world.clock.now();
  const launched = Array.from({ length: request.count }, () => {
    const instance: FakeInstance = {
      id: world.nextId('i'),
      imageId: request.imageId,
      subnetId: subnet.id,
      az: subnet.az,
      vpcId: subnet.vpcId,
      instanceType: request.instanceType,
      tags: { ...request.tags },
      launchedAt: now,
      agentSilent: world.faults.take((f) => f.type === 'agent-silent') !== undefined,
      state: 'pending',
    };
    world.instances.set(instance.id, instance);
    world.record({ t: now, type: 'instance.launched', instanceId: instance.id });
    if (!world.faults.take((f) => f.type === 'never-boot')) {
      const dies = world.faults.take((f) => f.type === 'die-while-booting') !== undefined;
      world.schedule(now + world.timing.boot, (t) => boot(world, instance, dies, t));
    }
    return instance;
  });
  world.clientTokens.set(request.clientToken, { fingerprint: fingerprint(request), ids: launched.map((i) => i.id) });
  return launched;
};

const boot = (world: World, instance: FakeInstance, dies: boolean, t: number): void => {
  if (instance.state !== 'pending') return;
  if (dies) {
    instance.state = 'terminated';
    instance.terminatedAt = t;
    world.record({ t, type: 'instance.terminated', instanceId: instance.id });
    return;
  }
  instance.state = 'running';
  world.record({ t, type: 'instance.running', instanceId: instance.id });
  bootAgent(world, instance, t);
};

/** TerminateInstances (or AWS ending an instance): shutting-down, then terminated; its agent stops. */
export const terminateInstances = (world: World, instances: readonly FakeInstance[], now: number): void => {
  for (const instance of instances) {
    if (instance.state === 'shutting-down' || instance.state === 'terminated') continue;
    instance.state = 'shutting-down';
    world.record({ t: now, type: 'instance.terminating', instanceId: instance.id });
    instanceStopped(world, instance.id, now);
    stopAgent(world, instance, now);
    world.schedule(now + world.timing.terminate, (t) => {
      instance.state = 'terminated';
      instance.terminatedAt = t;
      world.record({ t, type: 'instance.terminated', instanceId: instance.id });
    });
  }
};

/** `*` and `?` as in an EC2 name filter. */
const globMatches = (pattern: string, name: string): boolean =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
  ).test(name);

const toImage = (image: { id: string; name: string; state: string; createdAt: string }): Image => ({
  id: image.id,
  name: image.name,
  state: image.state,
  createdAt: image.createdAt,
});

export const createFleet = (c: Conduit): Fleet => {
  const { world } = c;
  const describeBy = (match: (instance: FakeInstance) => boolean) => {
    const now = world.clock.now();
    return [...world.instances.values()].filter((instance) => visible(world, instance, now) && match(instance)).map(toInstance);
  };
  return {
    checkAccess: (call) => send(c, 'ec2', 'DescribeInstances', () => undefined, call.signal),
    mayLaunch: (request, call) => send(c, 'ec2', 'RunInstances', () => checkLaunch(world, request), call.signal),
    mayTerminate: async (ids, call) => {
      for (const ids100 of chunk(ids, BATCH)) await send(c, 'ec2', 'TerminateInstances', () => void find(world, ids100), call.signal);
    },
    // The fake world holds no launch templates.
    launchTemplate: (choice, call) =>
      send(
        c,
        'ec2',
        'DescribeLaunchTemplateVersions',
        () => {
          throw new UsageError(`launch template ${'id' in choice ? choice.id : choice.name} does not exist`);
        },
        call.signal,
      ),
    // The fakes' world is one account: an image has no one to be shared with.
    shareImage: (imageId) => Promise.reject(new UsageError(`image ${imageId}: the fake world has no other account`)),
    resolveImage: async (selector, call) => {
      const images = await send(c, 'ec2', 'DescribeImages', () => [...world.images.values()].map(toImage), call.signal);
      if ('id' in selector) {
        const image = images.find((known) => known.id === selector.id);
        if (!image) throw new UsageError(`image ${selector.id} does not exist or is not shared with this account`);
        if (image.state !== 'available') throw new UsageError(`image ${selector.id} is ${image.state}, not available`);
        return image;
      }
      const owned = new Set(selector.owners.map((owner) => (owner === 'self' ? ACCOUNT : owner)));
      const candidates = images.filter((image) => {
        const stored = world.images.get(image.id)!;
        return owned.has(stored.ownerId) && image.state === 'available' && globMatches(selector.name, image.name);
      });
      const newest = candidates.toSorted((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id))[0];
      if (!newest) {
        throw new UsageError(
          `no available image owned by ${selector.owners.join(', ')} has a name matching "${selector.name}"`,
          'check the AMI owners and name pattern, or name the image by id',
        );
      }
      return newest;
    },
    images: async (ids, call) => {
      if (ids.length === 0) return [];
      const all = await send(c, 'ec2', 'DescribeImages', () => [...world.images.values()].map(toImage), call.signal);
      return all.filter((image) => ids.includes(image.id));
    },
    subnets: async (ids, call) => {
      if (ids.length === 0) return [];
      return send(
        c,
        'ec2',
        'DescribeSubnets',
        () => {
          const missing = ids.filter((id) => !world.subnets.has(id));
          if (missing.length > 0)
            throw new ServiceError('InvalidSubnetID.NotFound', `The subnet ID '${missing.join(', ')}' does not exist`);
          return ids.map((id) => ({ ...world.subnets.get(id)! }));
        },
        call.signal,
      );
    },
    launch: async (request, call) => {
      const where = `the Availability Zone of ${request.subnetId}`;
      const launched = await send(
        c,
        'ec2',
        'RunInstances',
        () => {
          checkLaunch(world, request);
          return launchInstances(world, request).map(toInstance);
        },
        call.signal,
        { where },
      );
      return launched;
    },
    describe: async (ids, call) => {
      const found: Instance[] = [];
      for (const ids100 of chunk(ids, BATCH)) {
        const wanted = new Set(ids100);
        found.push(...(await send(c, 'ec2', 'DescribeInstances', () => describeBy((i) => wanted.has(i.id)), call.signal)));
      }
      return found;
    },
    // A filter pages at DescribeInstances' largest page, as the adapter asks.
    findByTag: async (key, value, call, options) => {
      const values = [value].flat();
      const states = options?.states;
      const inState = (i: FakeInstance) =>
        states ? states.includes(i.state) : options?.withTerminated === true || i.state !== 'terminated';
      const found: Instance[] = [];
      for (let start = 0; ; start += PAGE) {
        const { page, more } = await send(
          c,
          'ec2',
          'DescribeInstances',
          () => {
            const all = describeBy((i) => values.includes(i.tags[key] ?? '') && inState(i));
            return { page: all.slice(start, start + PAGE), more: start + PAGE < all.length };
          },
          call.signal,
        );
        found.push(...page);
        if (!more) return found;
      }
    },
    terminate: async (ids, call) => {
      for (const ids100 of chunk(ids, BATCH)) {
        await send(c, 'ec2', 'TerminateInstances', () => terminateInstances(world, find(world, ids100), world.clock.now()), call.signal);
      }
    },
    tag: async (ids, tags, call) => {
      for (const ids100 of chunk(ids, BATCH)) {
        await send(
          c,
          'ec2',
          'CreateTags',
          () => {
            const instances = find(world, ids100);
            for (const instance of instances) checkTagCount(instance.id, [...Object.keys(instance.tags), ...Object.keys(tags)]);
            for (const instance of instances) {
              Object.assign(instance.tags, tags);
              world.record({ t: world.clock.now(), type: 'instance.tagged', instanceId: instance.id });
            }
          },
          call.signal,
        );
      }
    },
    untag: async (ids, tags, call) => {
      for (const ids100 of chunk(ids, BATCH)) {
        await send(
          c,
          'ec2',
          'DeleteTags',
          () => {
            for (const instance of find(world, ids100)) {
              const doomed = Object.keys(tags).filter((key) => instance.tags[key] === tags[key]);
              for (const key of doomed) delete instance.tags[key];
              if (doomed.length > 0) world.record({ t: world.clock.now(), type: 'instance.untagged', instanceId: instance.id });
            }
          },
          call.signal,
        );
      }
    },
  };
};

export const ACCOUNT = '123456789012';
