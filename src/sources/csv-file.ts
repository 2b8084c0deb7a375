/**
 * CSV files as streamclust reads them: RFC 4180 (quoted cells, escaped quotes, line breaks
 * inside quotes, CRLF, a byte-order mark) through csv-parse, a header row naming the columns,
 * and columns chosen by name.
 *
 * A row becomes a JSON object keyed by column name (a cell that reads as a finite number is a
 * number, an empty one null, anything else the text), and the decoder takes `decode.fields`
 * from it: the columns the user named, or every column but the label. A text cell in a feature
 * column is then dead-lettered as `the field "host" is the string "host0"`, by name.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

import { parse as parseStream } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';

import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';

/** The default label column: a CSV without it is unlabelled, not an error. */
const DEFAULT_LABEL_FIELD = 'label';
/** Enough of the file's start to hold any reasonable header row. */
const HEADER_BYTES = 1 << 20;

export function isCsv(file: Config['file']): boolean {
  return (
    file.format === 'csv' || (file.format === 'auto' && file.path.toLowerCase().endsWith('.csv'))
  );
}

/** A file source's path must name a readable file before anything starts. */
function checkInputFile(path: string): void {
  let problem: string | undefined;
  try {
    if (!statSync(path).isFile()) problem = 'is a directory, not a file';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    problem = code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(error)})`;
  }
  if (problem !== undefined) {
    throw new ConfigError([
      {
        key: 'file.path',
        value: JSON.stringify(path),
        rule: problem,
        fix: 'pass the path of a JSONL or CSV file (--file)',
      },
    ]);
  }
}

/** The header row's column names, trimmed. Throws a ConfigError when the file cannot give one. */
export function readCsvHeader(path: string): string[] {
  let text: string;
  try {
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(HEADER_BYTES);
      const read = readSync(fd, buffer, 0, HEADER_BYTES, 0);
      text = buffer.subarray(0, read).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError([
      {
        key: 'file.path',
        value: JSON.stringify(path),
        rule: code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(error)})`,
        fix: 'pass the path of a CSV file with a header row (--file)',
      },
    ]);
  }
  let rows: string[][];
  try {
    rows = parseSync(text, { bom: true, to: 1, skip_empty_lines: true, relax_column_count: true });
  } catch (error) {
    throw new ConfigError([
      {
        key: 'file.path',
        value: JSON.stringify(path),
        rule: `its header row is not CSV: ${(error as Error).message}`,
        fix: 'the first row must name the columns, comma-separated',
      },
    ]);
  }
  const header = (rows[0] ?? []).map((name) => name.trim());
  if (header.length === 0 || header.every((name) => name === '')) {
    throw new ConfigError([
      {
        key: 'file.path',
        value: JSON.stringify(path),
        rule: 'has no header row',
        fix: 'the first row must name the columns, comma-separated',
      },
    ]);
  }
  return header;
}

/**
 * The configuration of a file source, checked before anything starts: the file must exist
 * (JSONL or CSV), and a CSV file gives `decode.fields` from its header when it names none:
 * every column but the label. Named fields and a label column other than the default must
 * exist; the error lists the columns there are. Other sources pass through unchanged.
 */
export function resolveFileSource(config: Config): Config {
  if (config.source === 'file') checkInputFile(config.file.path);
  if (config.source !== 'file' || !isCsv(config.file)) return config;
  const header = readCsvHeader(config.file.path);
  const { fields, labelField } = config.decode;
  const listing = header.map((name) => JSON.stringify(name)).join(', ');
  const missing = fields.filter((name) => !header.includes(name));
  if (missing.length > 0) {
    throw new ConfigError(
      missing.map((name) => ({
        key: 'decode.fields',
        value: JSON.stringify(name),
        rule: `is not a column of ${config.file.path}`,
        fix: `name columns of its header: ${listing}`,
      })),
    );
  }
  if (labelField !== DEFAULT_LABEL_FIELD && !header.includes(labelField)) {
    throw new ConfigError([
      {
        key: 'decode.labelField',
        value: JSON.stringify(labelField),
        rule: `is not a column of ${config.file.path}`,
        fix: `name the label column (--label-field) among: ${listing}`,
      },
    ]);
  }
  if (fields.length > 0) return config;
  const features = header.filter((name) => name !== labelField);
  if (features.length === 0) {
    throw new ConfigError([
      {
        key: 'file.path',
        value: JSON.stringify(config.file.path),
        rule: 'has no column besides the label',
        fix: 'a CSV needs at least one feature column',
      },
    ]);
  }
  return { ...config, decode: { ...config.decode, fields: features } };
}

/** One data row: its line number in the file (1-based, the row's last line) and its cells. */
export interface CsvRow {
  line: number;
  cells: string[];
}

/** The header row and then every data row of a CSV file, streamed. */
export async function* csvRows(
  path: string,
  stream: NodeJS.ReadableStream,
): AsyncGenerator<CsvRow> {
  const parser = stream.pipe(
    parseStream({ bom: true, skip_empty_lines: true, relax_column_count: true, info: true }),
  );
  try {
    for await (const item of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      yield { line: item.info.lines, cells: item.record };
    }
  } catch (error) {
    throw new ConfigError([
      {
        key: 'file.path',
        value: JSON.stringify(path),
        rule: `is not valid CSV: ${(error as Error).message}`,
        fix: 'quote cells that hold commas, quotes or line breaks ("a ""quoted"" cell")',
      },
    ]);
  }
}

/** A cell as a JSON value: a finite number, null when empty, the text otherwise. */
export function csvCell(cell: string): number | string | null {
  const text = cell.trim();
  if (text === '') return null;
  const number = Number(text);
  return Number.isFinite(number) ? number : text;
}
