import { describe, expect, it } from 'vitest';
import { replaceSdkNodeWarning } from '../../src/aws/node-support.js';

describe('replaceSdkNodeWarning', () => {
  it("turns the SDK's warning off on Node 20 and gives one line instead", () => {
    const env: NodeJS.ProcessEnv = {};
    expect(replaceSdkNodeWarning('v20.20.2', env)).toBe(
      'warning: Node v20.20.2 is past its end of life; AWS SDK releases after January 2027 need Node 22 or later',
    );
    expect(env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('true');
  });

  it('says nothing under NODE_NO_WARNINGS=1, and nothing on Node 22 or later', () => {
    const quiet: NodeJS.ProcessEnv = { NODE_NO_WARNINGS: '1' };
    expect(replaceSdkNodeWarning('v20.20.2', quiet)).toBeUndefined();
    expect(quiet.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('true');
    const current: NodeJS.ProcessEnv = {};
    expect(replaceSdkNodeWarning('v24.11.0', current)).toBeUndefined();
    expect(current).toEqual({});
  });
});
