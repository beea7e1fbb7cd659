// The report as one self-contained page: inline CSS and SVG, nothing to fetch.
import type { Report } from './report-data.js';
import { escapeXml, timelineSvg } from './report-timeline.js';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
const cell = (text: string): string => `<td>${escapeXml(text)}</td>`;
const rowOf = (cells: readonly string[]): string => `<tr>${cells.map(cell).join('')}</tr>`;
const headOf = (cells: readonly string[]): string => `<tr>${cells.map((c) => `<th>${escapeXml(c)}</th>`).join('')}</tr>`;

const STYLE = `body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px;vertical-align:top}
th{background:#f3f3f3}.ok{color:#2e7d32}.bad{color:#c62828}`;

/** What the outcome says beyond its kind: the reason, the error, what is left. */
const outcomeDetail = (outcome: Report['outcome']): string[] => {
  switch (outcome.kind) {
    case 'rolled-back':
    case 'incomplete':
      return [outcome.reason, ...(outcome.kind === 'incomplete' ? outcome.leftovers.map((l) => `left: ${l.what} (fix: ${l.fix})`) : [])];
    case 'error':
      return [outcome.error, ...(outcome.hint ? [`hint: ${outcome.hint}`] : [])];
    case 'interrupted':
      return [`stopped before ${outcome.step}`];
    case 'finished':
      return [`already ${outcome.status}`];
    default:
      return [];
  }
};

export const reportHtml = (report: Report): string => {
  const title = `mackerel-replacer ${report.action ?? ''} ${report.deployId ?? ''}`.replace(/\s+/g, ' ').trim();
  const good = report.outcome.exitCode === 0;
  const summary = [
    ['deploy', report.deployId ?? '-'],
    ['action', report.action ?? '-'],
    ['environment', report.env ?? '-'],
    ['role', report.service && report.role ? `${report.service}:${report.role} (${report.mode} mode)` : (report.role ?? '-')],
    ['outcome', report.outcome.kind],
    ['exit code', String(report.outcome.exitCode)],
    ...outcomeDetail(report.outcome).map((line) => ['detail', line]),
    ['AMI', `${report.image.old.join(', ') || '-'} → ${report.image.new ? `${report.image.new.id} (${report.image.new.name})` : '-'}`],
    ['started', report.startedAt],
    ['ended', `${report.endedAt} (${seconds(Date.parse(report.endedAt) - Date.parse(report.startedAt))})`],
  ];
  const phases = report.phases.map((p) =>
    rowOf([p.phase, `+${seconds(p.afterMs)}`, p.ms === undefined ? 'did not finish' : seconds(p.ms)]),
  );
  const plan = report.plan.map((az) => {
    const old = az.old.map((o) => escapeXml(`${o.instanceId} (host ${o.hostId} ${o.hostName}, ${o.hostStatus}, ${o.imageId})`));
    return `<tr>${cell(az.az)}<td>${old.join('<br>') || '-'}</td>${cell(String(az.launches))}<td>${az.new.map(escapeXml).join('<br>') || '-'}</td></tr>`;
  });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeXml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeXml(title)}: <span class="${good ? 'ok' : 'bad'}">${escapeXml(report.outcome.kind)} (exit ${report.outcome.exitCode})</span></h1>
<h2>Summary</h2>
<table>${summary.map(([key, value]) => `<tr><th>${escapeXml(key!)}</th>${cell(value!)}</tr>`).join('')}</table>
<h2>Phases</h2>
<table>${headOf(['phase', 'started', 'took'])}${phases.join('')}</table>
<h2>Plan</h2>
<table>${headOf(['AZ', 'old instances', 'new launches', 'new instances'])}${plan.join('')}</table>
<h2>Timeline</h2>
${timelineSvg(report)}
${report.warnings.length > 0 ? `<h2>Warnings</h2><ul>${report.warnings.map((w) => `<li>${escapeXml(w)}</li>`).join('')}</ul>` : ''}
</body>
</html>
`;
};
