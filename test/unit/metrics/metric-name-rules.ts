/**
 * The prometheus.io naming and labelling rules (https://prometheus.io/docs/practices/naming/,
 * .../instrumentation/#use-labels) as checks over a prom-client registry, so a test can hold
 * every metric streamclust exports to them. Each problem names the metric and the rule.
 */
import type { MetricObjectWithValues, MetricValueWithName, Registry } from 'prom-client';

export interface LintOptions {
  /** Prefix every application metric carries. */
  prefix: string;
  /** Prefixes of prom-client's default process and Node.js metrics, which follow their own. */
  foreignPrefixes: readonly string[];
  /** Series one metric may have (label combinations, histogram buckets not counted). */
  maxSeriesPerMetric: number;
  /** Per-metric exceptions to maxSeriesPerMetric, by name. */
  seriesBounds?: Readonly<Record<string, number>>;
}

const SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
// Prometheus wants base units: seconds, bytes, ratios 0..1; everything else is a derived unit.
const NON_BASE_UNITS = [
  'milliseconds',
  'ms',
  'microseconds',
  'nanoseconds',
  'minutes',
  'hours',
  'days',
  'kilobytes',
  'megabytes',
  'gigabytes',
  'kb',
  'mb',
  'percent',
  'percentage',
  'bits',
];
// Words that mean a time quantity; such a metric must be in seconds.
const TIME_WORDS = ['duration', 'latency', 'age', 'time', 'elapsed', 'delay', 'uptime'];
// Labels that would put one series per record, request or entity: unbounded cardinality.
const UNBOUNDED_LABELS = [
  'key',
  'record',
  'record_key',
  'offset',
  'message',
  'value',
  'timestamp',
  'trace_id',
  'request_id',
  'user',
  'user_id',
  'error',
  'path',
  'url',
];

type Family = MetricObjectWithValues<MetricValueWithName<string>>;

export function lintMetricFamily(family: Family, options: LintOptions): string[] {
  const problems: string[] = [];
  const { name, help } = family;
  // prom-client types this as an enum whose values are these strings.
  const type = String(family.type);
  const problem = (rule: string): number => problems.push(`${name}: ${rule}`);
  if (options.foreignPrefixes.some((p) => name.startsWith(p))) return problems;
  if (!name.startsWith(options.prefix)) problem(`must start with ${options.prefix}`);
  if (!SNAKE_CASE.test(name)) problem('must be snake_case ([a-z0-9] words joined by _)');
  const words = name.slice(options.prefix.length).split('_');
  for (const unit of NON_BASE_UNITS) {
    if (words.includes(unit))
      problem(`uses the non-base unit "${unit}" (use seconds, bytes or a ratio)`);
  }
  if (type === 'counter' && !name.endsWith('_total'))
    problem('is a counter, so it must end in _total');
  if (type !== 'counter' && name.endsWith('_total'))
    problem(`is a ${type}, so it must not end in _total`);
  const unitWords = type === 'counter' ? words.slice(0, -1) : words;
  if (
    TIME_WORDS.some((w) => unitWords.includes(w)) &&
    unitWords[unitWords.length - 1] !== 'seconds'
  ) {
    problem('measures time, so it must end in _seconds (or _seconds_total)');
  }
  if (name.endsWith('_info') && type !== 'gauge') problem('an _info metric must be a gauge');
  if (help.trim() === '') problem('needs a help text');
  const labelSets = new Map<string, Record<string, string | number>>();
  for (const value of family.values) {
    if (value.metricName !== undefined && value.metricName !== name) {
      // Histogram samples: _bucket (with le), _sum, _count; count label sets without le.
      const { le: _le, ...labels } = value.labels as Record<string, string | number>;
      labelSets.set(JSON.stringify(labels), labels);
    } else
      labelSets.set(JSON.stringify(value.labels), value.labels as Record<string, string | number>);
    if (name.endsWith('_info') && value.value !== 1)
      problem('an _info metric must have the value 1');
    if (name.endsWith('_ratio') && !(value.value >= 0 && value.value <= 1)) {
      problem(`is a ratio, but has the value ${value.value} outside [0, 1]`);
    }
  }
  for (const label of new Set([...labelSets.values()].flatMap((l) => Object.keys(l)))) {
    if (!SNAKE_CASE.test(label)) problem(`label "${label}" must be snake_case`);
    if (label.startsWith('__')) problem(`label "${label}" uses the reserved __ prefix`);
    if (UNBOUNDED_LABELS.includes(label)) problem(`label "${label}" has unbounded cardinality`);
    if (label === 'le' || (label === 'quantile' && type !== 'summary')) {
      problem(`label "${label}" is reserved for histogram and summary samples`);
    }
  }
  const bound = options.seriesBounds?.[name] ?? options.maxSeriesPerMetric;
  if (labelSets.size > bound) problem(`has ${labelSets.size} series, more than its bound ${bound}`);
  return problems;
}

export async function lintRegistry(registry: Registry, options: LintOptions): Promise<string[]> {
  const families = (await registry.getMetricsAsJSON()) as Family[];
  return families.flatMap((family) => lintMetricFamily(family, options));
}
