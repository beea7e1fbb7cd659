type Methods<Port> = { readonly [Name in keyof Port]: (...args: never[]) => Promise<unknown> };

/**
 * A port whose adapter is built at its first call, so a command that never calls it never loads
 * its client (the AWS SDK alone takes longer to load than the rest of the tool).
 */
export const lazily = <Port extends Methods<Port>>(build: () => Promise<Port>): Port => {
  let built: Promise<Port> | undefined;
  // Only string keys are methods; `then` must stay undefined, or awaiting the port would call it.
  return new Proxy({} as Port, {
    get: (_, name) =>
      typeof name === 'string' && name !== 'then'
        ? async (...args: unknown[]) => {
            built ??= build();
            const port = await built;
            const method = port[name as keyof Port] as unknown as (...args: unknown[]) => Promise<unknown>;
            return method.apply(port, args);
          }
        : undefined,
  });
};
