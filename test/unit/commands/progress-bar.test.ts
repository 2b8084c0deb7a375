import { describe, expect, it } from 'vitest';

import {
  createProgressBar,
  formatDuration,
  formatProgress,
  type ProgressStream,
} from '../../../src/commands/progress-bar.js';

function stream(isTTY: boolean): ProgressStream & { text: string } {
  const s = {
    isTTY,
    columns: 100,
    text: '',
    write(chunk: string): boolean {
      s.text += chunk;
      return true;
    },
  };
  return s;
}

describe('progress bar', () => {
  it('formats done/total, percentage, rate and ETA', () => {
    // 250 of 1,000 in 5 s: 50 rec/s, 750 left = 15 s.
    const text = formatProgress('replay', 250, 1000, 5, 100);
    expect(text).toBe(
      `replay [${'#'.repeat(10)}${'-'.repeat(30)}] 250/1,000 (25.0%) 50 rec/s ETA 0:15`,
    );
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Number.NaN)).toBe('-:--');
    expect(formatProgress('x', 0, 10, 0, 80)).toContain('ETA -:--');
  });

  it('draws on a terminal and ends the line when finished', () => {
    const tty = stream(true);
    const bar = createProgressBar('evaluate', 10, tty);
    bar.update(4);
    bar.finish();
    expect(tty.text.startsWith('\revaluate [')).toBe(true);
    expect(tty.text).toContain(' 4/10 (40.0%)');
    expect(tty.text.endsWith('\x1b[K\n')).toBe(true);
  });

  it('stays quiet when the stream is not a terminal', () => {
    const pipe = stream(false);
    const bar = createProgressBar('evaluate', 10, pipe);
    bar.update(5);
    bar.finish();
    expect(pipe.text).toBe('');
  });
});
