// biome-ignore-all lint/suspicious/noTemplateCurlyInString: user data templates are written with ${…} on purpose
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, UsageError } from '../../src/rollout/errors.js';
import { type UserDataTemplate, fillUserData, parseTemplate, renderTemplate } from '../../src/rollout/template.js';
import { spec } from './fixtures.js';

const template = (text: string, vars: Record<string, string> = {}): UserDataTemplate => ({
  configFile: 'replacer.yml',
  field: 'environments.staging.roles.web.userDataFile',
  path: '/cfg/boot.sh',
  text,
  varsField: 'environments.staging.roles.web.vars',
  vars,
});

const origin = () => '--var';

const problem = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('renderTemplate', () => {
  it("fills ${name}; a shell's $HOME, $$ and $1 pass through; $${ is a literal ${", () => {
    const text = 'cp ${artifact} /tmp/a\necho $$ $HOME $1 $${HOME} ${artifact}\n';
    expect(renderTemplate(template(text), { artifact: 's3://b/app.tar.gz' }, origin)).toBe(
      'cp s3://b/app.tar.gz /tmp/a\necho $$ $HOME $1 ${HOME} s3://b/app.tar.gz\n',
    );
  });

  it('renders a template without variables as it is', () => {
    expect(renderTemplate(template('#!/bin/sh\necho hi $$\n'), {}, origin)).toBe('#!/bin/sh\necho hi $$\n');
  });

  it('lists each variable once, in order of first use', () => {
    expect(parseTemplate('${b} ${a} ${b} $${c}').names).toEqual(['b', 'a']);
  });

  it('names an unset variable, its line and the file', () => {
    expect(problem(() => renderTemplate(template('#!/bin/sh\n\ncp ${artifact} x\n${artifact}'), {}, origin))).toBe(
      'replacer.yml: environments.staging.roles.web.userDataFile: /cfg/boot.sh: unset variable ${artifact} (line 3): give each with --var NAME=VALUE or under environments.staging.roles.web.vars',
    );
  });

  it('names an unknown variable, where its value came from, and the variables there are', () => {
    expect(problem(() => renderTemplate(template('${a} ${b}'), { a: '1', b: '2', c: '3' }, origin))).toBe(
      'replacer.yml: environments.staging.roles.web.userDataFile: /cfg/boot.sh: unknown variable c (--var): the template has no such ${…}; its variables: a, b',
    );
  });

  it.each([
    ['a shell default', 'echo ${HOME:-/root}', 'line 1: "${HOME:-/root}" is not a variable'],
    ['a space', 'x\n${ artifact }', 'line 2: "${ artifact }" is not a variable'],
    ['a leading digit', '${1x}', 'line 1: "${1x}" is not a variable'],
    ['an unclosed brace', 'a ${artifact\n}', 'line 1: "${" is not closed by "}" on its line'],
  ])('refuses %s, saying how to write a literal', (_, text, expected) => {
    const message = problem(() => renderTemplate(template(text), {}, origin));
    expect(message).toContain(expected);
    expect(message).toContain('write "$${" for a literal "${"');
  });

  it('refuses a value longer than an EC2 tag value holds', () => {
    expect(problem(() => renderTemplate(template('${a}'), { a: 'x'.repeat(257) }, origin))).toContain(
      'variable a (--var) is 257 characters long; each value is recorded in an EC2 tag, which holds at most 256',
    );
    expect(renderTemplate(template('${a}'), { a: 'x'.repeat(256) }, origin)).toHaveLength(256);
  });

  it.each([
    ['a command substitution', '$(id)', '"$"'],
    ['backticks', '`id`', '"`"'],
    ['a newline', 'app\nid', '"\\n"'],
    ['another variable', '${other}', '"$"'],
    ['a space', 'app 1', '" "'],
    ['a quote', "app'1", `"'"`],
  ])('refuses %s in an unquoted slot, naming the variable and the character', (_, value, shown) => {
    expect(problem(() => renderTemplate(template('#!/bin/sh\ncp ${artifact} /tmp\n'), { artifact: value }, origin))).toContain(
      `variable artifact (--var) holds ${shown}, which a shell would interpret at \${artifact} (line 2): a value may hold only letters, digits and ._:/@+=,%~-; write \${artifact:q} in the template to insert it single-quoted`,
    );
  });

  it('takes URLs, paths, versions and ids as they are', () => {
    const value = 's3://b/app-1.2+build_3,x=y%20~me@host:8080';
    expect(renderTemplate(template('${a}'), { a: value }, origin)).toBe(value);
  });

  it.each(["$(id)'; rm -rf / #", '`id`\n${HOME}', "''", '', "it's"])('${name:q} inserts %j as one literal sh word', (value) => {
    const rendered = renderTemplate(template("printf '%s' ${a:q}"), { a: value }, origin);
    expect(execFileSync('sh', ['-c', rendered], { encoding: 'utf8' })).toBe(value);
  });

  it('quotes embedded single quotes for sh; the same value in an unquoted slot still refuses', () => {
    expect(renderTemplate(template('cp ${a:q} /tmp'), { a: "$(id)'x" }, origin)).toBe("cp '$(id)'\\''x' /tmp");
    expect(problem(() => renderTemplate(template('${a:q} ${a}'), { a: '$(id)' }, origin))).toContain('variable a (--var) holds "$"');
  });

  it('applies the 16384-byte limit of EC2 after the variables are filled in', () => {
    const head = 'é'.repeat(8000);
    expect(Buffer.byteLength(renderTemplate(template(`${head}\${a}`), { a: 'x'.repeat(256) }, origin))).toBe(16_256);
    expect(problem(() => renderTemplate(template(`${head}\${a}\${a}`), { a: 'x'.repeat(256) }, origin))).toBe(
      'replacer.yml: environments.staging.roles.web.userDataFile: /cfg/boot.sh is 16512 bytes with its variables filled in; EC2 accepts at most 16384 bytes of user data',
    );
  });
});

describe('fillUserData', () => {
  it('sets the user data and the values it was filled with', () => {
    const filled = fillUserData(spec({ template: template('get ${artifact}') }), { artifact: 's3://b/a' }, origin);
    expect(filled).toMatchObject({ userData: 'get s3://b/a', vars: { artifact: 's3://b/a' } });
  });

  it('refuses values for a role without a userDataFile', () => {
    expect(() => fillUserData(spec(), { artifact: 'x' }, origin)).toThrow(UsageError);
    expect(() => fillUserData(spec(), { artifact: 'x' }, origin)).toThrow(
      'staging/web has no userDataFile, so it has no variable to fill: artifact (--var)',
    );
    expect(fillUserData(spec(), {}, origin).vars).toEqual({});
  });
});
