// The config every chaos run deploys with, against the sandbox or the fakes alike.
import { TG_ARN } from './sandbox-world.js';

/** Real ms per simulated ms: a 20 s boot takes 400 ms. Slower runs wait more but poll less. */
export const TIME_SCALE = 0.02;

// Short waits, so a fault that cannot heal fails the deploy in a second or two instead of minutes.
const roleYaml = (role: string, perAz: number, targetGroups: string, batch?: number) => `      ${role}:
        ami: { owners: [self], name: "reactio-${role}-*" }
        instanceType: t3.small
        subnets: [subnet-0aaa1111, subnet-0ccc3333]
        securityGroupIds: [sg-0123abcd]
        perAz: ${perAz}
${batch === undefined ? '' : `        batch: ${batch}\n`}        stableFor: 500ms
${targetGroups}        timeouts: { launch: 2s, verify: 3s, unhealthy: 500ms, total: 8s }
`;

export const chaosYaml = (perAz: number, batch?: number): string => `region: ap-northeast-1
pollInterval: 100ms
environments:
  staging:
    mackerel: { service: reactio-staging }
    roles:
${roleYaml('web', perAz, `        targetGroups: [${TG_ARN}]\n`, batch)}${roleYaml('worker', perAz, '', batch)}`;
