/** Service Quotas' code (service `ec2`) of "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", in vCPUs. */
export const STANDARD_VCPU_QUOTA = 'L-1216C47A';

// The family prefixes that quota counts; inf, hpc, dl, trn, mac, u- and the accelerated families
// (F, G, P, VT, X) have quotas of their own.
const STANDARD_PREFIXES = new Set(['a', 'c', 'd', 'h', 'i', 'im', 'is', 'm', 'r', 't', 'z']);

export const isStandardFamily = (instanceType: string): boolean => STANDARD_PREFIXES.has(/^[a-z]+/.exec(instanceType)?.[0] ?? '');
