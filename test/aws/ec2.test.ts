import { describe, expect, it } from 'vitest';
import { createFleet } from '../../src/aws/ec2.js';
import { ApiError, UsageError } from '../../src/rollout/errors.js';
import type { Fleet, LaunchRequest } from '../../src/rollout/ports.js';
import {
  type Answer,
  answerAws,
  ec2Error,
  ec2Ok,
  filterValues,
  imageItem,
  listParam,
  reservation,
  reservations,
  ids,
  interceptAws,
  testClients,
} from './server.js';

const call = { signal: new AbortController().signal };

interceptAws();

const fleetAnswering = (answer: Answer) => {
  const server = answerAws(answer);
  return { fleet: createFleet(testClients(server.url).ec2), server };
};

describe('checkAccess', () => {
  it('treats DryRunOperation as allowed, after a DryRun DescribeInstances', async () => {
    const { fleet, server } = fleetAnswering(() => ec2Error('DryRunOperation', 'Request would have succeeded', 412));
    await expect(fleet.checkAccess(call)).resolves.toBeUndefined();
    expect(server.requests.map((request) => [request.action, request.params.get('DryRun')])).toEqual([['DescribeInstances', 'true']]);
  });

  it('turns UnauthorizedOperation into an ApiError naming the IAM action', async () => {
    const { fleet } = fleetAnswering(() => ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403));
    const error = await fleet.checkAccess(call).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ api: 'EC2', operation: 'DescribeInstances', code: 'UnauthorizedOperation' });
    expect((error as ApiError).hint).toContain('ec2:DescribeInstances');
  });
});

describe('resolveImage', () => {
  it('picks the newest available image across all pages, ties broken by id', async () => {
    const { fleet, server } = fleetAnswering(({ params }) =>
      params.get('NextToken') === 'page2'
        ? ec2Ok(
            'DescribeImages',
            `<imagesSet>${imageItem('ami-b', 'web-2', '2024-06-01T00:00:00.000Z')}${imageItem('ami-c', 'web-3', '2024-06-01T00:00:00.000Z')}</imagesSet>`,
          )
        : ec2Ok(
            'DescribeImages',
            `<imagesSet>${imageItem('ami-a', 'web-1', '2024-05-01T00:00:00.000Z')}</imagesSet><nextToken>page2</nextToken>`,
          ),
    );
    const image = await fleet.resolveImage({ owners: ['self', '123456789012'], name: 'web-*' }, call);
    expect(image).toEqual({ id: 'ami-c', name: 'web-3', state: 'available', createdAt: '2024-06-01T00:00:00.000Z' });
    const [first, second] = server.calls('DescribeImages');
    expect(listParam(first!.params, 'Owner')).toEqual(['self', '123456789012']);
    expect(filterValues(first!.params, 'name')).toEqual(['web-*']);
    expect(filterValues(first!.params, 'state')).toEqual(['available']);
    expect(second!.params.get('NextToken')).toBe('page2');
  });

  it('throws a UsageError naming the owners and the pattern when nothing matches', async () => {
    const { fleet } = fleetAnswering(() => ec2Ok('DescribeImages', '<imagesSet/>'));
    const error = await fleet.resolveImage({ owners: ['self'], name: 'web-*' }, call).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain('self');
    expect((error as Error).message).toContain('web-*');
  });

  it('looks an id up directly and returns it when available', async () => {
    const { fleet, server } = fleetAnswering(() =>
      ec2Ok('DescribeImages', `<imagesSet>${imageItem('ami-x', 'web-x', '2024-05-01T00:00:00.000Z')}</imagesSet>`),
    );
    await expect(fleet.resolveImage({ id: 'ami-x' }, call)).resolves.toMatchObject({ id: 'ami-x', state: 'available' });
    expect(listParam(server.requests[0]!.params, 'ImageId')).toEqual(['ami-x']);
  });

  it.each([
    [
      'an image that is not available',
      () => ec2Ok('DescribeImages', `<imagesSet>${imageItem('ami-x', 'web-x', '2024-05-01T00:00:00.000Z', 'pending')}</imagesSet>`),
    ],
    ['an unknown image', () => ec2Error('InvalidAMIID.NotFound', "The image id '[ami-x]' does not exist")],
  ])('rejects %s with a UsageError naming the id', async (_, answer) => {
    const { fleet } = fleetAnswering(answer);
    const error = await fleet.resolveImage({ id: 'ami-x' }, call).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain('ami-x');
  });
});

describe('images', () => {
  it('asks by image-id filter, so a deregistered image is left out instead of failing the call', async () => {
    const { fleet, server } = fleetAnswering(() =>
      ec2Ok('DescribeImages', `<imagesSet>${imageItem('ami-a', 'web-1', '2024-05-01T00:00:00.000Z')}</imagesSet>`),
    );
    await expect(fleet.images(['ami-a', 'ami-gone'], call)).resolves.toEqual([
      { id: 'ami-a', name: 'web-1', state: 'available', createdAt: '2024-05-01T00:00:00.000Z' },
    ]);
    const params = server.calls('DescribeImages')[0]!.params;
    expect(filterValues(params, 'image-id')).toEqual(['ami-a', 'ami-gone']);
    expect(listParam(params, 'ImageId')).toEqual([]);
  });

  it('sends no request for no ids', async () => {
    const { fleet, server } = fleetAnswering(() => ec2Error('Unexpected', 'no request expected'));
    await expect(fleet.images([], call)).resolves.toEqual([]);
    expect(server.requests).toHaveLength(0);
  });
});

describe('subnets', () => {
  it('maps each subnet to its AZ and VPC', async () => {
    const { fleet, server } = fleetAnswering(() =>
      ec2Ok(
        'DescribeSubnets',
        '<subnetSet><item><subnetId>subnet-a</subnetId><availabilityZone>us-east-1a</availabilityZone><vpcId>vpc-1</vpcId></item><item><subnetId>subnet-c</subnetId><availabilityZone>us-east-1c</availabilityZone><vpcId>vpc-1</vpcId></item></subnetSet>',
      ),
    );
    await expect(fleet.subnets(['subnet-a', 'subnet-c'], call)).resolves.toEqual([
      { id: 'subnet-a', az: 'us-east-1a', vpcId: 'vpc-1' },
      { id: 'subnet-c', az: 'us-east-1c', vpcId: 'vpc-1' },
    ]);
    expect(listParam(server.requests[0]!.params, 'SubnetId')).toEqual(['subnet-a', 'subnet-c']);
  });

  it('sends no request for no subnets', async () => {
    const { fleet, server } = fleetAnswering(() => ec2Error('Unexpected', 'no request expected'));
    await expect(fleet.subnets([], call)).resolves.toEqual([]);
    expect(server.requests).toHaveLength(0);
  });
});

const launchRequest: LaunchRequest = {
  imageId: 'ami-new',
  instanceType: 't3.micro',
  subnetId: 'subnet-a',
  count: 2,
  securityGroupIds: ['sg-1', 'sg-2'],
  iamInstanceProfile: 'web-profile',
  keyName: 'kp',
  userData: '#!/bin/sh\necho héllo\n',
  tags: { Name: 'web', role: 'web', 'deploy-id': 'd-1' },
  clientToken: 'd-1:us-east-1a:0',
};

describe('launch', () => {
  it('sends an instance profile given as an ARN in the Arn field, not as a name', async () => {
    const { fleet, server } = fleetAnswering(() =>
      ec2Ok('RunInstances', reservation([{ id: 'i-new1', state: 'pending', imageId: 'ami-new', tags: {} }])),
    );
    const arn = 'arn:aws:iam::123456789012:instance-profile/web-profile';
    await fleet.launch({ ...launchRequest, iamInstanceProfile: arn }, call);
    const params = server.calls('RunInstances')[0]!.params;
    expect([params.get('IamInstanceProfile.Arn'), params.get('IamInstanceProfile.Name')]).toEqual([arn, null]);
  });

  it('sends one RunInstances carrying the token, base64 user data and tags for instances and volumes', async () => {
    const launched = [
      { id: 'i-new1', state: 'pending', imageId: 'ami-new', tags: launchRequest.tags },
      { id: 'i-new2', state: 'pending', imageId: 'ami-new', tags: launchRequest.tags },
    ];
    const { fleet, server } = fleetAnswering(() => ec2Ok('RunInstances', reservation(launched)));
    const instances = await fleet.launch(launchRequest, call);
    expect(instances).toEqual([
      {
        id: 'i-new1',
        state: 'pending',
        az: 'us-east-1a',
        subnetId: 'subnet-a',
        vpcId: 'vpc-1',
        imageId: 'ami-new',
        launchedAt: '2026-11-01T00:00:00.000Z',
        tags: launchRequest.tags,
      },
      {
        id: 'i-new2',
        state: 'pending',
        az: 'us-east-1a',
        subnetId: 'subnet-a',
        vpcId: 'vpc-1',
        imageId: 'ami-new',
        launchedAt: '2026-11-01T00:00:00.000Z',
        tags: launchRequest.tags,
      },
    ]);
    const [sent] = server.calls('RunInstances');
    const params = sent!.params;
    expect(
      Object.fromEntries(
        ['ImageId', 'InstanceType', 'MinCount', 'MaxCount', 'SubnetId', 'KeyName', 'IamInstanceProfile.Name', 'ClientToken'].map((key) => [
          key,
          params.get(key),
        ]),
      ),
    ).toEqual({
      ImageId: 'ami-new',
      InstanceType: 't3.micro',
      MinCount: '2',
      MaxCount: '2',
      SubnetId: 'subnet-a',
      KeyName: 'kp',
      'IamInstanceProfile.Name': 'web-profile',
      ClientToken: 'd-1:us-east-1a:0',
    });
    expect(listParam(params, 'SecurityGroupId')).toEqual(['sg-1', 'sg-2']);
    expect(Buffer.from(params.get('UserData')!, 'base64').toString('utf8')).toBe(launchRequest.userData);
    for (const [index, resourceType] of [
      [1, 'instance'],
      [2, 'volume'],
    ] as const) {
      expect(params.get(`TagSpecification.${index}.ResourceType`)).toBe(resourceType);
      const keys = listParam(params, `TagSpecification.${index}.Tag`, '.Key');
      const values = listParam(params, `TagSpecification.${index}.Tag`, '.Value');
      expect(Object.fromEntries(keys.map((key, at) => [key, values[at]]))).toEqual(launchRequest.tags);
    }
  });

  it('turns InsufficientInstanceCapacity into an ApiError with the code and where it happened', async () => {
    const { fleet, server } = fleetAnswering(() =>
      ec2Error(
        'InsufficientInstanceCapacity',
        'We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (us-east-1a).',
        500,
      ),
    );
    const error = await fleet.launch(launchRequest, call).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ api: 'EC2', operation: 'RunInstances', code: 'InsufficientInstanceCapacity' });
    expect((error as ApiError).hint).toContain('subnet-a');
    expect(server.requests).toHaveLength(1);
  });

  it('keeps the user data, the credentials and the signature out of the error', async () => {
    const { fleet } = fleetAnswering(() => ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403));
    const error = (await fleet.launch(launchRequest, call).catch((caught: unknown) => caught)) as ApiError;
    const shown = JSON.stringify({ ...error, message: error.message });
    expect(error.hint).toContain('ec2:RunInstances');
    for (const secret of ['héllo', Buffer.from(launchRequest.userData!).toString('base64'), 'test-secret-key', 'Signature'])
      expect(shown).not.toContain(secret);
  });
});

describe('DryRun checks', () => {
  const dryRunOk = () => ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);

  it('mayLaunch sends the launch as a DryRun, with its parameters but not its ClientToken, and takes DryRunOperation as allowed', async () => {
    const { fleet, server } = fleetAnswering(dryRunOk);
    await expect(fleet.mayLaunch(launchRequest, call)).resolves.toBeUndefined();
    const [sent] = server.calls('RunInstances');
    expect(sent!.params.get('DryRun')).toBe('true');
    expect(sent!.params.get('ClientToken')).not.toBe(launchRequest.clientToken);
    expect([sent!.params.get('ImageId'), sent!.params.get('SubnetId'), sent!.params.get('MaxCount')]).toEqual(['ami-new', 'subnet-a', '2']);
    expect(listParam(sent!.params, 'TagSpecification.1.Tag', '.Key')).toEqual(Object.keys(launchRequest.tags));
  });

  it('mayTerminate sends DryRun TerminateInstances in chunks of 100', async () => {
    const { fleet, server } = fleetAnswering(dryRunOk);
    await fleet.mayTerminate(ids(150), call);
    const sent = server.calls('TerminateInstances');
    expect(sent.map(({ params }) => [params.get('DryRun'), listParam(params, 'InstanceId').length])).toEqual([
      ['true', 100],
      ['true', 50],
    ]);
  });

  it.each([
    ['mayLaunch', 'RunInstances', (fleet: Fleet) => fleet.mayLaunch(launchRequest, call)],
    ['mayTerminate', 'TerminateInstances', (fleet: Fleet) => fleet.mayTerminate(['i-1'], call)],
  ])('%s turns UnauthorizedOperation into an ApiError naming ec2:%s', async (_, action, run) => {
    const { fleet } = fleetAnswering(() => ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403));
    const error = await run(fleet).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ api: 'EC2', operation: action, code: 'UnauthorizedOperation' });
    expect((error as ApiError).hint).toContain(`ec2:${action}`);
  });
});

describe('describe', () => {
  it('asks in chunks of 100 by instance-id filter and leaves unknown ids out', async () => {
    const known = new Set(ids(250).filter((_, index) => index % 2 === 0));
    const { fleet, server } = fleetAnswering(({ params }) => {
      const asked = filterValues(params, 'instance-id') ?? [];
      return ec2Ok('DescribeInstances', reservations(asked.filter((id) => known.has(id)).map((id) => ({ id }))));
    });
    const found = await fleet.describe(ids(250), call);
    expect(found.map((instance) => instance.id)).toEqual([...known]);
    const sent = server.calls('DescribeInstances');
    expect(sent.map(({ params }) => filterValues(params, 'instance-id'))).toEqual([
      ids(250).slice(0, 100),
      ids(250).slice(100, 200),
      ids(250).slice(200),
    ]);
    expect(sent.every(({ params }) => listParam(params, 'InstanceId').length === 0)).toBe(true);
  });

  it('follows every page of a chunk', async () => {
    const { fleet, server } = fleetAnswering(({ params }) =>
      params.get('NextToken') === 'next'
        ? ec2Ok('DescribeInstances', reservations([{ id: 'i-2', state: 'stopped' }]))
        : ec2Ok('DescribeInstances', `${reservations([{ id: 'i-1' }])}<nextToken>next</nextToken>`),
    );
    const found = await fleet.describe(['i-1', 'i-2'], call);
    expect(found.map(({ id, state }) => [id, state])).toEqual([
      ['i-1', 'running'],
      ['i-2', 'stopped'],
    ]);
    expect(server.requests).toHaveLength(2);
  });

  it('sends no request for no ids', async () => {
    const { fleet, server } = fleetAnswering(() => ec2Error('Unexpected', 'no request expected'));
    await expect(fleet.describe([], call)).resolves.toEqual([]);
    expect(server.requests).toHaveLength(0);
  });
});

describe('findByTag', () => {
  it('filters on the tag and on every state short of terminated, and maps the instances', async () => {
    const fixture = {
      id: 'i-1',
      state: 'running',
      az: 'us-east-1c',
      subnetId: 'subnet-c',
      vpcId: 'vpc-9',
      imageId: 'ami-old',
      launchedAt: '2026-10-01T09:30:00.000Z',
      tags: { role: 'web', env: 'prod' },
    };
    const { fleet, server } = fleetAnswering(() => ec2Ok('DescribeInstances', reservations([fixture])));
    await expect(fleet.findByTag('deploy-id', 'd-1', call)).resolves.toEqual([fixture]);
    const params = server.requests[0]!.params;
    expect(filterValues(params, 'tag:deploy-id')).toEqual(['d-1']);
    expect(filterValues(params, 'instance-state-name')?.toSorted()).toEqual(['pending', 'running', 'shutting-down', 'stopped', 'stopping']);
  });

  it('includes terminated instances EC2 still shows when asked to', async () => {
    const { fleet, server } = fleetAnswering(() => ec2Ok('DescribeInstances', reservations([])));
    await fleet.findByTag('replaced-by', 'd-1', call, { withTerminated: true });
    expect(filterValues(server.requests[0]!.params, 'instance-state-name')).toContain('terminated');
  });

  it('asks for only the states given, in pages of 1,000 instances', async () => {
    const { fleet, server } = fleetAnswering(() => ec2Ok('DescribeInstances', reservations([])));
    await fleet.findByTag('deploy-id', 'd-1', call, { states: ['stopped', 'terminated'] });
    const params = server.requests[0]!.params;
    expect(filterValues(params, 'instance-state-name')).toEqual(['stopped', 'terminated']);
    expect(params.get('MaxResults')).toBe('1000');
  });

  it('takes several values of the tag as alternatives of one filter: one call', async () => {
    const { fleet, server } = fleetAnswering(() => ec2Ok('DescribeInstances', reservations([])));
    await fleet.findByTag('state', ['in-flight', 'held'], call);
    expect(server.requests).toHaveLength(1);
    expect(filterValues(server.requests[0]!.params, 'tag:state')).toEqual(['in-flight', 'held']);
  });
});

describe('untag', () => {
  it('deletes each tag only where it has the value given, in chunks of 100', async () => {
    const { fleet, server } = fleetAnswering(() => ec2Ok('DeleteTags', '<return>true</return>'));
    await fleet.untag(ids(150), { 'replaced-by': 'd-1' }, call);
    const calls = server.calls('DeleteTags');
    expect(calls.map(({ params }) => listParam(params, 'ResourceId').length)).toEqual([100, 50]);
    expect([calls[0]!.params.get('Tag.1.Key'), calls[0]!.params.get('Tag.1.Value')]).toEqual(['replaced-by', 'd-1']);
  });
});

describe('terminate', () => {
  it('terminates in chunks of 100', async () => {
    const { fleet, server } = fleetAnswering(() => ec2Ok('TerminateInstances', '<instancesSet/>'));
    await fleet.terminate(ids(250), call);
    expect(server.calls('TerminateInstances').map(({ params }) => listParam(params, 'InstanceId'))).toEqual([
      ids(250).slice(0, 100),
      ids(250).slice(100, 200),
      ids(250).slice(200),
    ]);
  });

  it('sends no request for no ids', async () => {
    const { fleet, server } = fleetAnswering(() => ec2Error('Unexpected', 'no request expected'));
    await fleet.terminate([], call);
    expect(server.requests).toHaveLength(0);
  });
});

describe('cancellation', () => {
  it.each([
    ['checkAccess', (fleet: Fleet, signal: AbortSignal) => fleet.checkAccess({ signal })],
    ['resolveImage by id', (fleet: Fleet, signal: AbortSignal) => fleet.resolveImage({ id: 'ami-1' }, { signal })],
    ['resolveImage by name', (fleet: Fleet, signal: AbortSignal) => fleet.resolveImage({ owners: ['self'], name: 'web-*' }, { signal })],
    ['subnets', (fleet: Fleet, signal: AbortSignal) => fleet.subnets(['subnet-a'], { signal })],
    ['launch', (fleet: Fleet, signal: AbortSignal) => fleet.launch(launchRequest, { signal })],
    ['describe', (fleet: Fleet, signal: AbortSignal) => fleet.describe(['i-1'], { signal })],
    ['findByTag', (fleet: Fleet, signal: AbortSignal) => fleet.findByTag('role', 'web', { signal })],
    ['terminate', (fleet: Fleet, signal: AbortSignal) => fleet.terminate(['i-1'], { signal })],
    ['mayLaunch', (fleet: Fleet, signal: AbortSignal) => fleet.mayLaunch(launchRequest, { signal })],
    ['mayTerminate', (fleet: Fleet, signal: AbortSignal) => fleet.mayTerminate(['i-1'], { signal })],
  ])('%s passes the signal to the SDK and rethrows its AbortError', async (_, run) => {
    const { fleet, server } = fleetAnswering(() => ec2Ok('DescribeInstances', ''));
    const controller = new AbortController();
    controller.abort();
    await expect(run(fleet, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.requests).toHaveLength(0);
  });
});
