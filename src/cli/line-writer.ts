/**
 * Writes lines to `stream` until a write fails (its reader went away: EPIPE; a full disk; a closed
 * terminal), then drops the rest: output is never a reason to stop a deploy, whose journal keeps
 * its events.
 */
export const lineWriter = (stream: NodeJS.WritableStream): ((line: string) => void) => {
  let open = true;
  // Without a listener, the EPIPE a pipe reports after the fact would end the process at once.
  stream.on('error', () => {
    open = false;
  });
  return (line) => {
    if (!open) return;
    try {
      stream.write(`${line}\n`);
    } catch {
      open = false;
    }
  };
};
