#!/usr/bin/env node
// `npm test`: the unit and the integration project side by side, in two vitest processes.
//
// Within one vitest run, files of a project without file parallelism (integration: one broker,
// tests that stop and restart it) only start once every other file has finished, so the unit
// files (about 280 s on two workers) and the integration files (about 620 s, one at a time) ran
// one after the other: 910 s in CI. Run apart, the integration files keep their one-at-a-time
// order on one core while the unit files run on the other, one at a time too.
//
// Each process writes its own JSON report; this script merges them into test-results/vitest.json
// (the file CI reads) and exits non-zero when either project failed. With arguments it is plain
// `vitest run <arguments>` (one file, one project, a name filter).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const resultsDir = path.join(root, 'test-results');
const merged = path.join(resultsDir, 'vitest.json');

const args = process.argv.slice(2);
if (args.length > 0) {
  const child = spawn(process.execPath, [vitest, 'run', ...args], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.rmSync(merged, { force: true });
  const projects = ['unit', 'integration'];
  const runs = await Promise.all(projects.map(runProject));
  const report = mergeReports(runs);
  fs.writeFileSync(merged, JSON.stringify(report));
  console.log(
    `\n[test] unit and integration together: ${report.numPassedTests} passed, ` +
      `${report.numFailedTests} failed, ${report.numPendingTests} skipped; report in ${path.relative(root, merged)}`,
  );
  process.exit(runs.every((run) => run.code === 0) ? 0 : 1);
}

/** Runs one project, its output lines prefixed with the project's name. */
function runProject(project) {
  const outputFile = path.join(resultsDir, `vitest-${project}.json`);
  fs.rmSync(outputFile, { force: true });
  const env = { ...process.env };
  if (process.stdout.isTTY && env.FORCE_COLOR === undefined) env.FORCE_COLOR = '1';
  const child = spawn(
    process.execPath,
    [
      vitest,
      'run',
      '--project',
      project,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${outputFile}`,
      // One unit worker: the integration files then keep the other core. With two, both parts
      // slowed each other to 937 s on 2 cores (integration 937 s, unit 571 s).
      ...(project === 'unit' ? ['--maxWorkers=1'] : []),
    ],
    { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const tag = `[${project}] `;
  prefixLines(child.stdout, process.stdout, tag);
  prefixLines(child.stderr, process.stderr, tag);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) =>
      resolve({ project, code: code ?? (signal ? 1 : 0), signal, outputFile }),
    );
  });
}

function prefixLines(from, to, tag) {
  let pending = '';
  from.setEncoding('utf8');
  from.on('data', (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) to.write(tag + line + '\n');
  });
  from.on('end', () => {
    if (pending) to.write(tag + pending + '\n');
  });
}

/** Sums the two JSON reports; a project that wrote none counts as one failed test, named. */
function mergeReports(runs) {
  const report = {
    numTotalTestSuites: 0,
    numPassedTestSuites: 0,
    numFailedTestSuites: 0,
    numPendingTestSuites: 0,
    numTotalTests: 0,
    numPassedTests: 0,
    numFailedTests: 0,
    numPendingTests: 0,
    numTodoTests: 0,
    startTime: Date.now(),
    success: true,
    testResults: [],
  };
  const counts = Object.keys(report).filter((key) => key.startsWith('num'));
  for (const run of runs) {
    let part;
    try {
      part = JSON.parse(fs.readFileSync(run.outputFile, 'utf8'));
    } catch {
      const why = `vitest --project ${run.project} wrote no report (exit ${run.signal ?? run.code})`;
      console.error(`[test] ${why}`);
      report.numTotalTests += 1;
      report.numFailedTests += 1;
      report.success = false;
      report.testResults.push({
        name: run.project,
        status: 'failed',
        message: why,
        assertionResults: [],
      });
      continue;
    }
    for (const key of counts) report[key] += part[key] ?? 0;
    report.startTime = Math.min(report.startTime, part.startTime ?? report.startTime);
    report.success &&= part.success === true && run.code === 0;
    report.testResults.push(...part.testResults);
  }
  return report;
}
