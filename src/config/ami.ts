/** EC2's image ids: "ami-" and 8 or 17 lowercase hex digits. */
export const AMI_ID = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
export const AMI_HINT = 'an AMI id like "ami-0123abcd" (8 or 17 hex digits)';
