// A role's launch template: its version is resolved once, at plan time, and every launch of the
// deploy (resume, waves, a reviewed plan) uses that number, never `$Latest` or `$Default` again.
import { UsageError } from './errors.js';
import type { BlockDevice, LaunchTemplateChoice, LaunchTemplateVersion, MetadataOptions } from './ports.js';
import type { RoleSpec } from './spec.js';

/** A role without a launch template launches IMDSv2-only, with a hop limit containers can reach (AWS's recommendation). */
export const SECURE_METADATA: MetadataOptions = { httpTokens: 'required', httpPutResponseHopLimit: 2 };

/** `web-lt (lt-0abc…) version 3`. */
export const templateLabel = (template: Pick<LaunchTemplateVersion, 'id' | 'name' | 'version'>): string =>
  `${template.name} (${template.id}) version ${template.version}`;

const choiceLabel = (choice: LaunchTemplateChoice): string => ('id' in choice ? choice.id : choice.name);

/** The spec that launches this version: the instance type is the role's, or the template's. */
export const pinTemplate = (spec: RoleSpec, template: LaunchTemplateVersion): RoleSpec => {
  if (template.fixedNetwork !== undefined) {
    throw new UsageError(
      `launch template ${templateLabel(template)} fixes ${template.fixedNetwork} in its network interfaces: the tool launches each AZ into its own subnet, and EC2 takes no subnet or security groups beside such a template`,
      "remove the network interfaces from the template (set its security groups as the template's SecurityGroupIds, or as the role's securityGroupIds)",
    );
  }
  const instanceType = spec.instanceType ?? template.instanceType;
  if (instanceType === undefined) {
    throw new UsageError(
      `neither the role nor launch template ${templateLabel(template)} sets an instance type`,
      "set instanceType (or instanceTypes) in the role, or InstanceType in the template's data",
    );
  }
  return { ...spec, instanceType, pinnedTemplate: template };
};

/** What a deploy records and a plan shows of the template: the version it launches. */
export interface PinnedTemplate {
  readonly id: string;
  readonly name: string;
  readonly version: number;
}

export const templateOf = ({ id, name, version }: LaunchTemplateVersion): PinnedTemplate => ({ id, name, version });

/** The plan's line for the template. */
export const templateCheck = (choice: LaunchTemplateChoice, template: LaunchTemplateVersion): string =>
  `launch template ${templateLabel(template)} exists${typeof choice.version === 'number' ? '' : ` (${choice.version} of ${choiceLabel(choice)})`}`;

/** `httpTokens=required, hop limit 2`. */
export const metadataLabel = (options: MetadataOptions): string =>
  [
    `httpTokens=${options.httpTokens}`,
    `hop limit ${options.httpPutResponseHopLimit}`,
    ...(options.instanceMetadataTags ? [`instance tags in metadata ${options.instanceMetadataTags}`] : []),
  ].join(', ');

/** `/dev/xvda 30 GiB gp3 encrypted (kms alias/ebs)`. */
export const blockDeviceLabel = (device: BlockDevice): string =>
  [
    `${device.deviceName} ${device.volumeSize} GiB ${device.volumeType}`,
    ...(device.iops === undefined ? [] : [`${device.iops} IOPS`]),
    ...(device.throughput === undefined ? [] : [`${device.throughput} MiB/s`]),
    ...(device.encrypted ? [`encrypted${device.kmsKeyId ? ` (kms ${device.kmsKeyId})` : ''}`] : []),
    ...(device.deleteOnTermination === false ? ['kept on termination'] : []),
  ].join(' ');
