import { createRequire } from 'node:module';

// Required, not imported: through Node's ESM loader each SDK bundle (2 MB for EC2) would also be
// syntax-checked and scanned for its export names, a quarter second and 18 MB more at every start.
const require = createRequire(import.meta.url);

export const ec2Sdk: typeof import('@aws-sdk/client-ec2') = require('@aws-sdk/client-ec2');
export const elbv2Sdk: typeof import('@aws-sdk/client-elastic-load-balancing-v2') = require('@aws-sdk/client-elastic-load-balancing-v2');
export const quotasSdk: typeof import('@aws-sdk/client-service-quotas') = require('@aws-sdk/client-service-quotas');
export const stsSdk: typeof import('@aws-sdk/client-sts') = require('@aws-sdk/client-sts');
export const credentialProviders: typeof import('@aws-sdk/credential-providers') = require('@aws-sdk/credential-providers');
