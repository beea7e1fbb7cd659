// The report's picture: an SVG Gantt chart, one row per instance, grouped by AZ, old and new apart.
import type { Report, ReportInstance, ReportMark } from './report-data.js';

export const escapeXml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** What an instance is doing from a mark until the next one; the colour of that stretch of its bar. */
const AFTER: Record<Exclude<ReportMark, 'terminated'>, { readonly label: string; readonly colour: string }> = {
  launched: { label: 'launched, booting', colour: '#b9d3f0' },
  running: { label: 'running, agent not registered yet', colour: '#6fa8dc' },
  registered: { label: 'registered in Mackerel, not healthy yet', colour: '#3d85c6' },
  healthy: { label: 'healthy, serving', colour: '#2e9e5b' },
  deregistered: { label: 'deregistered, draining', colour: '#e69138' },
  drained: { label: 'drained, still running', colour: '#c9c9c9' },
};
const OLD_SERVING = { label: 'old, in service', colour: '#8a94a6' };

const LABEL = 200;
const WIDTH = 1000;
const RIGHT = 24;
const ROW = 20;
const HEADER = 22;
const TOP = 34;

/** A round tick step giving at most about 10 ticks over `totalMs`. */
const tickStep = (totalMs: number): number => {
  for (const step of [100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000]) {
    if (totalMs / step <= 10) return step;
  }
  return 3_600_000;
};

const tickLabel = (ms: number, step: number): string => (step < 1000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`);

/** AZ → its instances, the old ones first; in the plan's AZ order. */
const byAz = (report: Report): [string, ReportInstance[]][] => {
  const groups = new Map<string, ReportInstance[]>(report.plan.map((az) => [az.az, []]));
  for (const instance of report.instances) {
    const az = instance.az ?? 'AZ unknown';
    groups.set(az, [...(groups.get(az) ?? []), instance]);
  }
  return [...groups].map(([az, instances]): [string, ReportInstance[]] => [
    az,
    [...instances.filter((i) => i.side === 'old'), ...instances.filter((i) => i.side === 'new')],
  ]);
};

/** Inline in the report's HTML, so it needs no namespace (and names no URL). */
export const timelineSvg = (report: Report): string => {
  const totalMs = Math.max(
    1,
    Date.parse(report.endedAt) - Date.parse(report.startedAt),
    ...report.instances.flatMap((i) => i.marks.map((m) => m.afterMs)),
  );
  const plot = WIDTH - LABEL - RIGHT;
  const x = (ms: number) => (LABEL + (Math.max(0, ms) / totalMs) * plot).toFixed(1);
  const groups = byAz(report);
  const parts: string[] = [];
  let y = TOP;
  for (const [az, instances] of groups) {
    parts.push(`<text x="4" y="${y + 15}" class="az">${escapeXml(az)}</text>`);
    parts.push(`<line x1="0" x2="${WIDTH}" y1="${y + HEADER - 1}" y2="${y + HEADER - 1}" class="rule"/>`);
    y += HEADER;
    for (const instance of instances) {
      parts.push(row(instance, y, x, totalMs));
      y += ROW;
    }
  }
  const step = tickStep(totalMs);
  const ticks: string[] = [];
  for (let ms = 0; ms <= totalMs; ms += step) {
    ticks.push(
      `<line x1="${x(ms)}" x2="${x(ms)}" y1="${TOP - 6}" y2="${y}" class="grid"/><text x="${x(ms)}" y="${TOP - 10}" class="tick">${tickLabel(ms, step)}</text>`,
    );
  }
  const legendY = y + 18;
  const legend = [OLD_SERVING, ...Object.values(AFTER)].map(
    (item, index) =>
      `<rect x="${4 + (index % 4) * 245}" y="${legendY + Math.floor(index / 4) * 18}" width="14" height="10" fill="${item.colour}"/>` +
      `<text x="${22 + (index % 4) * 245}" y="${legendY + 9 + Math.floor(index / 4) * 18}" class="legend">${escapeXml(item.label)}</text>`,
  );
  const markY = legendY + 2 * 18;
  legend.push(
    `<line x1="11" x2="11" y1="${markY}" y2="${markY + 12}" class="mark"/><text x="22" y="${markY + 10}" class="legend">a mark: launched, running, registered, healthy, deregistered, drained, terminated (where the bar ends); hover for which and when</text>`,
  );
  const height = markY + 24;
  return [
    `<svg width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    '<style>.az{font-weight:bold;font-size:12px}.rule{stroke:#999}.grid{stroke:#eee}.tick{text-anchor:middle;fill:#555}.id{fill:#222}.old{fill:#666;font-style:italic}.new{fill:#1155cc;font-weight:bold}.legend{fill:#333}.mark{stroke:#000;stroke-width:1.5}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    ...ticks,
    ...parts,
    ...legend,
    '</svg>',
  ].join('\n');
};

const row = (instance: ReportInstance, y: number, x: (ms: number) => string, totalMs: number): string => {
  const side = instance.side;
  const label = `<text x="14" y="${y + 14}"><tspan class="${side}">${side}</tspan> <tspan class="id">${escapeXml(instance.id)}</tspan></text>`;
  // Old instances serve from before the deploy; new ones begin at their launch.
  const stretches: { from: number; to: number; label: string; colour: string }[] = [];
  let from = side === 'old' ? 0 : instance.marks[0]?.afterMs;
  let current = side === 'old' ? OLD_SERVING : undefined;
  for (const { mark, afterMs } of instance.marks) {
    if (current && from !== undefined) stretches.push({ from, to: afterMs, ...current });
    current = mark === 'terminated' ? undefined : AFTER[mark];
    from = afterMs;
  }
  if (current && from !== undefined) stretches.push({ from, to: totalMs, ...current });
  const bars = stretches.map(
    (s) =>
      `<rect x="${x(s.from)}" y="${y + 4}" width="${Math.max(1, Number(x(s.to)) - Number(x(s.from))).toFixed(1)}" height="12" fill="${s.colour}"><title>${escapeXml(`${instance.id}: ${s.label}`)}</title></rect>`,
  );
  const marks = instance.marks.map(
    (m) =>
      `<line x1="${x(m.afterMs)}" x2="${x(m.afterMs)}" y1="${y + 2}" y2="${y + 18}" class="mark"><title>${escapeXml(`${instance.id} ${m.mark} at ${m.at} (+${(m.afterMs / 1000).toFixed(2)}s)`)}</title></line>`,
  );
  return [label, ...bars, ...marks].join('');
};
