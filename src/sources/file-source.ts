/**
 * Reads a JSONL file (one JSON record per line, passed to the decoder as is) or a CSV file with
 * a header row (csv-file.ts). A CSV row becomes a JSON object keyed by column name (`object`,
 * what the pipeline decodes with `decode.fields`), or `{"features": [the chosen columns],
 * "label": …}` (`vector`, what `produce` writes to a topic, the shape streamclust's defaults
 * decode). Offsets are line numbers, so a dead-letter record points at the line to fix.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

import type { Config } from '../config/schema.js';
import { csvCell, csvRows, isCsv, readCsvHeader } from './csv-file.js';
import { pacedChunks } from './paced-chunks.js';
import type { Source, SourceRecord } from './source.js';

export interface FileSourceOptions {
  /** Resume: skip the lines before this line number. */
  skip?: number;
  /** How a CSV row is written (default `object`). */
  csvShape?: 'object' | 'vector';
  /** `vector` only: the feature columns, in order (default: every column but the label). */
  fields?: readonly string[];
}

export function createFileSource(
  config: Config['file'],
  labelField: string,
  maxInFlight: number,
  options: FileSourceOptions = {},
): Source {
  const skip = options.skip ?? 0;
  let stopped = false;
  const csv = isCsv(config);
  const record = (lineNumber: number, value: string): Omit<SourceRecord, 'chunk'> => ({
    topic: config.path,
    partition: 0,
    offset: String(lineNumber),
    key: null,
    value: Buffer.from(value),
    timestamp: Date.now(),
  });
  async function* jsonLines(): AsyncGenerator<Omit<SourceRecord, 'chunk'>> {
    const lines = createInterface({
      input: createReadStream(config.path),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber += 1;
      if (line.trim() === '' || lineNumber < skip) continue;
      yield record(lineNumber, line);
    }
  }
  async function* csvRecords(): AsyncGenerator<Omit<SourceRecord, 'chunk'>> {
    // Read before the stream opens, so a missing file or header is a ConfigError at once.
    const header = readCsvHeader(config.path);
    const shape = options.csvShape ?? 'object';
    const fields =
      options.fields !== undefined && options.fields.length > 0
        ? options.fields
        : header.filter((name) => name !== labelField);
    const columns = fields.map((name) => header.indexOf(name));
    const labelColumn = header.indexOf(labelField);
    let first = true;
    for await (const row of csvRows(config.path, createReadStream(config.path))) {
      if (first) {
        first = false;
        continue;
      }
      if (row.line < skip) continue;
      let value: string;
      if (shape === 'object') {
        const object: Record<string, number | string | null> = {};
        header.forEach((name, i) => (object[name] = csvCell(row.cells[i] ?? '')));
        value = JSON.stringify(object);
      } else {
        const features = columns.map((i) => (i < 0 ? null : csvCell(row.cells[i] ?? '')));
        const label = labelColumn < 0 ? null : csvCell(row.cells[labelColumn] ?? '');
        value = JSON.stringify(label === null ? { features } : { features, label });
      }
      yield record(row.line, value);
    }
  }
  return {
    kind: 'file',
    chunks: pacedChunks(csv ? csvRecords() : jsonLines(), {
      chunkSize: config.chunkSize,
      maxInFlight,
      recordsPerSecond: 0,
      stopped: () => stopped,
    }),
    stop: async () => {
      stopped = true;
    },
    close: async () => undefined,
    healthy: () => true,
  };
}
