import { iamPolicy, passedRoleName } from '../aws/iam-policy.js';
import { loadConfig, resolveRole } from '../config/load.js';
import { EXIT, type Io, reportError } from './io.js';

export interface IamPolicyFlags {
  readonly config: string;
  readonly env?: string;
  readonly role: string;
}

/** `iam-policy`: the policy JSON on stdout, any assumption it makes on stderr; changes nothing. */
export const runIamPolicy = async (flags: IamPolicyFlags, io: Io): Promise<number> => {
  try {
    const config = await loadConfig(flags.config);
    const spec = await resolveRole(config, { env: flags.env, role: flags.role });
    // The same precedence as the AWS clients: AWS_REGION outranks the config's region.
    const region = io.env.AWS_REGION || config.region || '*';
    const sharesImages = Object.entries(config.environments).some(
      ([name, environment]) => name !== spec.env && environment.promotion?.shareImage === true && spec.role in environment.roles,
    );
    io.out(JSON.stringify(iamPolicy(spec, region, { sharesImages }), null, 2));
    if (spec.iamInstanceProfile !== undefined) {
      io.err(
        `note: iam:PassRole assumes the instance profile ${spec.iamInstanceProfile} holds a role named ` +
          `${passedRoleName(spec.iamInstanceProfile)}; change that Resource if its role is named otherwise`,
      );
    }
    return EXIT.ok;
  } catch (error) {
    return reportError(error, io);
  }
};
