/**
 * The evaluation report in a real browser: `streamclust evaluate` on a seeded CSV mixture whose
 * generator shifts two named columns per kind of record, then headless Chromium opens the
 * report.html it wrote (a file, no server) and the table "What each cluster holds" must name,
 * for each cluster, the two columns its kind shifted. The full-page screenshot is kept in
 * test-results/ (docs/report.png is one of them).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { describeWithChromium, launchChromium, type Browser } from '../../helpers/browser.js';
import { REPO_ROOT, runCli } from '../../helpers/cli-process.js';
import { COLUMNS, SHIFTED, mixtureCsv } from '../../helpers/profile-mixture.js';

const SCREENSHOT = join(REPO_ROOT, 'test-results', 'report.png');

describeWithChromium('evaluation report in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamclust-report-view-'));
  let browser: Browser | undefined;

  beforeAll(async () => {
    browser = await launchChromium({ width: 1200, height: 800 });
  });

  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows each cluster of a seeded mixture set apart by the columns its generator shifted', async () => {
    const file = join(dir, 'mixture.csv');
    mixtureCsv(file, 3_000, 11);
    const report = join(dir, 'report');
    const evaluated = await runCli([
      'evaluate',
      '--file',
      file,
      '--passes',
      '1',
      '--report',
      report,
      '--tsne-points',
      '200',
      '--set',
      `decode.fields=[${COLUMNS.join(', ')}]`,
      '--set',
      'cluster.warmupSize=300',
      // The table is under test, not the network: the store clusters the scaled input.
      '--set',
      'model.kind=none',
    ]);
    expect(evaluated.code, evaluated.stderr).toBe(0);

    const page = await browser!.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(pathToFileURL(join(report, 'report.html')).href);
    const rows = await page
      .locator('table#profiles tr')
      .evaluateAll((trs) =>
        trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText)),
      );
    console.log(`[report-view] ${JSON.stringify(rows)}`);
    expect(rows).toHaveLength(3);
    const found = rows.map(([, share, apart]) => {
      // About a third of the records each, in percent.
      expect(Number(/([\d.]+) %/.exec(share ?? '')?.[1])).toBeGreaterThan(28);
      // "latency 18.0 ± 0.98 (rest 10.0; +1.9 sd)" per line: the two shifted columns lead.
      const lines: string[] = String(apart ?? '').split('\n');
      for (const line of lines.slice(0, 2)) expect(line).toMatch(/^\w+ 1[78]\.\d+ ± .* sd\)$/);
      return lines
        .slice(0, 2)
        .map((line) => line.split(' ')[0])
        .sort()
        .join('+');
    });
    expect(found.sort()).toEqual(SHIFTED.map((s) => [...s].sort().join('+')).sort());
    expect(errors).toEqual([]);

    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`[report-view] screenshot: ${SCREENSHOT}`);
  });
});
