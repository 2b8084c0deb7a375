/**
 * The live view in a real browser: a running pipeline (the demo stream, drifting) serves `/`,
 * headless Chromium opens it, and the page must update itself and draw non-empty charts:
 * cluster sizes over time, the drift statistics (each in its own strip, on its own scale) with
 * the drift incidents as shaded spans, the PCA picture of embeddings and centroids, backend and
 * throughput, and the table of what each cluster holds in input units. The full-page screenshot is
 * kept in test-results/ (docs/live-view.png is one of them).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { validateConfig } from '../../../src/config/load-config.js';
import { silentLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { createPipeline, type Pipeline } from '../../../src/pipeline/create-pipeline.js';
import { describeWithChromium, launchChromium, type Browser } from '../../helpers/browser.js';
import { REPO_ROOT } from '../../helpers/cli-process.js';
import { waitFor } from '../../helpers/kafka.js';

const SCREENSHOT = join(REPO_ROOT, 'test-results', 'live-view.png');

interface ChartState {
  series: number;
  points: number;
  markers: number;
  lines: number;
  circles: number;
  /** Shaded spans (rect) and dashed vertical alarm lines drawn in the chart. */
  spans: number;
  alarmLines: number;
}

/**
 * What a chart drew: its data attributes and the SVG elements in it, read in one step inside
 * the page. Read one by one, a re-render between two reads (the page redraws every second)
 * could pair the spans of one picture with the markers of the next.
 */
async function chart(page: Page, id: string): Promise<ChartState> {
  return page.locator(`svg#${id}`).evaluate((svg) => ({
    series: Number(svg.getAttribute('data-series')),
    points: Number(svg.getAttribute('data-points')),
    markers: Number(svg.getAttribute('data-markers') ?? 0),
    lines: svg.querySelectorAll('polyline').length,
    circles: svg.querySelectorAll('circle').length,
    spans: svg.querySelectorAll('rect[fill="#c0392b"]').length,
    alarmLines: svg.querySelectorAll('line[stroke-dasharray="4 3"]').length,
  }));
}

describeWithChromium('live view in Chromium', () => {
  let pipeline: Pipeline;
  let running: Promise<void>;
  let browser: Browser | undefined;

  beforeAll(async () => {
    pipeline = await createPipeline(
      validateConfig({
        // A change every 10,000 records (about 7 s); each incident closes 3,000 records after
        // its last detection, so the picture shows separate spans.
        synthetic: { recordsPerSecond: 1500, driftEveryRecords: 10_000, clusters: 5 },
        cluster: { k: 6, warmupSize: 600 },
        drift: { referenceRecords: 2000, windowRecords: 1000, incidents: { quietRecords: 3000 } },
        http: { host: '127.0.0.1', port: 0 },
        log: { level: 'silent', statusIntervalMs: 0 },
      }),
      { logger: silentLogger, metrics: new Metrics() },
    );
    running = pipeline.run();
    await waitFor(() => pipeline.httpUrl, { message: 'no HTTP server' });
    browser = await launchChromium({ width: 1200, height: 800 });
  });

  afterAll(async () => {
    await browser?.close();
    await pipeline?.stop();
    await running;
  });

  it('updates itself and draws sizes, drift strips with incident spans, PCA, backend and throughput', async () => {
    const page = await browser!.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`${pipeline.httpUrl}/`);
    expect(await page.title()).toBe('streamclust live view');

    const updates = async (): Promise<number> =>
      Number((await page.locator('body').getAttribute('data-updates')) ?? 0);
    await waitFor(async () => (await updates()) >= 1, { message: 'the page never rendered' });
    // The stream flows once the warm-up sample is pretrained on, which on a busy machine (CI
    // runs the unit and integration suites side by side) once took longer than the 30 s below.
    await waitFor(() => pipeline.status().recordsAssigned > 0, {
      timeoutMs: 120_000,
      message: 'the pipeline assigned nothing',
    });
    const firstRecords = await page.locator('#records').textContent();
    const firstUpdates = await updates();
    // It polls by itself: more renders, more records, without a reload.
    await waitFor(
      async () =>
        (await updates()) >= firstUpdates + 3 &&
        (await page.locator('#records').textContent()) !== firstRecords,
      { timeoutMs: 30_000, message: 'the live view did not update itself' },
    );

    // Until a drift incident was opened and shaded, and the size history spans some 15 seconds
    // (one point per cluster and second).
    await waitFor(
      async () => {
        const [drift, sizes] = [await chart(page, 'drift'), await chart(page, 'sizes')];
        return drift.markers > 0 && sizes.series > 0 && sizes.points >= 15 * sizes.series;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 1000,
        message: 'no drift incident shaded, or too short a size history',
      },
    );
    const sizes = await chart(page, 'sizes');
    const drift = await chart(page, 'drift');
    const pca = await chart(page, 'pca');
    console.log(
      `[live-view] sizes ${JSON.stringify(sizes)} drift ${JSON.stringify(drift)} pca ${JSON.stringify(pca)}`,
    );
    expect(sizes.series).toBeGreaterThanOrEqual(5);
    expect(sizes.lines).toBe(sizes.series);
    expect(sizes.points).toBeGreaterThanOrEqual(sizes.series * 15);
    // The input tests and the assignment statistics, one strip each with its own scale label.
    expect(drift.series).toBeGreaterThanOrEqual(3);
    expect(drift.points).toBeGreaterThan(3);
    const strips = await page.locator('svg#drift text').allTextContents();
    for (const name of ['input tests', 'assignment PSI', 'JS divergence', 'distance EWMA'])
      expect(strips.some((t) => t.startsWith(name) && t.includes('(max '))).toBe(true);
    // Incidents are spans, one per incident, and no alarm is drawn as a line of its own.
    expect(drift.spans).toBe(drift.markers);
    expect(drift.alarmLines).toBe(0);
    // The header counts every incident the view holds (one may be newer than the last point).
    const [total] = ((await page.locator('#drifts').textContent()) ?? '').split(' ');
    expect(Number(total)).toBeGreaterThanOrEqual(drift.markers);
    expect(pca.series).toBeGreaterThanOrEqual(5);
    expect(pca.points).toBeGreaterThan(100);
    expect(pca.circles).toBe(pca.points + pca.series);

    const backend = await page.locator('#backend').textContent();
    expect(['tensorflow', 'wasm', 'cpu']).toContain(backend);
    expect(backend).toBe(pipeline.status().backend);
    const rate = Number(await page.locator('#rate').textContent());
    expect(rate).toBeGreaterThan(100);
    expect(await page.locator('#events li.drift').first().textContent()).toMatch(
      /drift incident #\d+ (opened|closed) — /,
    );
    // What each cluster holds, in input units: one row per cluster, read in one step.
    const profiles = await page.locator('table#profiles').evaluate((table) => ({
      rows: Number(table.getAttribute('data-rows')),
      cells: [...table.querySelectorAll('tr[data-cluster]')].map((tr) =>
        [...tr.querySelectorAll('td')].map((td) => td.innerText as string),
      ),
    }));
    console.log(`[live-view] profiles ${JSON.stringify(profiles.cells.slice(0, 2))}`);
    expect(profiles.rows).toBeGreaterThanOrEqual(5);
    expect(profiles.cells).toHaveLength(profiles.rows);
    const shares = profiles.cells.map(([, share]) => Number(/([\d.]+) %/.exec(share ?? '')?.[1]));
    // Every cluster's share, summing to the whole (each rounded to 0.1 %).
    expect(Math.abs(shares.reduce((a, b) => a + b, 0) - 100)).toBeLessThan(0.1 * shares.length);
    // The demo's records are a vector: its features are named by position, each with its mean,
    // the rest's mean and the difference in standard deviations.
    for (const [, , apart] of profiles.cells)
      expect(apart).toMatch(/^features\[\d+\] \S+ \(rest \S+, [+-]\d+\.\d sd\)/);
    // Without sync.enabled the group figure stays hidden; with it (the data's `group`, as a
    // group member's /api/live gives it) it says the role, the instances and the epoch.
    expect(await page.locator('#group-figure').isHidden()).toBe(true);
    const group = await page.evaluate(async () => {
      // Runs in the page: its globals, typed here without the DOM library.
      const page = globalThis as unknown as {
        render: (data: unknown) => void;
        document: {
          getElementById: (id: string) => { textContent: string | null; title: string } | null;
        };
      };
      const data = (await (await fetch('/api/live')).json()) as Record<string, unknown>;
      data['group'] = { leader: false, instances: ['a-1', 'b-2', 'c-3'], epoch: 7, lagVersions: 1 };
      page.render(data);
      const figure = page.document.getElementById('group');
      return { text: figure?.textContent, title: figure?.title };
    });
    expect(group).toEqual({
      text: 'follower · 3 instances · epoch 7 (1 behind)',
      title: 'a-1\nb-2\nc-3',
    });
    expect(await page.locator('#group-figure').isVisible()).toBe(true);
    expect(errors).toEqual([]);

    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`[live-view] screenshot: ${SCREENSHOT} (${await updates()} updates seen)`);
  });
});
