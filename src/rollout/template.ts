// User data templates: `${name}` is a variable, `${name:q}` one inserted single-quoted for sh, `$${`
// a literal `${`; nothing else is special, so a shell's `$HOME` and `$$` pass through. A value
// reaches a shell, so an unquoted slot takes only characters no shell interprets. Every variable's
// value is recorded with the deploy and tagged on its instances (see tags.ts), so values are
// bounded by what an EC2 tag holds.
import { ConfigError, UsageError } from './errors.js';
import type { RoleSpec } from './spec.js';
import { TAG_LIMITS, VAR_BUDGET } from './tags.js';

/** A role's `userDataFile`, read but not yet filled in. */
export interface UserDataTemplate {
  /** The config file, and the field that names the template, for messages. */
  readonly configFile: string;
  readonly field: string;
  /** The template's path, resolved against the config file's folder. */
  readonly path: string;
  readonly text: string;
  /** Where the role's `vars:` are in the config, for messages. */
  readonly varsField: string;
  /** The role's `vars:`: this environment's own values. */
  readonly vars: Readonly<Record<string, string>>;
}

/** EC2 refuses user data over 16 KB, counted before base64. */
export const USER_DATA_LIMIT = 16_384;
/** Keeps `mackerel-replacer:var:<name>` well within a tag key's 128 characters. */
export const VAR_NAME_MAX = 64;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Part = string | { readonly name: string; readonly line: number; readonly quoted: boolean };

/** What a value in an unquoted slot may not hold: it may hold URLs, paths, versions, ids. */
const UNSAFE = /[^A-Za-z0-9._:/@+=,%~-]/;

/** `value` as one sh word, taken literally: single-quoted, each `'` closed, escaped and reopened. */
const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

interface Parsed {
  readonly parts: readonly Part[];
  /** Each variable once, in order of first use. */
  readonly names: readonly string[];
  readonly problems: readonly string[];
}

const lineAt = (text: string, index: number): number => text.slice(0, index).split('\n').length;

export const parseTemplate = (text: string): Parsed => {
  const parts: Part[] = [];
  const problems: string[] = [];
  let literal = '';
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf('${', at);
    if (open === -1) {
      literal += text.slice(at);
      break;
    }
    if (open > at && text[open - 1] === '$') {
      literal += `${text.slice(at, open - 1)}\${`;
      at = open + 2;
      continue;
    }
    literal += text.slice(at, open);
    const line = lineAt(text, open);
    const close = text.indexOf('}', open + 2);
    const slot = close === -1 ? undefined : text.slice(open + 2, close);
    if (slot === undefined || slot.includes('\n')) {
      problems.push(`line ${line}: "\${" is not closed by "}" on its line; write "$\${" for a literal "\${"`);
      literal += '${';
      at = open + 2;
      continue;
    }
    const quoted = slot.endsWith(':q');
    const name = quoted ? slot.slice(0, -2) : slot;
    if (!NAME.test(name) || name.length > VAR_NAME_MAX) {
      problems.push(
        `line ${line}: "\${${slot.length > 40 ? `${slot.slice(0, 40)}…` : slot}}" is not a variable: a name is up to ${VAR_NAME_MAX} letters, digits and "_", not starting with a digit, followed by ":q" to insert the value single-quoted; write "$\${" for a literal "\${" (a shell's "\${HOME:-/root}", say)`,
      );
    } else {
      parts.push(literal, { name, line, quoted });
      literal = '';
    }
    at = close + 1;
  }
  parts.push(literal);
  const names = [...new Set(parts.flatMap((part) => (typeof part === 'string' ? [] : [part.name])))];
  return { parts, names, problems };
};

const fail = (template: UserDataTemplate, problem: string): ConfigError =>
  new ConfigError(template.configFile, template.field, `${template.path}: ${problem}`);

/** Throws the template's syntax problems; returns its variables. */
export const templateVariables = (template: UserDataTemplate): readonly string[] => {
  const { names, problems } = parseTemplate(template.text);
  if (problems.length > 0) throw fail(template, problems.join('; '));
  return names;
};

/** Where each value came from, for messages: `--var`, `vars:`, `staging deploy <id>`. */
export type Origin = (name: string) => string;

const listed = (names: readonly string[]): string => (names.length > 0 ? names.join(', ') : 'none');

/**
 * The template with every variable filled in. Refuses, naming each variable and the file, a value
 * for a variable the template does not have, a variable without a value, a value longer than an
 * EC2 tag holds, a value a shell would interpret in an unquoted slot, and a result longer than EC2 accepts.
 */
export const renderTemplate = (template: UserDataTemplate, values: Readonly<Record<string, string>>, origin: Origin): string => {
  const { parts, names, problems } = parseTemplate(template.text);
  if (problems.length > 0) throw fail(template, problems.join('; '));
  const unknown = Object.keys(values).filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    const which = unknown.map((name) => `${name} (${origin(name)})`).join(', ');
    throw fail(
      template,
      `unknown variable${unknown.length > 1 ? 's' : ''} ${which}: the template has no such \${…}; its variables: ${listed(names)}`,
    );
  }
  const unset = parts.flatMap((part) => (typeof part !== 'string' && !Object.hasOwn(values, part.name) ? [part] : []));
  if (unset.length > 0) {
    const which = [...new Set(unset.map((part) => part.name))].map(
      (name) => `\${${name}} (line ${unset.find((p) => p.name === name)!.line})`,
    );
    throw fail(
      template,
      `unset variable${which.length > 1 ? 's' : ''} ${which.join(', ')}: give each with --var NAME=VALUE or under ${template.varsField}`,
    );
  }
  const long = names.find((name) => values[name]!.length > TAG_LIMITS.value);
  if (long) {
    throw fail(
      template,
      `variable ${long} (${origin(long)}) is ${values[long]!.length} characters long; each value is recorded in an EC2 tag, which holds at most ${TAG_LIMITS.value}`,
    );
  }
  for (const part of parts) {
    if (typeof part === 'string' || part.quoted) continue;
    const character = UNSAFE.exec(values[part.name]!)?.[0];
    if (character === undefined) continue;
    throw fail(
      template,
      `variable ${part.name} (${origin(part.name)}) holds ${JSON.stringify(character)}, which a shell would interpret at \${${part.name}} (line ${part.line}): a value may hold only letters, digits and ._:/@+=,%~-; write \${${part.name}:q} in the template to insert it single-quoted`,
    );
  }
  const text = parts
    .map((part) => (typeof part === 'string' ? part : part.quoted ? shellQuote(values[part.name]!) : values[part.name]!))
    .join('');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > USER_DATA_LIMIT) {
    const filled = names.length > 0 ? ' with its variables filled in' : '';
    throw new ConfigError(
      template.configFile,
      template.field,
      `${template.path} is ${bytes} bytes${filled}; EC2 accepts at most ${USER_DATA_LIMIT} bytes of user data`,
    );
  }
  return text;
};

/** How many variables a role with `tags` may use: they share the tags EC2 allows per instance. */
export const variableBudget = (tags: Readonly<Record<string, string>>): number => VAR_BUDGET - Object.keys(tags).length;

/**
 * The spec with its user data filled in from `values`, and `vars` set to them: what the deploy
 * ships, records and tags. A role without a template takes no values.
 */
export const fillUserData = (spec: RoleSpec, values: Readonly<Record<string, string>>, origin: Origin): RoleSpec => {
  const { template } = spec;
  if (!template) {
    const names = Object.keys(values);
    if (names.length === 0) return { ...spec, vars: {} };
    throw new UsageError(
      `${spec.env}/${spec.role} has no userDataFile, so it has no variable to fill: ${names.map((name) => `${name} (${origin(name)})`).join(', ')}`,
      'leave --var out, or give the role a userDataFile with variables in it',
    );
  }
  return { ...spec, userData: renderTemplate(template, values, origin), vars: { ...values } };
};
