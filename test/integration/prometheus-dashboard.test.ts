/**
 * The shipped monitoring files against a real Prometheus: promtool accepts the scrape config
 * and the rules and runs the rules' unit tests; then a Prometheus started with the shipped
 * configuration (1 s intervals, the target pointed at the pipeline) scrapes a pipeline that
 * consumes a real Kafka topic, and every PromQL expression of the Grafana dashboard (panels and
 * annotations) must return at least one finite sample, so no panel is silently empty; every
 * alert rule must evaluate without error.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

import { validateConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { createPipeline, type Pipeline } from '../../src/pipeline/create-pipeline.js';
import { DriftingMixture } from '../../src/sources/drifting-mixture.js';
import { REPO_ROOT } from '../helpers/cli-process.js';
import {
  createTopic,
  describeWithKafka,
  kafkaBrokers,
  produceRaw,
  uniqueName,
  waitFor,
} from '../helpers/kafka.js';
import { mixtureRecords } from '../helpers/mixture-records.js';
import {
  describeWithPrometheus,
  freePort,
  PrometheusServer,
  promtool,
} from '../helpers/prometheus.js';

const PROMETHEUS_DIR = join(REPO_ROOT, 'config', 'prometheus');
const DASHBOARD = join(REPO_ROOT, 'config', 'grafana', 'dashboards', 'streamclust.json');
const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
};
const RULES_FILE = 'streamclust-alerts.yml';

interface DashboardExpr {
  where: string;
  expr: string;
}

/**
 * Every PromQL expression of the dashboard: panel targets (rows included) and annotations, with
 * the template variables ($job, $instance) replaced by `values`, as Grafana does.
 */
function dashboardExprs(values: Record<string, string> = {}): DashboardExpr[] {
  interface Panel {
    title?: string;
    targets?: { expr?: string; refId?: string }[];
    panels?: Panel[];
  }
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Panel[];
    annotations: { list: { name: string; expr?: string }[] };
  };
  const exprs: DashboardExpr[] = [];
  const visit = (panel: Panel): void => {
    for (const target of panel.targets ?? []) {
      if (target.expr !== undefined)
        exprs.push({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr });
    }
    panel.panels?.forEach(visit);
  };
  dashboard.panels.forEach(visit);
  for (const a of dashboard.annotations.list) {
    if (a.expr !== undefined) exprs.push({ where: `annotation "${a.name}"`, expr: a.expr });
  }
  return exprs.map((e) => ({
    ...e,
    expr: e.expr.replace(/\$(\w+)/g, (whole, name: string) => values[name] ?? whole),
  }));
}

/** The dashboard's template variables that are Prometheus queries. */
function dashboardVariables(): { name: string; query: string; allValue?: string }[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    templating: { list: { name: string; type: string; query: unknown; allValue?: string }[] };
  };
  return dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => ({
      name: v.name,
      query: (v.query as { query: string }).query,
      ...(v.allValue === undefined ? {} : { allValue: v.allValue }),
    }));
}

function alertRules(): { alert: string; expr: string }[] {
  const file = parse(readFileSync(join(PROMETHEUS_DIR, RULES_FILE), 'utf8')) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  return file.groups.flatMap((g) => g.rules);
}

function finiteSamples(result: { resultType: string; result: unknown[] }): number {
  const values = (result.result as { value?: [number, string] }[]).map((r) => Number(r.value?.[1]));
  return values.filter((v) => Number.isFinite(v)).length;
}

describeWithPrometheus('shipped Prometheus files (promtool)', () => {
  it('passes promtool check config, check rules and the rules unit tests', () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-promtool-'));
    try {
      cpSync(PROMETHEUS_DIR, dir, { recursive: true });
      const config = promtool(['check', 'config', join(dir, 'prometheus.yml')]);
      expect(config.output).toContain('is valid prometheus config file syntax');
      expect(config.code).toBe(0);
      const rules = promtool(['check', 'rules', join(dir, RULES_FILE)]);
      expect(rules.output).toContain(`SUCCESS: ${alertRules().length} rules found`);
      expect(rules.code).toBe(0);
      const tests = promtool(['test', 'rules', join(dir, 'streamclust-alerts.test.yml')]);
      expect(tests.output).toContain('SUCCESS');
      expect(tests.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWithKafka(
  'Grafana dashboard and alerts against Prometheus scraping a Kafka pipeline',
  () => {
    describeWithPrometheus('with a real Prometheus', () => {
      let pipeline: Pipeline;
      let running: Promise<void>;
      let prometheus: PrometheusServer | undefined;
      let producing = true;
      let producer: Promise<void> = Promise.resolve();
      const checkpointDir = mkdtempSync(join(tmpdir(), 'streamclust-checkpoints-'));

      beforeAll(async () => {
        const input = uniqueName('prometheus-input');
        await createTopic(input, 3);
        // A stationary start the reference is built from, with malformed records of every kind.
        const { records } = mixtureRecords({
          count: 3000,
          clusters: 4,
          dim: 8,
          seed: 7,
          malformedEvery: 300,
        });
        records.forEach((r, i) => (r.partition = i % 3));

        // Prometheus starts first, scraping the port the pipeline will listen on.
        const port = await freePort();
        const shipped = parse(readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as {
          global: Record<string, string>;
          rule_files: string[];
          scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
        };
        shipped.global['scrape_interval'] = '1s';
        shipped.global['evaluation_interval'] = '1s';
        for (const job of shipped.scrape_configs) {
          job.static_configs = [{ targets: [`127.0.0.1:${port}`] }];
        }
        prometheus = await PrometheusServer.start(stringify(shipped), {
          [RULES_FILE]: readFileSync(join(PROMETHEUS_DIR, RULES_FILE), 'utf8'),
        });

        const config = validateConfig({
          source: 'kafka',
          kafka: {
            brokers: kafkaBrokers(),
            inputTopic: input,
            groupId: uniqueName('prometheus-group'),
            assignmentsTopic: uniqueName('prometheus-assignments'),
            deadLetterTopic: uniqueName('prometheus-dead-letter'),
            eventsTopic: uniqueName('prometheus-events'),
            lagIntervalMs: 1000,
          },
          // Checkpoints on, so the checkpoint-age panel has a series too.
          checkpoint: { dir: checkpointDir, everySeconds: 1 },
          // Adaptive k: the shifted mixture opens clusters of its own, so the lifecycle
          // annotation has events (a stable embedding no longer kills clusters on its own).
          cluster: { k: 4, warmupSize: 400, adaptive: { enabled: true, maxClusters: 12 } },
          drift: { referenceRecords: 1500, windowRecords: 600 },
          http: { host: '127.0.0.1', port },
          log: { level: 'silent', statusIntervalMs: 0 },
        });
        pipeline = await createPipeline(config, { logger: silentLogger, metrics: new Metrics() });
        running = pipeline.run();
        await waitFor(() => pipeline.httpUrl, { message: 'no HTTP server' });
        // The records go in once Prometheus has scraped the idle pipeline, so the counters' first
        // samples are the zeros before the store starts (k clusters are born then).
        const server = prometheus;
        await waitFor(async () => finiteSamples(await server.query('up == 1')) > 0, {
          timeoutMs: 60_000,
          message: 'Prometheus never scraped the pipeline',
        });
        await produceRaw(input, records);

        // Then a different mixture keeps arriving: the drift to detect, and fresh observations
        // for every rate() and histogram_quantile() window while Prometheus is queried.
        const shifted = new DriftingMixture({
          seed: 1234,
          dim: 8,
          clusters: 4,
          spread: 0.6,
          separation: 6,
          driftEveryRecords: 0,
        });
        producer = (async () => {
          for (let round = 0; producing; round++) {
            const batch = Array.from({ length: 150 }, (_, i) => {
              const p = shifted.next();
              return {
                key: `shifted-${round}-${i}`,
                value: JSON.stringify(p),
                partition: i % 3,
              };
            });
            await produceRaw(input, batch);
            await new Promise((resolve) => setTimeout(resolve, 500));
          }
        })();
      });

      afterAll(async () => {
        producing = false;
        await producer;
        await prometheus?.stop();
        await pipeline?.stop();
        await running;
        rmSync(checkpointDir, { recursive: true, force: true });
      });

      it('a full scrape of the running pipeline passes promtool check metrics', async () => {
        // Once records have flowed, so every labelled series (stages, losses, clusters) is there.
        await waitFor(
          async () =>
            finiteSamples(await prometheus!.query('streamclust_records_assigned_total > 0')) > 0,
          {
            timeoutMs: 120_000,
            message: 'no record was assigned',
          },
        );
        const scrape = await (await fetch(`${pipeline.httpUrl}/metrics`)).text();
        expect(scrape).toMatch(/^streamclust_stage_duration_seconds_bucket\{/m);
        expect(scrape).toMatch(
          new RegExp(
            `^streamclust_build_info\\{version="${version.replaceAll('.', '\\.')}",node="${process.version}"\\} 1$`,
            'm',
          ),
        );
        const check = promtool(['check', 'metrics'], scrape);
        expect(check.output).toBe('');
        expect(check.code).toBe(0);
      });

      it('every dashboard expression returns data and every alert rule evaluates', async () => {
        const server = prometheus!;
        await waitFor(
          async () => {
            const { activeTargets } = await server.api<{
              activeTargets: { health: string }[];
            }>('targets');
            return activeTargets.length > 0 && activeTargets.every((t) => t.health === 'up');
          },
          { timeoutMs: 60_000, message: 'the pipeline target is not up' },
        );

        // The job and instance variables list this pipeline; every panel is then queried for
        // it alone (the value a user picks) and, below, for All.
        const values: Record<string, string> = {};
        const variables = dashboardVariables();
        expect(variables.map((v) => v.name)).toEqual(['job', 'instance']);
        for (const variable of variables) {
          const match = /^label_values\((.*), (\w+)\)$/.exec(variable.query);
          expect(match, variable.query).not.toBeNull();
          const selector = match![1]!.replace(/\$(\w+)/g, (w, n: string) => values[n] ?? w);
          const found = await server.api<string[]>(
            `label/${match![2]}/values?match[]=${encodeURIComponent(selector)}`,
          );
          expect(found, variable.name).toHaveLength(1);
          values[variable.name] = found[0]!;
        }
        expect(values['instance']).toBe(new URL(pipeline.httpUrl!).host);
        const exprs = dashboardExprs(values);
        expect(exprs.length).toBeGreaterThanOrEqual(30);
        expect(
          exprs.filter((e) => e.expr.includes('streamclust_') && !e.expr.includes('instance=~')),
        ).toEqual([]);
        const empty = async (): Promise<DashboardExpr[]> => {
          const missing: DashboardExpr[] = [];
          for (const e of exprs) {
            // A query error throws here and fails the test at once: a typo is never "no data yet".
            if (finiteSamples(await server.query(e.expr)) === 0) missing.push(e);
          }
          return missing;
        };
        let lastMissing: DashboardExpr[] = [];
        await waitFor(
          async () => {
            lastMissing = await empty();
            return lastMissing.length === 0;
          },
          {
            timeoutMs: 150_000,
            intervalMs: 2000,
            message: 'some dashboard expressions stay empty',
          },
        ).catch(() => undefined);
        expect(lastMissing.map((e) => `${e.where}: ${e.expr}`)).toEqual([]);

        const counts: string[] = [];
        for (const e of exprs) {
          const result = await server.query(e.expr);
          counts.push(`${finiteSamples(result)} ${e.where}`);
        }
        console.log(
          `[prometheus] finite samples per dashboard expression:\n  ${counts.join('\n  ')}`,
        );
        // With All picked, the same series: this Prometheus scrapes one pipeline. Both at one
        // evaluation time, so a rate window moving on between the two queries cannot differ.
        const all = Object.fromEntries(variables.map((v) => [v.name, v.allValue ?? '.*']));
        const at = Date.now() / 1000 - 5;
        const picked = dashboardExprs(values);
        for (const [index, e] of dashboardExprs(all).entries()) {
          expect(finiteSamples(await server.query(e.expr, at)), `${e.where} with All`).toBe(
            finiteSamples(await server.query(picked[index]!.expr, at)),
          );
        }

        // Alert expressions: evaluated by hand through the API, and by the rule manager itself.
        for (const rule of alertRules()) {
          await expect(server.query(rule.expr), rule.alert).resolves.toMatchObject({
            resultType: 'vector',
          });
        }
        const { groups } = await server.api<{
          groups: { rules: { name: string; health: string; lastError?: string }[] }[];
        }>('rules');
        const health = groups.flatMap((g) => g.rules).map((r) => [r.name, r.health, r.lastError]);
        expect(health).toEqual(alertRules().map((r) => [r.alert, 'ok', undefined]));
        const firing = await server.query('ALERTS{alertstate="firing"}');
        console.log(
          `[prometheus] firing alerts: ${JSON.stringify(firing.result.map((r) => (r as { metric: unknown }).metric))}`,
        );
      });
    });
  },
);
