/**
 * A one-line progress bar for long commands: records done of total, rate and ETA, redrawn at
 * most ten times a second on a terminal. When the stream is not a TTY (a log file, CI, a pipe)
 * it draws nothing: carriage-return redraws would fill the log with garbage.
 */

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

export interface ProgressBar {
  update(done: number): void;
  /** Draws the final state and ends the line. */
  finish(): void;
}

/** h:mm:ss or m:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-:--';
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** The bar's text for `done` of `total` records after `elapsedSeconds`, fitted to `width`. */
export function formatProgress(
  label: string,
  done: number,
  total: number,
  elapsedSeconds: number,
  width: number,
): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const eta = rate > 0 && total > 0 ? Math.max(0, total - done) / rate : Number.NaN;
  const counts = `${done.toLocaleString('en')}/${total.toLocaleString('en')}`;
  const tail =
    ` ${counts} (${(fraction * 100).toFixed(1)}%) ` +
    `${Math.round(rate).toLocaleString('en')} rec/s ETA ${formatDuration(eta)}`;
  const barWidth = Math.max(10, Math.min(40, width - label.length - tail.length - 4));
  const filled = Math.round(fraction * barWidth);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${tail}`;
}

export function createProgressBar(
  label: string,
  total: number,
  stream: ProgressStream = process.stderr,
): ProgressBar {
  const started = performance.now();
  let lastDraw = 0;
  let done = 0;
  const draw = (): void => {
    const elapsed = (performance.now() - started) / 1000;
    const text = formatProgress(label, done, total, elapsed, stream.columns ?? 80);
    // \r returns to the line start, \x1b[K clears what a longer previous line left behind.
    stream.write(`\r${text}\x1b[K`);
  };
  return {
    update(value: number): void {
      done = value;
      if (stream.isTTY !== true) return;
      const now = performance.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      draw();
    },
    finish(): void {
      if (stream.isTTY !== true) return;
      draw();
      stream.write('\n');
    },
  };
}
