/**
 * Reads a JSONL file (one JSON record per line, passed to the decoder as is) or a CSV file with
 * a header row (each row becomes `{"features": [every column but decode.labelField], "label"}`).
 * Offsets are line numbers, so a dead-letter record points at the line to fix.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

import type { Config } from '../config/schema.js';
import { pacedChunks } from './paced-chunks.js';
import type { Source, SourceRecord } from './source.js';

export function createFileSource(
  config: Config['file'],
  labelField: string,
  maxInFlight: number,
  /** Resume: skip the lines before this line number. */
  skip = 0,
): Source {
  let stopped = false;
  const format =
    config.format !== 'auto'
      ? config.format
      : config.path.toLowerCase().endsWith('.csv')
        ? 'csv'
        : 'jsonl';
  async function* records(): AsyncGenerator<Omit<SourceRecord, 'chunk'>> {
    const lines = createInterface({
      input: createReadStream(config.path),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    let header: string[] | undefined;
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber += 1;
      if (line.trim() === '') continue;
      if (lineNumber < skip && header !== undefined) continue;
      let value = line;
      if (format === 'csv') {
        if (header === undefined) {
          header = line.split(',').map((h) => h.trim());
          continue;
        }
        value = csvRowToJson(header, line.split(','), labelField);
      }
      yield {
        topic: config.path,
        partition: 0,
        offset: String(lineNumber),
        key: null,
        value: Buffer.from(value),
        timestamp: Date.now(),
      };
    }
  }
  return {
    kind: 'file',
    chunks: pacedChunks(records(), {
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

function csvRowToJson(
  header: readonly string[],
  cells: readonly string[],
  labelField: string,
): string {
  const features: (number | string)[] = [];
  let label: number | undefined;
  header.forEach((name, i) => {
    const cell = (cells[i] ?? '').trim();
    const number = cell === '' ? Number.NaN : Number(cell);
    if (name === labelField) label = Number.isInteger(number) ? number : undefined;
    // An unparseable cell stays a string so the decoder rejects the row with a reason.
    else features.push(Number.isFinite(number) ? number : cell);
  });
  return JSON.stringify(label === undefined ? { features } : { features, label });
}
