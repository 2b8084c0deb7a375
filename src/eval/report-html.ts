/**
 * report.html: one self-contained page (inline CSS and SVG, no scripts, nothing fetched) with the
 * per-pass metric table and the charts: metrics over the stream, cluster sizes over the stream,
 * drift and lifecycle events, and 2-D views (PCA, t-SNE) of the last pass's embedding sample
 * coloured by cluster and by label.
 */
import { profileNumber } from '../cluster/cluster-profiles.js';
import type { EvaluationReport } from './evaluation-report.js';
import { EXTERNAL_METRICS, INTERNAL_METRICS, type MetricName } from './metric-set.js';
import {
  escapeXml,
  eventTimeline,
  lineChart,
  scatter,
  stackedBars,
  type Marker,
  type Series,
} from './svg-charts.js';

const LABELS: Record<MetricName, string> = {
  nmi: 'NMI',
  ari: 'ARI',
  accuracy: 'accuracy',
  purity: 'purity',
  homogeneity: 'homogeneity',
  completeness: 'completeness',
  vMeasure: 'V-measure',
  silhouette: 'silhouette',
  daviesBouldin: 'Davies-Bouldin',
  calinskiHarabasz: 'Calinski-Harabasz',
  inertia: 'inertia',
};

function format(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  return Math.abs(value) >= 1000 ? value.toFixed(0) : value.toFixed(4);
}

function passBoundaries(report: EvaluationReport): Marker[] {
  return report.passes.slice(1).map((p) => ({ x: p.start, label: `pass ${p.pass} starts` }));
}

function metricSeries(report: EvaluationReport, names: readonly MetricName[]): Series[] {
  return names
    .filter((name) => report.windows.some((w) => w.metrics.values[name] !== undefined))
    .map((name) => ({
      name: LABELS[name],
      points: report.windows.map((w): [number, number | null] => [
        w.end,
        w.metrics.values[name] ?? null,
      ]),
    }));
}

/** The final clusters in input units: share, the features that set each apart, examples. */
function profileTable(report: EvaluationReport): string {
  const profiles = report.profiles ?? [];
  if (profiles.length === 0)
    return '<p class="notes">No cluster profiles (no records assigned).</p>';
  const rows = [...profiles]
    .sort((a, b) => b.profile.share - a.profile.share)
    .map(({ id, profile }) => {
      const apart = profile.distinguishing
        .map(
          (f) =>
            `${escapeXml(f.feature)} ${profileNumber(f.mean)} ± ${profileNumber(f.sd)} (rest ${profileNumber(f.restMean)}; ${f.difference >= 0 ? '+' : ''}${f.difference.toFixed(1)} sd)`,
        )
        .join('<br>');
      return (
        `<tr><td>${id}</td><td>${(100 * profile.share).toFixed(1)} %</td>` +
        `<td style="text-align:left">${apart || '–'}</td>` +
        `<td style="text-align:left">${escapeXml(profile.examples.join(', '))}</td></tr>`
      );
    });
  return (
    '<p class="notes">At the end of the last pass, in the input\'s own units (before any scaling), ' +
    'recent records weighted more (half-life 10,000 records). "Sets it apart": the features whose ' +
    "mean differs most from the other clusters' records, in standard deviations of all records.</p>" +
    '<table id="profiles"><tr><th>cluster</th><th>share</th><th>sets it apart (mean ± sd)</th><th>examples</th></tr>' +
    rows.join('') +
    '</table>'
  );
}

function passTable(report: EvaluationReport): string {
  const names = [...EXTERNAL_METRICS, ...INTERNAL_METRICS].filter((name) =>
    report.passes.some((p) => p.metrics.values[name] !== undefined),
  );
  const head = ['pass', 'records', 'clusters', ...names.map((n) => LABELS[n])];
  const rows = report.passes.map((p) => {
    const cells = names.map((name) => {
      const note = p.metrics.notes[name];
      const text = format(p.metrics.values[name]);
      return note === undefined
        ? `<td>${text}</td>`
        : `<td title="${escapeXml(note)}">${text} *</td>`;
    });
    return `<tr><td>${p.pass}</td><td>${p.metrics.records}</td><td>${p.metrics.clusters}</td>${cells.join('')}</tr>`;
  });
  const notes = report.passes.flatMap((p) =>
    Object.entries(p.metrics.notes).map(
      ([name, note]) => `<li>pass ${p.pass}, ${name}: ${escapeXml(note)}</li>`,
    ),
  );
  return (
    `<table><tr>${head.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>${rows.join('')}</table>` +
    (notes.length > 0 ? `<ul class="notes">${notes.join('')}</ul>` : '')
  );
}

function clusterSizeChart(report: EvaluationReport): string {
  return stackedBars({
    title: 'Cluster sizes over the stream (records per window, one colour per cluster id)',
    xLabel: 'records assigned',
    bars: report.windows.map((w) => ({
      x0: w.start,
      x1: w.end,
      parts: Object.entries(w.clusterSizes).map(([key, value]) => ({ key: Number(key), value })),
    })),
    boundaries: passBoundaries(report),
  });
}

function eventsChart(report: EvaluationReport): string {
  return eventTimeline({
    title: 'Drift and lifecycle events',
    xLabel: 'records assigned',
    xMax: report.summary.recordsAssigned,
    events: report.events.map((e) => ({
      x: e.position,
      kind: `${e.type === 'drift' ? 'drift' : 'cluster'} ${e.kind}`,
      label: `${e.type} ${e.kind} at record ${e.position}: ${JSON.stringify(e.detail)}`,
    })),
    boundaries: passBoundaries(report),
  });
}

function categoryIndex(values: readonly (number | null)[]): {
  categories: (number | null)[];
  names: string[];
} {
  const distinct = [...new Set(values.filter((v): v is number => v !== null))].sort(
    (a, b) => a - b,
  );
  const index = new Map(distinct.map((v, i) => [v, i]));
  return {
    categories: values.map((v) => (v === null ? null : (index.get(v) ?? null))),
    names: distinct.map(String),
  };
}

function embeddingViews(report: EvaluationReport): string {
  const view = report.embeddings;
  if (view === null) return '<p>No embeddings were assigned.</p>';
  const hasLabels = view.labels.some((l) => l !== null);
  const byCluster = categoryIndex(view.clusters);
  const byLabel = categoryIndex(view.labels);
  const plots: string[] = [];
  const add = (name: string, points: [number, number][], pick: (i: number) => number) => {
    const indexOf = (values: readonly (number | null)[]) =>
      points.map((_, i) => values[pick(i)] ?? null);
    plots.push(
      scatter({
        title: `${name}, coloured by cluster`,
        points,
        categories: indexOf(byCluster.categories),
        legendNames: byCluster.names.map((n) => `cluster ${n}`),
      }),
    );
    if (hasLabels) {
      plots.push(
        scatter({
          title: `${name}, coloured by label`,
          points,
          categories: indexOf(byLabel.categories),
          legendNames: byLabel.names.map((n) => `label ${n}`),
        }),
      );
    }
  };
  const [e1, e2] = view.pca.explained.map((e) => (100 * e).toFixed(1));
  add(`PCA (${e1}% + ${e2}% of variance)`, view.pca.points, (i) => i);
  const tsne = view.tsne;
  if (tsne !== null)
    add(`t-SNE of ${tsne.points.length} points`, tsne.points, (i) => tsne.index[i] as number);
  return (
    `<p>A sample of ${view.clusters.length} embeddings (dimension ${view.dim}) from pass ${view.pass}.` +
    `${tsne === null ? ' t-SNE was off for this report.' : ''}</p>` +
    `<div class="grid">${plots.join('')}</div>`
  );
}

export function renderReportHtml(report: EvaluationReport): string {
  const boundaries = passBoundaries(report);
  const range =
    report.data.partitions
      ?.map((p) => `partition ${p.partition}: [${p.start}, ${p.end})`)
      .join('; ') ?? '';
  const c = report.choices;
  const summary = [
    ['data', `${report.data.kind} ${report.data.name}${range === '' ? '' : ` (${range})`}`],
    ['records per pass', String(report.data.recordsPerPass)],
    [
      'mode',
      `${c.mode}, ${c.passes} pass${c.passes === 1 ? '' : 'es'}, windows of ${c.windowRecords} records`,
    ],
    ['k', `${c.k} (${c.kSource === 'labels' ? 'number of distinct labels' : 'configuration'})`],
    ['warm-up', `${c.warmupSize} records`],
    ...(c.labelMapping === undefined || c.labelMapping === null
      ? []
      : [
          [
            'labels',
            Object.entries(c.labelMapping)
              .map(([name, id]) => `${id} = ${name}`)
              .join(', '),
          ],
        ]),
    ['backend', report.backend ?? 'none (no network)'],
    [
      'clustered space',
      report.clusteredSpace === 'input'
        ? 'the scaled input (model.kind: none)'
        : 'the learned embedding',
    ],
    [
      'records',
      `${report.summary.recordsAssigned} assigned, ${report.summary.recordsInvalid} invalid, ` +
        `${report.summary.seconds.toFixed(1)} s (${report.summary.recordsPerSecond.toFixed(0)} records/s)`,
    ],
    ['final clusters', String(report.summary.finalClusters)],
    [
      'lifecycle',
      Object.entries(report.lifecycle)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none',
    ],
  ];
  const external = metricSeries(
    report,
    EXTERNAL_METRICS.filter((m) => ['nmi', 'ari', 'accuracy', 'purity', 'vMeasure'].includes(m)),
  );
  const internal = metricSeries(report, ['silhouette']);
  const charts = [
    external.length > 0
      ? lineChart({
          title: 'Label metrics per window (prequential)',
          xLabel: 'records assigned',
          series: external,
          boundaries,
          yRange: [0, 1],
        })
      : '',
    lineChart({
      title: 'Silhouette of the embeddings per window',
      xLabel: 'records assigned',
      series: internal,
      boundaries,
      yRange: [-1, 1],
    }),
    lineChart({
      title: 'Davies-Bouldin per window (lower is better)',
      xLabel: 'records assigned',
      series: metricSeries(report, ['daviesBouldin']),
      boundaries,
    }),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>streamclust ${escapeXml(report.command)} report</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1360px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } .summary td { text-align: left; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; } .notes { font-size: 12px; color: #555; }
</style></head><body>
<h1>streamclust ${escapeXml(report.command)} report</h1>
<p>Created ${escapeXml(report.createdAt)}. Metrics are prequential: each record was assigned by the store before the batch it came in updated the store.</p>
<table class="summary">${summary.map(([k, v]) => `<tr><th>${escapeXml(k ?? '')}</th><td>${escapeXml(v ?? '')}</td></tr>`).join('')}</table>
<h2>Metrics per pass</h2>${passTable(report)}
<h2>Metrics over the stream</h2><div class="grid">${charts.join('')}</div>
<h2>Cluster sizes over the stream</h2>${clusterSizeChart(report)}
<h2>Drift events</h2>${eventsChart(report)}
<h2>What each cluster holds</h2>${profileTable(report)}
<h2>Embeddings</h2>${embeddingViews(report)}
</body></html>
`;
}
