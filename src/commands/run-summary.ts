/**
 * What `streamclust run` prints when it ends: records read, assigned and invalid (by reason, an
 * example each), where the outputs went; and its exit code for bad data (65, sysexits'
 * EX_DATAERR) when every record was invalid, or more than decode.maxInvalidShare of them.
 */
import type { Config } from '../config/schema.js';
import type { PipelineStatus } from '../pipeline/create-pipeline.js';
import { assignmentsTarget } from '../pipeline/open-sink.js';

export const EXIT_BAD_DATA = 65;

/** Reasons listed in the summary; the rest are counted together. */
const TOP_REASONS = 3;

export function outputsOf(config: Config): string[] {
  const { sinks, kafka, source } = config;
  const assignments = assignmentsTarget(config);
  const lines = [
    `assignments: ${
      assignments === 'kafka'
        ? `topic ${kafka.assignmentsTopic}`
        : assignments === 'file'
          ? sinks.assignmentsFile
          : assignments === 'stdout'
            ? 'standard output (JSON lines)'
            : 'not written (sinks.assignments: none)'
    }`,
  ];
  if (source === 'kafka' || assignments === 'kafka') {
    lines.push(
      `dead letters: topic ${kafka.deadLetterTopic}`,
      `events: topic ${kafka.eventsTopic}`,
    );
  } else {
    lines.push(
      `dead letters: ${sinks.deadLetterFile === '' ? 'not kept (--set sinks.deadLetterFile=PATH keeps them)' : sinks.deadLetterFile}`,
      `events: ${sinks.eventsFile === '' ? 'not kept (--set sinks.eventsFile=PATH keeps them)' : sinks.eventsFile}`,
    );
  }
  return lines;
}

/** Where a record was, for a person: a line of a file, an offset of a topic partition. */
function where(example: { topic: string; partition: number; offset: string }, config: Config) {
  if (config.source === 'file') return `line ${example.offset}`;
  if (config.source === 'kafka') return `${example.topic}/${example.partition}@${example.offset}`;
  return `record ${example.offset}`;
}

export function runSummary(config: Config, status: PipelineStatus): string {
  const { recordsConsumed: read, recordsAssigned: assigned, recordsInvalid: invalid } = status;
  const lines = [
    `streamclust run: ${read.toLocaleString('en')} records read, ${assigned.toLocaleString('en')} assigned, ` +
      `${invalid.toLocaleString('en')} invalid${read > 0 && invalid > 0 ? ` (${((100 * invalid) / read).toFixed(1)} %)` : ''}`,
  ];
  lines.push(...invalidLines(status.invalidReasons, config));
  lines.push(...outputsOf(config).map((line) => `  ${line}`));
  return lines.join('\n');
}

/** The most frequent reasons records were invalid, each with its first example, indented. */
export function invalidLines(reasons: PipelineStatus['invalidReasons'], config: Config): string[] {
  const lines = reasons
    .slice(0, TOP_REASONS)
    .map(
      ([reason, { count, example }]) =>
        `  ${reason}: ${count.toLocaleString('en')}, e.g. ${where(example, config)}: ${example.message}`,
    );
  const rest = reasons.slice(TOP_REASONS).reduce((sum, [, r]) => sum + r.count, 0);
  if (rest > 0) lines.push(`  other reasons: ${rest.toLocaleString('en')}`);
  return lines;
}

/** The bad-data verdict: a line saying why the run failed, or undefined when it did not. */
export function badData(
  config: Config,
  status: Pick<PipelineStatus, 'recordsAssigned' | 'recordsInvalid'>,
): string | undefined {
  const { recordsAssigned: assigned, recordsInvalid: invalid } = status;
  const total = assigned + invalid;
  if (invalid === 0) return undefined;
  if (assigned === 0) {
    return (
      `every record was invalid (${invalid.toLocaleString('en')}); the reasons are above. ` +
      'Fix: match decode.vectorField or decode.fields (and decode.labelField) to the records'
    );
  }
  const share = invalid / total;
  if (share > config.decode.maxInvalidShare) {
    return (
      `${(100 * share).toFixed(1)} % of the records were invalid, more than decode.maxInvalidShare ` +
      `(${config.decode.maxInvalidShare}); the reasons are above`
    );
  }
  return undefined;
}
