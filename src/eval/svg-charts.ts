/**
 * Minimal SVG charts for the self-contained report: line charts, stacked bars, an event
 * timeline and scatter plots. Plain strings, no scripts and no external resources, so the
 * report opens offline and in any browser.
 */

export const WIDTH = 640;
const HEIGHT = 300;
const MARGIN = { left: 56, right: 16, top: 28, bottom: 40 };

const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

/** A stable colour per category index: tab10, then golden-angle hues. */
export function colour(index: number): string {
  if (index >= 0 && index < PALETTE.length) return PALETTE[index] as string;
  return `hsl(${Math.round((index * 137.508) % 360)}, 65%, 45%)`;
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

interface Scale {
  (value: number): number;
  ticks: number[];
}

function linearScale(min: number, max: number, from: number, to: number): Scale {
  const span = max - min || 1;
  const scale = ((v: number) => from + ((v - min) / span) * (to - from)) as Scale;
  const step = niceStep(span / 5);
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(t);
  scale.ticks = ticks;
  return scale;
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

function formatTick(v: number): string {
  if (Math.abs(v) >= 1000) return v.toLocaleString('en', { maximumFractionDigits: 0 });
  return Number(v.toPrecision(3)).toString();
}

function frame(title: string, x: Scale, y: Scale, xLabel: string, body: string): string {
  const bottom = HEIGHT - MARGIN.bottom;
  const xTicks = x.ticks
    .map(
      (t) =>
        `<line x1="${x(t)}" x2="${x(t)}" y1="${bottom}" y2="${bottom + 4}" stroke="#444"/>` +
        `<text x="${x(t)}" y="${bottom + 16}" text-anchor="middle">${formatTick(t)}</text>`,
    )
    .join('');
  const yTicks = y.ticks
    .map(
      (t) =>
        `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/>` +
        `<text x="${MARGIN.left - 6}" y="${y(t) + 4}" text-anchor="end">${formatTick(t)}</text>`,
    )
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" ` +
    `viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">` +
    `<text x="${MARGIN.left}" y="16" font-size="13" font-weight="bold">${escapeXml(title)}</text>` +
    yTicks +
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${bottom}" y2="${bottom}" stroke="#444"/>` +
    xTicks +
    `<text x="${(MARGIN.left + WIDTH - MARGIN.right) / 2}" y="${HEIGHT - 6}" text-anchor="middle">${escapeXml(xLabel)}</text>` +
    body +
    '</svg>'
  );
}

export interface Series {
  name: string;
  /** [x, y]; a null y breaks the line (the metric was undefined there). */
  points: [number, number | null][];
}

export interface Marker {
  x: number;
  label: string;
}

function legend(names: readonly string[]): string {
  return names
    .map((name, i) => {
      const x = MARGIN.left + 8 + (i % 4) * 140;
      const y = MARGIN.top + 8 + Math.floor(i / 4) * 14;
      return (
        `<rect x="${x}" y="${y - 8}" width="10" height="10" fill="${colour(i)}"/>` +
        `<text x="${x + 14}" y="${y + 1}">${escapeXml(name)}</text>`
      );
    })
    .join('');
}

function markerLines(markers: readonly Marker[], x: Scale, dashed: boolean, tint: string): string {
  return markers
    .map(
      (m) =>
        `<line x1="${x(m.x)}" x2="${x(m.x)}" y1="${MARGIN.top}" y2="${HEIGHT - MARGIN.bottom}" ` +
        `stroke="${tint}" ${dashed ? 'stroke-dasharray="4 3"' : ''}><title>${escapeXml(m.label)}</title></line>`,
    )
    .join('');
}

export function lineChart(options: {
  title: string;
  xLabel: string;
  series: readonly Series[];
  /** Vertical dashed lines, e.g. pass boundaries. */
  boundaries?: readonly Marker[];
  yRange?: [number, number];
}): string {
  const xs = options.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = options.series.flatMap((s) =>
    s.points.map((p) => p[1]).filter((v): v is number => v !== null),
  );
  const [yMin, yMax] = options.yRange ?? [Math.min(0, ...ys), Math.max(1e-9, ...ys)];
  const x = linearScale(Math.min(...xs, 0), Math.max(...xs, 1), MARGIN.left, WIDTH - MARGIN.right);
  const y = linearScale(yMin, yMax, HEIGHT - MARGIN.bottom, MARGIN.top + 30);
  const paths = options.series
    .map((s, i) => {
      let d = '';
      let pen = 'M';
      for (const [px, py] of s.points) {
        if (py === null) {
          pen = 'M';
          continue;
        }
        d += `${pen}${x(px).toFixed(1)},${y(py).toFixed(1)}`;
        pen = 'L';
      }
      const dots = s.points
        .filter((p): p is [number, number] => p[1] !== null)
        .map(
          ([px, py]) =>
            `<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="2.5" fill="${colour(i)}"/>`,
        )
        .join('');
      return `<path d="${d}" fill="none" stroke="${colour(i)}" stroke-width="1.8"/>${dots}`;
    })
    .join('');
  const body =
    markerLines(options.boundaries ?? [], x, true, '#999') +
    paths +
    legend(options.series.map((s) => s.name));
  return frame(options.title, x, y, options.xLabel, body);
}

export function stackedBars(options: {
  title: string;
  xLabel: string;
  bars: readonly { x0: number; x1: number; parts: readonly { key: number; value: number }[] }[];
  boundaries?: readonly Marker[];
}): string {
  const totals = options.bars.map((b) => b.parts.reduce((s, p) => s + p.value, 0));
  const x = linearScale(
    Math.min(0, ...options.bars.map((b) => b.x0)),
    Math.max(1, ...options.bars.map((b) => b.x1)),
    MARGIN.left,
    WIDTH - MARGIN.right,
  );
  const y = linearScale(0, Math.max(1, ...totals), HEIGHT - MARGIN.bottom, MARGIN.top);
  const rects = options.bars
    .map((bar) => {
      let base = 0;
      return bar.parts
        .map((part) => {
          const top = y(base + part.value);
          const height = y(base) - top;
          base += part.value;
          const w = Math.max(1, x(bar.x1) - x(bar.x0) - 1);
          return (
            `<rect x="${x(bar.x0).toFixed(1)}" y="${top.toFixed(1)}" width="${w.toFixed(1)}" ` +
            `height="${height.toFixed(1)}" fill="${colour(part.key)}">` +
            `<title>cluster ${part.key}: ${part.value}</title></rect>`
          );
        })
        .join('');
    })
    .join('');
  return frame(
    options.title,
    x,
    y,
    options.xLabel,
    rects + markerLines(options.boundaries ?? [], x, true, '#333'),
  );
}

/** One row per event kind, a tick at each event's stream position. */
export function eventTimeline(options: {
  title: string;
  xLabel: string;
  xMax: number;
  events: readonly { x: number; kind: string; label: string }[];
  boundaries?: readonly Marker[];
}): string {
  const kinds = [...new Set(options.events.map((e) => e.kind))].sort();
  // Room on the left for the kind names ('drift assignment-drift' is the longest).
  const x = linearScale(0, Math.max(1, options.xMax), MARGIN.left + 110, WIDTH - MARGIN.right);
  const y = linearScale(0, Math.max(1, kinds.length), MARGIN.top + 10, HEIGHT - MARGIN.bottom);
  y.ticks = [];
  const rows = kinds
    .map((kind, i) => {
      const cy = y(i + 0.5);
      const ticks = options.events
        .filter((e) => e.kind === kind)
        .map(
          (e) =>
            `<line x1="${x(e.x).toFixed(1)}" x2="${x(e.x).toFixed(1)}" y1="${cy - 8}" y2="${cy + 8}" ` +
            `stroke="${colour(i)}" stroke-width="2"><title>${escapeXml(e.label)}</title></line>`,
        )
        .join('');
      return `<text x="${MARGIN.left + 100}" y="${cy + 4}" text-anchor="end">${escapeXml(kind)}</text>${ticks}`;
    })
    .join('');
  const empty =
    kinds.length === 0
      ? `<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle" fill="#666">no events</text>`
      : '';
  return frame(
    options.title,
    x,
    y,
    options.xLabel,
    markerLines(options.boundaries ?? [], x, true, '#999') + rows + empty,
  );
}

export function scatter(options: {
  title: string;
  points: readonly [number, number][];
  /** Category index of each point (colour); null draws grey. */
  categories: readonly (number | null)[];
  legendNames: readonly string[];
}): string {
  const size = 420;
  const pad = 30;
  const xs = options.points.map((p) => p[0]);
  const ys = options.points.map((p) => p[1]);
  const [xMin, xMax, yMin, yMax] = [
    Math.min(...xs),
    Math.max(...xs),
    Math.min(...ys),
    Math.max(...ys),
  ];
  const sx = (v: number): number => pad + ((v - xMin) / (xMax - xMin || 1)) * (size - 2 * pad);
  const sy = (v: number): number =>
    size - pad - ((v - yMin) / (yMax - yMin || 1)) * (size - 2 * pad - 20);
  const dots = options.points
    .map(([px, py], i) => {
      const category = options.categories[i] ?? null;
      const fill = category === null ? '#aaa' : colour(category);
      return `<circle cx="${sx(px).toFixed(1)}" cy="${sy(py).toFixed(1)}" r="2.6" fill="${fill}" fill-opacity="0.75"/>`;
    })
    .join('');
  const keys = options.legendNames
    .map(
      (name, i) =>
        `<rect x="${size + 4}" y="${24 + i * 14}" width="10" height="10" fill="${colour(i)}"/>` +
        `<text x="${size + 18}" y="${33 + i * 14}">${escapeXml(name)}</text>`,
    )
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size + 110}" height="${size}" ` +
    `viewBox="0 0 ${size + 110} ${size}" font-family="sans-serif" font-size="11">` +
    `<text x="${pad}" y="16" font-size="13" font-weight="bold">${escapeXml(options.title)}</text>` +
    `<rect x="${pad - 6}" y="24" width="${size - 2 * pad + 12}" height="${size - 2 * pad - 2}" fill="none" stroke="#ccc"/>` +
    dots +
    keys +
    '</svg>'
  );
}
