// Every EC2 tag the tool reads or writes: the one home of their keys and values.
import type { AzLaunch } from './plan.js';
import type { Image } from './ports.js';
import type { RoleSpec } from './spec.js';

export const TAG_ENV = 'mackerel-replacer:env';
/** The tool's role tag, `<env>/<role>`: on every instance it launches, and the default ownership tag. */
export const TAG_OWNER = 'mackerel-replacer:role';
export const TAG_DEPLOY = 'mackerel-replacer:deploy-id';
export const TAG_MANAGED_BY = 'managed-by';
export const TAG_STATE = 'mackerel-replacer:state';
export const TAG_STARTED = 'mackerel-replacer:started-at';
export const TAG_RUNNER = 'mackerel-replacer:runner';
export const TAG_PLAN = 'mackerel-replacer:plan';
/** On a deploy's new instances while a command works on it (lock.ts): `<runner> <command> since <ISO time>`. */
export const TAG_LOCK = 'mackerel-replacer:lock';
/** What the deploy shipped, readable from AWS alone: the AMI's name (its id is the instance's own) ... */
export const TAG_AMI_NAME = 'mackerel-replacer:ami-name';
/** ... and one tag per user data variable, `mackerel-replacer:var:<name>` = its value. */
export const VAR_TAG_PREFIX = 'mackerel-replacer:var:';
/**
 * On each old instance: the deploy that replaces it. The old fleet is recorded on its own
 * instances, one tag each, so the new instances' tags do not grow with the fleet.
 */
export const TAG_REPLACED_BY = 'mackerel-replacer:replaced-by';

export const IN_FLIGHT = 'in-flight';
export const DONE = 'done';
/** On the new instances while their deploy keeps the old fleet (keep.ts). */
export const KEPT = 'kept';
/** On the new instances while their deploy is held before cutover (hold.ts). */
export const HELD = 'held';

/** EC2's limits: tags per resource, and characters per key and per value. */
export const TAG_LIMITS = { perResource: 50, key: 128, value: 256 } as const;

/**
 * The most tags the tool writes on an instance itself: 11 at launch, TAG_LOCK while a command works
 * on its deploy, TAG_REPLACED_BY when the next deploy replaces it.
 */
export const TOOL_TAGS = 13;
/** The role's own tags and its user data variables (a tag each) share what is left. */
export const VAR_BUDGET = TAG_LIMITS.perResource - TOOL_TAGS;

/** The value of the tool's role tag. */
export const ownerValue = (spec: Pick<RoleSpec, 'env' | 'role'>): string => `${spec.env}/${spec.role}`;

/** What the launch knows of its deploy, written on every new instance. */
export interface LaunchFacts {
  readonly deployId: string;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly runner: string;
  readonly launches: readonly AzLaunch[];
  readonly image: Pick<Image, 'name'>;
}

/**
 * The tags of every new instance (and its volumes). A fixed number whatever the fleet's size; the
 * preflight DryRun sends exactly these. The tool's role tag stays even when ownership names
 * another tag: it marks what the tool launched.
 */
export const instanceTags = (spec: RoleSpec, facts: LaunchFacts): Record<string, string> => ({
  // The launch template's own tags are sent again, under the role's and the tool's: they are kept
  // whether EC2 merges a request's tag specifications with the template's or replaces them.
  ...spec.pinnedTemplate?.tags,
  ...spec.tags,
  Name: `${spec.service}-${spec.role}`,
  [TAG_ENV]: spec.env,
  [TAG_OWNER]: ownerValue(spec),
  [spec.ownership.tag]: spec.ownership.value,
  [TAG_DEPLOY]: facts.deployId,
  [TAG_MANAGED_BY]: 'mackerel-replacer',
  [TAG_STATE]: IN_FLIGHT,
  [TAG_STARTED]: new Date(facts.startedAt).toISOString(),
  [TAG_RUNNER]: facts.runner,
  [TAG_PLAN]: facts.launches.map((launch) => `${launch.az}=${launch.count}`).join(','),
  ...shippedTags(facts.image, spec.vars ?? {}),
});

/** The tags that say what a deploy shipped; an AMI name is at most 128 characters, a variable's value at most 256. */
export const shippedTags = (image: Pick<Image, 'name'>, vars: Readonly<Record<string, string>>): Record<string, string> => ({
  [TAG_AMI_NAME]: image.name.slice(0, TAG_LIMITS.value),
  ...Object.fromEntries(Object.entries(vars).map(([name, value]) => [`${VAR_TAG_PREFIX}${name}`, value])),
});

/** The user data variables an instance's tags record. */
export const varsOfTags = (tags: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(tags)
      .filter(([key]) => key.startsWith(VAR_TAG_PREFIX))
      .map(([key, value]) => [key.slice(VAR_TAG_PREFIX.length), value]),
  );

/** Why EC2 would refuse these tags on one resource, or undefined when it takes them. */
export const tagLimitProblem = (tags: Readonly<Record<string, string>>): string | undefined => {
  const keys = Object.keys(tags);
  if (keys.length > TAG_LIMITS.perResource) {
    return `each new instance would carry ${keys.length} tags (the config's tags and the tool's own); EC2 allows ${TAG_LIMITS.perResource} per instance`;
  }
  const longKey = keys.find((key) => key.length > TAG_LIMITS.key);
  if (longKey) return `tag key "${longKey.slice(0, 40)}…" has ${longKey.length} characters; EC2 allows ${TAG_LIMITS.key}`;
  const longValue = keys.find((key) => tags[key]!.length > TAG_LIMITS.value);
  if (longValue) return `the value of tag ${longValue} has ${tags[longValue]!.length} characters; EC2 allows ${TAG_LIMITS.value}`;
  const reserved = keys.find((key) => key.toLowerCase().startsWith('aws:'));
  if (reserved) return `tag key ${reserved} starts with "aws:", which AWS reserves`;
  return undefined;
};
