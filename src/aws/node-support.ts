/** The first Node major that AWS SDK releases after the first week of January 2027 support. */
export const SDK_NODE_MAJOR = 22;

/**
 * On a Node before 22, the one line the tool prints in place of the SDK's nine-line
 * NodeVersionSupportWarning, which it turns off with the SDK's own switch; on a later Node, nothing.
 * NODE_NO_WARNINGS=1 silences the line as it silences Node's own warnings.
 */
export const replaceSdkNodeWarning = (nodeVersion: string, env: NodeJS.ProcessEnv): string | undefined => {
  if (Number(nodeVersion.slice(1).split('.')[0]) >= SDK_NODE_MAJOR) return undefined;
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  if (env.NODE_NO_WARNINGS === '1') return undefined;
  return `warning: Node ${nodeVersion} is past its end of life; AWS SDK releases after January 2027 need Node ${SDK_NODE_MAJOR} or later`;
};
