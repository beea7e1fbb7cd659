import { randomUUID } from 'node:crypto';
import { STANDARD_VCPU_QUOTA } from '../shared/vcpu-quota.js';
import { ec2Actions, ec2Mutates } from './ec2.js';
import { elbActions, elbMutates } from './elbv2.js';
import type { FaultApi, RequestFault } from './faults.js';
import { findMackerelRoute, JsonText, MackerelError } from './mackerel.js';
import { ec2ErrorResponse, ec2Response, elbErrorResponse, elbResponse, QueryError } from './query.js';
import { stsActions, stsErrorResponse, stsResponse } from './sts.js';
import type { ActionContext, Caller, World } from './world.js';

export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** One API request, known by its API and action before anything runs, so faults can match it. */
export interface ApiCall {
  readonly api: FaultApi;
  readonly action: string;
  readonly mutating: boolean;
  /** The world's answer at simulated instant `now`. */
  answer(now: number): Reply;
  fail(fault: Extract<RequestFault, { type: 'api-error' }>): Reply;
}

export interface IncomingCall {
  readonly world: World;
  readonly apiKey: string;
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  /** Permissions and faults apply to the tool (`client`), never to the simulated agent. */
  readonly by: 'client' | 'agent';
  /** Who signed an AWS request; none when its access key id is not one of the sandbox's. */
  readonly caller?: Caller;
}

type AwsApi = 'ec2' | 'elbv2' | 'sts';

const VERSIONS: Readonly<Record<string, AwsApi>> = { '2016-11-15': 'ec2', '2015-12-01': 'elbv2', '2011-06-15': 'sts' };

const PROTOCOL = {
  ec2: { actions: ec2Actions, response: ec2Response, error: ec2ErrorResponse },
  elbv2: { actions: elbActions, response: elbResponse, error: elbErrorResponse },
  sts: { actions: stsActions, response: stsResponse, error: stsErrorResponse },
} as const;

// What AWS answers a signature by an access key id it does not know.
const unknownKey = (api: AwsApi): QueryError =>
  api === 'ec2'
    ? new QueryError(401, 'AuthFailure', 'AWS was not able to validate the provided access credentials')
    : new QueryError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');

// What an injected AWS error looks like when the fault names only a status.
const injectedAwsError = (api: AwsApi, status: number, code: string | undefined): QueryError => {
  const throttling = status < 500 || status === 503;
  const fallback = throttling
    ? api === 'ec2'
      ? 'RequestLimitExceeded'
      : 'Throttling'
    : api === 'ec2'
      ? 'InternalError'
      : 'InternalFailure';
  return new QueryError(
    status,
    code ?? fallback,
    throttling ? 'Rate exceeded (injected by the sandbox)' : 'An internal error has occurred (injected by the sandbox)',
  );
};

// What IAM answers when the tool's credentials may not call `action` (a `deny` world edit).
const accessDenied = (world: World, api: AwsApi, action: string): QueryError =>
  api === 'ec2'
    ? new QueryError(403, 'UnauthorizedOperation', 'You are not authorized to perform this operation.')
    : new QueryError(
        403,
        'AccessDenied',
        `User: arn:aws:iam::${world.accountId}:user/sandbox is not authorized to perform: ${api === 'sts' ? 'sts' : 'elasticloadbalancing'}:${action} because no identity-based policy allows the ${api === 'sts' ? 'sts' : 'elasticloadbalancing'}:${action} action`,
      );

const awsCall = ({ world, body, by, caller }: IncomingCall): ApiCall => {
  const params = new URLSearchParams(body);
  const version = params.get('Version') ?? '';
  const action = params.get('Action') ?? '';
  const api = VERSIONS[version] ?? 'ec2';
  const protocol = PROTOCOL[api];
  const render = (produce: () => string): Reply => {
    const requestId = randomUUID();
    const headers = { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId };
    try {
      return { status: 200, headers, body: protocol.response(action, requestId, produce()) };
    } catch (error) {
      const known = error instanceof QueryError ? error : new QueryError(500, 'InternalError', `sandbox bug: ${String(error)}`);
      return { status: known.status, headers, body: protocol.error(known, requestId) };
    }
  };
  const handlers: Readonly<Record<string, (params: URLSearchParams, context: ActionContext) => string>> = protocol.actions;
  return {
    api,
    action,
    mutating: api === 'ec2' ? ec2Mutates(action, params) : api === 'elbv2' && elbMutates(action),
    answer: (now) =>
      render(() => {
        if (!caller) throw unknownKey(api);
        if (VERSIONS[version] === undefined)
          throw new QueryError(400, 'NoSuchVersion', `The requested version (${version}) of service is not supported.`);
        if (!Object.hasOwn(handlers, action))
          throw new QueryError(400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
        // IAM decides before the action looks at its parameters, so a DryRun is refused too.
        if (by === 'client' && world.access.deniedActions.has(action) && action !== 'GetCallerIdentity')
          throw accessDenied(world, api, action);
        return handlers[action]!(params, { world, now, caller });
      }),
    fail: (fault) =>
      render(() => {
        throw injectedAwsError(api, fault.status, fault.code);
      }),
  };
};

const json = (status: number, value: unknown, extra: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', ...extra },
  body: value instanceof JsonText ? value.text : JSON.stringify(value),
});

const mackerelError = (status: number, message: string, extra?: Record<string, string>) => json(status, { error: { message } }, extra);

const mackerelCall = ({ world, apiKey, method, url, headers, body }: IncomingCall): ApiCall => {
  const route = findMackerelRoute(method, url.pathname);
  const key = headers['x-api-key'];
  const readOnly = typeof key === 'string' && world.access.readOnlyKeys.has(key);
  return {
    api: 'mackerel',
    action: route.action,
    mutating: method !== 'GET',
    answer: (now) => {
      if (key !== apiKey && !readOnly) return mackerelError(401, 'Authentication failed. Please try again.');
      if (readOnly && method !== 'GET') return mackerelError(403, 'Permission denied');
      if (!route.handle) return mackerelError(404, 'API not found.');
      try {
        return json(200, route.handle({ world, now, args: route.args, query: url.searchParams, body }));
      } catch (error) {
        if (error instanceof MackerelError) return mackerelError(error.status, error.message);
        return mackerelError(500, `sandbox bug: ${String(error)}`);
      }
    },
    fail: (fault) =>
      mackerelError(
        fault.status,
        fault.status === 429 ? 'Too many requests (injected by the sandbox)' : 'Internal server error (injected by the sandbox)',
        fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) },
      ),
  };
};

/** The JSON protocol's error: the code in `__type`, the status 400 for a client's fault. */
const jsonAwsError = (status: number, code: string, message: string): Reply => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID(), 'x-amzn-errortype': code },
  body: JSON.stringify({ __type: code, Message: message }),
});

const QUOTAS_TARGET = 'ServiceQuotasV20190624.';

/** Service Quotas (JSON 1.1, the action in X-Amz-Target): GetServiceQuota of the EC2 vCPU quota. */
const serviceQuotasCall = ({ world, body, by, caller }: IncomingCall, target: string): ApiCall => {
  const action = target.slice(QUOTAS_TARGET.length);
  return {
    api: 'servicequotas',
    action,
    mutating: !action.startsWith('Get') && !action.startsWith('List'),
    answer: () => {
      if (!caller) return jsonAwsError(400, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
      if (by === 'client' && world.access.deniedActions.has(action)) {
        return jsonAwsError(400, 'AccessDeniedException', `User: ${caller.arn} is not authorized to perform: servicequotas:${action}`);
      }
      if (action !== 'GetServiceQuota') return jsonAwsError(400, 'UnknownOperationException', `${action} is not served by the sandbox`);
      const input = JSON.parse(body || '{}') as { ServiceCode?: string; QuotaCode?: string };
      if (input.ServiceCode !== 'ec2' || input.QuotaCode !== STANDARD_VCPU_QUOTA) {
        return jsonAwsError(400, 'NoSuchResourceException', `The request failed because the specified service or quota does not exist.`);
      }
      return {
        status: 200,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() },
        body: JSON.stringify({
          Quota: {
            ServiceCode: 'ec2',
            ServiceName: 'Amazon Elastic Compute Cloud (Amazon EC2)',
            QuotaArn: `arn:aws:servicequotas:${world.region}:${world.accountId}:ec2/${STANDARD_VCPU_QUOTA}`,
            QuotaCode: STANDARD_VCPU_QUOTA,
            QuotaName: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances',
            Value: world.settings.vcpuQuota,
            Unit: 'None',
            Adjustable: true,
            GlobalQuota: false,
          },
        }),
      };
    },
    fail: (fault) =>
      jsonAwsError(
        fault.status,
        fault.code ?? (fault.status < 500 ? 'TooManyRequestsException' : 'ServiceException'),
        'injected by the sandbox',
      ),
  };
};

/** The API a request is for: Mackerel under /api/v0/, AWS (by its Version field, or Service Quotas by its X-Amz-Target) on POST /. */
export const classify = (incoming: IncomingCall): ApiCall | undefined => {
  if (incoming.url.pathname.startsWith('/api/v0/')) return mackerelCall(incoming);
  const target = incoming.headers['x-amz-target'];
  if (incoming.method === 'POST' && incoming.url.pathname === '/' && typeof target === 'string' && target.startsWith(QUOTAS_TARGET)) {
    return serviceQuotasCall(incoming, target);
  }
  if (incoming.method === 'POST' && incoming.url.pathname === '/') return awsCall(incoming);
  return undefined;
};
