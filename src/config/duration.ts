// Units must come in this order, each at most once; `m(?!s)` keeps "5ms" from reading as minutes.
const pattern = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;
const unitMs = [3_600_000, 60_000, 1_000, 1] as const;

/** Milliseconds in a duration of whole units: "100ms", "30s", "5m", "1h", "1h30m". Undefined when malformed. */
export const parseDuration = (text: string): number | undefined => {
  const match = pattern.exec(text);
  if (match === null || text === '') return undefined;
  return unitMs.reduce((total, ms, i) => total + Number(match[i + 1] ?? 0) * ms, 0);
};

/** The shortest text parseDuration reads back as `ms`: 90_000 → "1m30s". */
export const formatDuration = (ms: number): string =>
  unitMs
    .map((unit, i) => {
      const count = Math.floor((i === 0 ? ms : ms % unitMs[i - 1]!) / unit);
      return count > 0 ? `${count}${['h', 'm', 's', 'ms'][i]}` : '';
    })
    .join('') || '0s';
