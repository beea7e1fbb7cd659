// The AWS query protocol, both dialects: form-encoded requests with indexed list members
// (`Owner.1`, `Filter.2.Value.1`, `Targets.member.3.Id`) and XML answers.

/** An AWS error for the caller: rendered as EC2 or ELBv2 XML with this status. */
export class QueryError extends Error {
  override readonly name = 'QueryError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Groups the keys `prefix.N` / `prefix.N.rest` by N, in index order.
const byIndex = (params: URLSearchParams, prefix: string): Map<number, URLSearchParams> => {
  const pattern = new RegExp(`^${escapeRegExp(prefix)}\\.(\\d+)(?:\\.(.+))?$`);
  const groups = new Map<number, URLSearchParams>();
  for (const [key, value] of params) {
    const match = pattern.exec(key);
    if (!match) continue;
    const index = Number(match[1]);
    const group = groups.get(index) ?? new URLSearchParams();
    group.append(match[2] ?? '', value);
    groups.set(index, group);
  }
  return new Map([...groups].sort(([a], [b]) => a - b));
};

/** `prefix.1`, `prefix.2`, … as a list. */
export const listParam = (params: URLSearchParams, prefix: string): string[] =>
  [...byIndex(params, prefix).values()].map((group) => group.get('') ?? '');

/** `prefix.N.field…` as one URLSearchParams per N, keys relative to `prefix.N.`. */
export const structListParam = (params: URLSearchParams, prefix: string): URLSearchParams[] => [...byIndex(params, prefix).values()];

export interface Filter {
  readonly name: string;
  readonly values: readonly string[];
}

/** EC2 `Filter.N.Name` / `Filter.N.Value.M`. */
export const filterParam = (params: URLSearchParams): Filter[] =>
  structListParam(params, 'Filter').map((group) => ({ name: group.get('Name') ?? '', values: listParam(group, 'Value') }));

/**
 * EC2 filter values take `*` (any run) and `?` (any one character). Compiled once per value, so
 * a filter over thousands of items costs one RegExp, not one per item.
 */
export const wildcardMatcher = (pattern: string): ((value: string) => boolean) => {
  if (!/[*?]/.test(pattern)) return (value) => value === pattern;
  const regExp = new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escapeRegExp(c)))
      .join('')}$`,
    's',
  );
  return (value) => regExp.test(value);
};

export const intParam = (params: URLSearchParams, name: string): number | undefined => {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new QueryError(400, 'InvalidParameterValue', `Value (${raw}) for parameter ${name} is invalid.`);
  return n;
};

export const requiredParam = (params: URLSearchParams, name: string): string => {
  const value = params.get(name);
  if (!value) throw new QueryError(400, 'MissingParameter', `The request must contain the parameter ${name}`);
  return value;
};

const XML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const XML_SPECIAL = /[&<>"']/;

// Most values (ids, states, addresses) need no escaping: test before replacing.
const escapeXml = (text: string) => (XML_SPECIAL.test(text) ? text.replace(/[&<>"']/g, (c) => XML_ENTITIES[c]!) : text);

/** `<name>value</name>`, escaped; nothing when the value is undefined. */
export const leaf = (name: string, value: string | number | boolean | undefined): string =>
  value === undefined ? '' : `<${name}>${escapeXml(String(value))}</${name}>`;

/** `<name>…</name>` around already-built XML. */
export const el = (name: string, ...children: string[]): string => `<${name}>${children.join('')}</${name}>`;

/** A list: `<name><item>…</item>…</name>` (EC2 uses `item`, ELBv2 `member`). */
export const listEl = (name: string, member: 'item' | 'member', entries: readonly string[]): string =>
  entries.length === 0 ? `<${name}/>` : el(name, ...entries.map((entry) => el(member, entry)));

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const ELB_NS = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';

/** EC2 puts the fields straight under the root. */
export const ec2Response = (action: string, requestId: string, body: string): string =>
  `${XML_HEAD}<${action}Response xmlns="${EC2_NS}">${leaf('requestId', requestId)}${body}</${action}Response>`;

export const ec2ErrorResponse = (error: QueryError, requestId: string): string =>
  `${XML_HEAD}<Response><Errors><Error>${leaf('Code', error.code)}${leaf('Message', error.message)}</Error></Errors>${leaf('RequestID', requestId)}</Response>`;

/** ELBv2 wraps the fields in `<ActionResult>` beside `<ResponseMetadata>`. */
export const elbResponse = (action: string, requestId: string, body: string): string =>
  `${XML_HEAD}<${action}Response xmlns="${ELB_NS}">${el(`${action}Result`, body)}${el('ResponseMetadata', leaf('RequestId', requestId))}</${action}Response>`;

export const elbErrorResponse = (error: QueryError, requestId: string): string =>
  `${XML_HEAD}<ErrorResponse xmlns="${ELB_NS}"><Error>${leaf('Type', error.status < 500 ? 'Sender' : 'Receiver')}${leaf('Code', error.code)}${leaf('Message', error.message)}</Error>${leaf('RequestId', requestId)}</ErrorResponse>`;
