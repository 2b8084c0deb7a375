/**
 * `streamclust evaluate --file data.csv|data.jsonl [--passes N] [--report dir]`: the replay
 * evaluation over a file, without Kafka. The file is read once per pass through the same
 * pipeline (the model and store carry over), and the report is the same as replay's.
 */
import { ConfigError } from '../errors.js';
import { createFileSource } from '../sources/file-source.js';
import {
  EVALUATION_FLAGS,
  helpFor,
  parseEvaluationFlags,
  type FlagSpec,
} from './evaluation-flags.js';
import { runEvaluationSession } from './evaluation-session.js';

const FLAGS: Record<string, FlagSpec> = {
  file: { type: 'string', help: 'JSONL file, or CSV with a header row (required)' },
  format: { type: 'string', help: 'auto (by extension), jsonl or csv' },
};

export function evaluateHelp(): string {
  return helpFor(
    'streamclust evaluate --file <path> [options]',
    'streamclust evaluate: clusters a file as a stream and writes metrics, curves and plots.',
    { ...FLAGS, ...EVALUATION_FLAGS },
  );
}

export async function evaluateMain(argv: readonly string[]): Promise<number> {
  const flags = parseEvaluationFlags('evaluate', argv, FLAGS);
  if (flags.help) {
    process.stdout.write(evaluateHelp() + '\n');
    return 0;
  }
  const file = flags.values['file'];
  if (typeof file !== 'string' || file === '') {
    throw new ConfigError([
      {
        key: '--file',
        value: '<missing>',
        rule: 'evaluate needs a file',
        fix: 'pass --file data.csv or --file data.jsonl',
      },
    ]);
  }
  const format = flags.values['format'];
  return runEvaluationSession({
    command: 'evaluate',
    flags,
    overrides: {
      source: 'file',
      'file.path': file,
      ...(typeof format === 'string' ? { 'file.format': format } : {}),
    },
    kind: 'file',
    data: { kind: 'file', name: file },
    openPass: (config) =>
      createFileSource(config.file, config.decode.labelField, config.batch.maxInFlight),
  });
}
