/** The lab's results as an SVG bar chart: requests per second, Redis on loopback and with the delayed trip. */
import type { LabResult, LabRow } from './lab-report.js';

const WIDTH = 1040;
const LABEL = 420;
const BAR = 16;
const GAP = 10;
const TOP = 108;
const COLORS = { tessera: '#0f766e', peer: '#64748b', ceiling: '#1e293b' };

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderChart(result: LabResult): string {
  const loopback = result.rows.filter((r) => !r.delayed);
  const delayedOf = (id: string) => result.rows.find((r) => r.id === `${id}+delay`);
  const max = Math.max(...result.rows.map((r) => r.rps)) * 1.08;
  const scale = (rps: number) => ((WIDTH - LABEL - 90) * rps) / max;
  const ceiling = loopback.find((r) => r.kind === 'ceiling');
  const parts: string[] = [];
  let y = TOP;
  for (const row of loopback) {
    const color = row.kind === 'ceiling' ? COLORS.ceiling : row.tessera ? COLORS.tessera : COLORS.peer;
    const delayed = delayedOf(row.id);
    const height = delayed ? BAR * 2 + 2 : BAR;
    parts.push(
      `<text x="${LABEL - 10}" y="${y + height / 2 + 4}" text-anchor="end" font-weight="${row.tessera ? 600 : 400}">${escape(row.name)}</text>`,
    );
    parts.push(bar(y, row, color, 1, scale));
    if (delayed) parts.push(bar(y + BAR + 2, delayed, color, 0.45, scale));
    y += height + GAP;
  }
  const axis = ceiling
    ? `<line x1="${LABEL + scale(ceiling.rps)}" y1="${TOP - 8}" x2="${LABEL + scale(ceiling.rps)}" y2="${y - GAP + 4}" stroke="${COLORS.ceiling}" stroke-dasharray="4 4"/>`
    : '';
  const m = result.machine;
  const legend = [
    `<text x="16" y="64" fill="#475569">Whiskers: slowest and fastest round. Dashed line: no authentication.</text>`,
    swatch(16, 76, COLORS.tessera, 1, 'Tessera'),
    swatch(116, 76, COLORS.peer, 1, 'peers'),
    swatch(201, 76, COLORS.peer, 0.45, `lighter: Redis +${result.settings.delayMs} ms each way`),
  ].join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 20}" viewBox="0 0 ${WIDTH} ${y + 20}" font-family="system-ui, sans-serif" font-size="13" fill="#0f172a">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="16" y="26" font-size="17" font-weight="600">Requests per second on one authenticated route (higher is better)</text>
<text x="16" y="46" fill="#475569">${escape(`${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}; median of ${result.settings.rounds} rounds of ${result.settings.secondsPerRound} s`)}</text>
${legend}
${axis}
${parts.join('\n')}
</svg>
`;
}

/** The median as a bar, the slowest and fastest rounds as a whisker across its end. */
function bar(y: number, row: LabRow, color: string, opacity: number, scale: (rps: number) => number): string {
  const width = Math.max(1, scale(row.rps));
  const [low, high] = [LABEL + scale(Math.min(...row.rpsRounds)), LABEL + scale(Math.max(...row.rpsRounds))];
  const mid = y + BAR / 2;
  return [
    `<rect x="${LABEL}" y="${y}" width="${width.toFixed(1)}" height="${BAR}" rx="2" fill="${color}" fill-opacity="${opacity}"/>`,
    `<path d="M${low.toFixed(1)} ${mid}H${high.toFixed(1)}M${low.toFixed(1)} ${mid - 4}v8M${high.toFixed(1)} ${mid - 4}v8" stroke="#0f172a" stroke-width="1"/>`,
    `<text x="${(Math.max(LABEL + width, high) + 6).toFixed(1)}" y="${y + BAR - 3}" fill="#334155">${Math.round(row.rps).toLocaleString('en-US')}</text>`,
  ].join('');
}

function swatch(x: number, y: number, color: string, opacity: number, text: string): string {
  return `<rect x="${x}" y="${y}" width="12" height="12" rx="2" fill="${color}" fill-opacity="${opacity}"/><text x="${x + 18}" y="${y + 11}">${escape(text)}</text>`;
}
