/** Splits `items` into runs of at most `size`, in order; an empty list gives no runs. */
export const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const runs: T[][] = [];
  for (let start = 0; start < items.length; start += size) runs.push(items.slice(start, start + size));
  return runs;
};
