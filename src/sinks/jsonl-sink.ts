/**
 * Assignments as JSON lines on stdout or in a file, and dead letters in a file: the sinks of
 * the built-in demo and of file sources, where there is no broker. A write resolves once the
 * stream accepted the data (flushed to the operating system).
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

import { assignmentJson, deadLetterValue, type BatchOutput, type Sink } from './sink.js';

export interface JsonlSinkOptions {
  /** 'stdout', a file path, or undefined to drop assignments (metrics only). */
  assignments: 'stdout' | { file: string } | undefined;
  deadLetterFile: string | undefined;
  eventsFile?: string | undefined;
  /** assignmentOrigin(): the instance and run every assignment carries. */
  origin?: string;
}

export function createJsonlSink(options: JsonlSinkOptions): Sink {
  const assignmentStream =
    options.assignments === undefined
      ? undefined
      : options.assignments === 'stdout'
        ? process.stdout
        : openFile(options.assignments.file);
  let deadLetters: WriteStream | undefined;
  let events: WriteStream | undefined;
  return {
    async write(output: BatchOutput) {
      const writes: Promise<void>[] = [];
      if (assignmentStream !== undefined && output.assignments.length > 0) {
        writes.push(
          write(
            assignmentStream,
            output.assignments.map((a) => assignmentJson(a, options.origin)).join('\n') + '\n',
          ),
        );
      }
      if (options.deadLetterFile !== undefined && output.deadLetters.length > 0) {
        deadLetters ??= openFile(options.deadLetterFile);
        writes.push(
          write(
            deadLetters,
            output.deadLetters.map((d) => JSON.stringify(deadLetterValue(d))).join('\n') + '\n',
          ),
        );
      }
      if (options.eventsFile !== undefined && (output.events ?? []).length > 0) {
        events ??= openFile(options.eventsFile);
        writes.push(
          write(events, (output.events ?? []).map((e) => JSON.stringify(e)).join('\n') + '\n'),
        );
      }
      await Promise.all(writes);
    },
    async close() {
      const closing: Promise<void>[] = [];
      if (assignmentStream !== undefined && assignmentStream !== process.stdout)
        closing.push(end(assignmentStream as WriteStream));
      if (deadLetters !== undefined) closing.push(end(deadLetters));
      if (events !== undefined) closing.push(end(events));
      await Promise.all(closing);
    },
  };
}

function openFile(path: string): WriteStream {
  mkdirSync(dirname(path), { recursive: true });
  return createWriteStream(path, { flags: 'a' });
}

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

function end(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => stream.end(resolve));
}
