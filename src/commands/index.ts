/**
 * The commands of the CLI. Each module exports its summary and a `main(argv)` that returns the
 * exit code; adding a command is one entry here.
 */
import { evaluateMain } from './evaluate.js';
import { produceMain } from './produce.js';
import { replayMain } from './replay.js';
import { runMain } from './run.js';

export interface Command {
  summary: string;
  main(argv: readonly string[]): Promise<number>;
}

export const COMMANDS: Readonly<Record<string, Command>> = {
  run: {
    summary: 'consume the source, embed, cluster and write assignments until stopped',
    main: runMain,
  },
  evaluate: {
    summary: 'cluster a file (CSV or JSONL) as a stream and write a metrics report',
    main: evaluateMain,
  },
  replay: {
    summary:
      're-read a topic range through the pipeline (never commits) and write a metrics report',
    main: replayMain,
  },
  produce: {
    summary: 'write a CSV or JSONL data set to a topic, one record per row (demos, evaluations)',
    main: produceMain,
  },
};
