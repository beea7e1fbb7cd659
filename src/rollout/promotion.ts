// Promotion: production launches what staging verified. What a deploy shipped is read back from
// the tags of the source environment's running instances (AWS alone), never from a journal that
// may sit on another machine.
import { UsageError } from './errors.js';
import type { Call, Fleet, Instance, LaunchRequest } from './ports.js';
import type { RoleSpec } from './spec.js';
import { DONE, IN_FLIGHT, TAG_AMI_NAME, TAG_DEPLOY, TAG_OWNER, TAG_STARTED, TAG_STATE, ownerValue, varsOfTags } from './tags.js';
import { type Origin, fillUserData } from './template.js';

/** What another environment's last successful deploy of the role shipped. */
export interface Promotion {
  /** The environment promoted from. */
  readonly env: string;
  readonly deployId: string;
  readonly image: { readonly id: string; readonly name: string };
  readonly vars: Readonly<Record<string, string>>;
  /** Its running instances, which all agree on the image and the variables. */
  readonly instanceIds: readonly string[];
  /** When the source environment is another AWS account: it, and the account the image is shared with. */
  readonly accounts?: Accounts;
}

export interface Accounts {
  readonly source: string;
  readonly target: string;
}

/** Where `--promote-from` reads the promoted deploy: the source environment's EC2, with its own credentials. */
export interface PromotionSource {
  readonly fleet: Fleet;
  /** Set when the source environment is another AWS account than the one deployed to. */
  readonly accounts?: Accounts;
  /** The target's `promotion.shareImage`: the tool adds the launch permission itself, before the launch. */
  readonly shareImage: boolean;
}

/** A user data variable of a deploy, and where its value came from (`--var`, `vars:`, `staging deploy <id>`). */
export interface ShippedVar {
  readonly name: string;
  readonly value: string;
  readonly from: string;
}

export const formatVars = (vars: Readonly<Record<string, string>>): string =>
  Object.keys(vars).length > 0
    ? Object.keys(vars)
        .sort()
        .map((name) => `${name}=${vars[name]}`)
        .join(', ')
    : 'no variables';

interface Shipped {
  readonly deployId: string;
  readonly startedAt: string;
  readonly image: { readonly id: string; readonly name: string };
  readonly vars: Readonly<Record<string, string>>;
}

const shippedBy = (instance: Instance): Shipped | undefined => {
  const name = instance.tags[TAG_AMI_NAME];
  if (name === undefined) return undefined;
  return {
    deployId: instance.tags[TAG_DEPLOY] ?? 'unknown',
    startedAt: instance.tags[TAG_STARTED] ?? '',
    image: { id: instance.imageId, name },
    vars: varsOfTags(instance.tags),
  };
};

/** Instances that run the same thing share a key, whatever deploy launched them. */
const contentKey = (shipped: Shipped): string =>
  JSON.stringify([shipped.image.id, Object.entries(shipped.vars).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);

const list = (ids: readonly string[]): string => ids.join(', ');

/**
 * What `from`'s last successful deploy of the role shipped, read from the tags of its running
 * instances marked done. Refuses when there is none, when one carries no record of what it
 * shipped, and when they disagree on the image or the variables (naming each side).
 */
export const findPromotion = async (
  from: { readonly env: string; readonly role: string },
  fleet: Fleet,
  call: Call,
): Promise<Promotion> => {
  const owner = ownerValue(from);
  const running = (await fleet.findByTag(TAG_OWNER, owner, call)).filter((instance) => instance.state === 'running');
  const done = running.filter((instance) => instance.tags[TAG_STATE] === DONE);
  if (done.length === 0) {
    const inFlight = [...new Set(running.filter((i) => i.tags[TAG_STATE] === IN_FLIGHT).map((i) => i.tags[TAG_DEPLOY] ?? 'unknown'))];
    throw new UsageError(
      `${owner} has no successful deploy to promote: none of its running instances is tagged ${TAG_STATE}=${DONE}` +
        (inFlight.length > 0 ? ` (deploy ${list(inFlight)} is still in flight)` : ''),
      `deploy ${from.env} first (mackerel-replacer replace --env ${from.env} --role ${from.role}), check it, then promote it`,
    );
  }
  const unrecorded = done.filter((instance) => shippedBy(instance) === undefined);
  if (unrecorded.length > 0) {
    throw new UsageError(
      `${owner}'s instances ${list(unrecorded.map((i) => i.id))} carry no record of what they shipped (no ${TAG_AMI_NAME} tag): they were deployed by an older mackerel-replacer`,
      `deploy ${from.env} once more with this version (mackerel-replacer replace --env ${from.env} --role ${from.role}), then promote it`,
    );
  }
  const groups = new Map<string, { shipped: Shipped[]; ids: string[] }>();
  for (const instance of done) {
    const shipped = shippedBy(instance)!;
    const group = groups.get(contentKey(shipped)) ?? { shipped: [], ids: [] };
    group.shipped.push(shipped);
    group.ids.push(instance.id);
    groups.set(contentKey(shipped), group);
  }
  if (groups.size > 1) {
    const sides = [...groups.values()].map(({ shipped, ids }) => {
      const [first] = shipped;
      const deploys = [...new Set(shipped.map((s) => s.deployId))];
      return `deploy ${list(deploys)} (${list(ids)}): ${first!.image.id} (${first!.image.name}), ${formatVars(first!.vars)}`;
    });
    throw new UsageError(
      `${owner}'s running instances disagree on what they run, so there is no one deploy to promote:\n  ${sides.join('\n  ')}`,
      `finish or roll back what is in flight in ${from.env} (mackerel-replacer status), or deploy ${from.env} again so that one deploy runs the role`,
    );
  }
  const [{ shipped, ids }] = [...groups.values()] as [{ shipped: Shipped[]; ids: string[] }];
  const latest = shipped.toSorted((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0))[0]!;
  return { env: from.env, deployId: latest.deployId, image: latest.image, vars: latest.vars, instanceIds: ids.toSorted() };
};

/**
 * The spec as this deploy ships it: the user data filled in and, when promoting, the promoted
 * image. Values: the role's `vars:` and then `--var`; or, when promoting, the promoted values
 * and then the role's `vars:` (an environment's own settings, such as its Mackerel service,
 * are never promoted over).
 */
export const shipSpec = (
  spec: RoleSpec,
  given: Readonly<Record<string, string>>,
  promotion: Promotion | undefined,
): { readonly spec: RoleSpec; readonly vars: readonly ShippedVar[] } => {
  const own = spec.template?.vars ?? {};
  if (promotion && Object.keys(given).length > 0) {
    throw new UsageError('--var cannot be combined with --promote-from: a promotion ships the promoted values', 'leave --var out');
  }
  const values = promotion ? { ...promotion.vars, ...own } : { ...own, ...given };
  const origin: Origin = (name) =>
    promotion
      ? Object.hasOwn(own, name)
        ? `${spec.env}'s vars:`
        : `${promotion.env} deploy ${promotion.deployId}`
      : Object.hasOwn(given, name)
        ? '--var'
        : 'vars:';
  const target = promotion ? { ...spec, ami: { id: promotion.image.id } } : spec;
  const filled = fillUserData(target, values, origin);
  const vars = Object.keys(filled.vars ?? {})
    .sort()
    .map((name) => ({ name, value: filled.vars![name]!, from: origin(name) }));
  return { spec: filled, vars };
};

/**
 * Whether the target account can launch the promoted image: visible there (DescribeImages by id
 * with the target's credentials), or else refused with the command that shares it, unless the
 * tool is to share it itself (then true: still to share).
 */
export const checkImageShared = async (promotion: Promotion, source: PromotionSource, target: Fleet, call: Call): Promise<boolean> => {
  const { accounts } = source;
  if (!accounts) return false;
  const imageId = promotion.image.id;
  if ((await target.images([imageId], call)).length > 0) return false;
  if (source.shareImage) return true;
  throw new UsageError(
    `image ${imageId} of ${promotion.env} (account ${accounts.source}) is not shared with account ${accounts.target}: it cannot be launched there`,
    `with ${promotion.env}'s credentials, share it: aws ec2 modify-image-attribute --image-id ${imageId} --launch-permission "Add=[{UserId=${accounts.target}}]" ` +
      `(for an encrypted image, also grant ${accounts.target} the use of its snapshots' KMS key); or set promotion.shareImage: true on the environment deployed to`,
  );
};

/**
 * The target's EC2 as preflight sees it while the promoted image is not yet shared with it: the
 * image as its owner's account describes it, and each RunInstances DryRun kept in `dryRuns` for
 * after the sharing (before it, EC2 would not find the image).
 */
export const beforeSharing = (target: Fleet, source: Fleet, dryRuns: LaunchRequest[]): Fleet =>
  new Proxy(target, {
    get: (fleet, name, receiver) => {
      if (name === 'resolveImage') return (...args: Parameters<Fleet['resolveImage']>) => source.resolveImage(...args);
      if (name === 'mayLaunch') return async (request: LaunchRequest) => void dryRuns.push(request);
      return Reflect.get(fleet, name, receiver);
    },
  });

/** The plan's checks, saying the RunInstances DryRun comes once the image is shared. */
export const sharingChecks = (checks: readonly string[], promotion: Promotion): string[] => [
  ...checks.map((check) => (check.startsWith('DryRun RunInstances') ? `${check}: after the sharing, before the launch` : check)),
  `image ${promotion.image.id} is shared with account ${promotion.accounts?.target} (promotion.shareImage, with ${promotion.env}'s credentials) once the deploy goes ahead`,
];

/** promotion.shareImage: the launch permission added with the source's credentials, then the DryRuns kept for after it. */
export const shareImage = async (
  promotion: Promotion,
  source: PromotionSource,
  target: Fleet,
  dryRuns: readonly LaunchRequest[],
  call: Call,
) => {
  await source.fleet.shareImage(promotion.image.id, source.accounts!.target, call);
  for (const request of dryRuns) await target.mayLaunch(request, call);
};
