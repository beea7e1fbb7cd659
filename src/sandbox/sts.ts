import { randomBytes } from 'node:crypto';
import { el, leaf, QueryError, requiredParam } from './query.js';
import type { ActionContext, Caller } from './world.js';

// STS, query protocol, Version 2011-06-15: who the credentials are, and roles of the sandbox's accounts to assume.

const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
/** AssumeRole's default DurationSeconds. */
const SESSION_MS = 3600_000;

export const stsResponse = (action: string, requestId: string, body: string): string =>
  `${XML_HEAD}<${action}Response xmlns="${STS_NS}">${el(`${action}Result`, body)}${el('ResponseMetadata', leaf('RequestId', requestId))}</${action}Response>`;

export const stsErrorResponse = (error: QueryError, requestId: string): string =>
  `${XML_HEAD}<ErrorResponse xmlns="${STS_NS}"><Error>${leaf('Type', error.status < 500 ? 'Sender' : 'Receiver')}${leaf('Code', error.code)}${leaf('Message', error.message)}</Error>${leaf('RequestId', requestId)}</ErrorResponse>`;

const callerOf = (context: ActionContext): Caller => {
  if (!context.caller) throw new QueryError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
  return context.caller;
};

const getCallerIdentity = (_params: URLSearchParams, context: ActionContext): string => {
  const caller = callerOf(context);
  return leaf('Arn', caller.arn) + leaf('UserId', caller.keyId) + leaf('Account', caller.accountId);
};

const hexKey = (bytes: number): string => randomBytes(bytes).toString('hex').toUpperCase();

/** Temporary credentials whose key id acts in the role's account: any role of an account the sandbox serves. */
const assumeRole = (params: URLSearchParams, context: ActionContext): string => {
  const caller = callerOf(context);
  const roleArn = requiredParam(params, 'RoleArn');
  const sessionName = requiredParam(params, 'RoleSessionName');
  const role = ROLE_ARN.exec(roleArn);
  if (!role) throw new QueryError(400, 'ValidationError', `${roleArn} is invalid`);
  if (!SESSION_NAME.test(sessionName)) {
    throw new QueryError(
      400,
      'ValidationError',
      `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
    );
  }
  const [, accountId, roleName] = role as unknown as [string, string, string];
  if (!context.world.shared.accountIds.includes(accountId)) {
    throw new QueryError(403, 'AccessDenied', `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
  }
  const keyId = `ASIA${hexKey(8)}`;
  const arn = `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`;
  context.world.shared.sessions.set(keyId, { keyId, accountId, arn });
  const expiration = new Date(context.world.clock.epoch(context.now) + SESSION_MS).toISOString();
  return (
    el(
      'Credentials',
      leaf('AccessKeyId', keyId),
      leaf('SecretAccessKey', randomBytes(30).toString('base64')),
      leaf('SessionToken', randomBytes(48).toString('base64')),
      leaf('Expiration', expiration),
    ) + el('AssumedRoleUser', leaf('AssumedRoleId', `AROA${hexKey(8)}:${sessionName}`), leaf('Arn', arn))
  );
};

export const stsActions: Readonly<Record<string, (params: URLSearchParams, context: ActionContext) => string>> = {
  GetCallerIdentity: getCallerIdentity,
  AssumeRole: assumeRole,
};
