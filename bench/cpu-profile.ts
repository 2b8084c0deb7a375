/**
 * Where a process's main thread spent its CPU, from the `.cpuprofile` `node --cpu-prof` writes
 * for it. Each sample's interval is charged to the function on
 * top of the stack (self time), and functions are grouped by where their code lives: a package
 * (kafkajs, TensorFlow.js, prom-client, piscina), a folder of streamclust's `src/`, Node's own
 * JavaScript, V8's builtins (JSON, typed arrays: code with no file) and the garbage collector.
 * Only samples inside a window on the monotonic clock count, so start-up can be left out.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ThreadProfile {
  /** Microseconds sampled inside the window, idle included. */
  sampled: number;
  /** Microseconds per category of code, idle excluded. */
  categories: Map<string, number>;
  /** Microseconds per function (`name (category)`), idle excluded. */
  functions: Map<string, number>;
}

export function category(frame: ProfileNode['callFrame']): string {
  const { functionName, url } = frame;
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (functionName === '(program)') return 'V8 and native code (program)';
  if (url === '') return 'V8 builtins (JSON, typed arrays, …)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg !== null) return pkg[1] as string;
  const src = /\/src\/([^/]+)\//.exec(url);
  if (src !== null) return `streamclust src/${src[1]}`;
  if (/\/src\/[^/]+\.ts$/.test(url)) return 'streamclust src/';
  if (url.includes('/workers/')) return 'streamclust workers/';
  if (url.includes('/bench/')) return 'bench harness';
  if (url.startsWith('node:')) return 'Node.js internals';
  return 'other';
}

/** The self time of one profile's samples within [from, to] µs (monotonic clock). */
export function summarizeProfile(profile: CpuProfile, window: [number, number]): ThreadProfile {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const categories = new Map<string, number>();
  const functions = new Map<string, number>();
  let sampled = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    // A sample stands for the interval until the next one.
    const span = profile.timeDeltas[i + 1] ?? 0;
    if (at < window[0] || at > window[1]) continue;
    sampled += span;
    const node = byId.get(profile.samples[i] as number);
    if (node === undefined) continue;
    const cat = category(node.callFrame);
    if (cat === 'idle') continue;
    categories.set(cat, (categories.get(cat) ?? 0) + span);
    const name = `${node.callFrame.functionName || '(anonymous)'} (${cat})`;
    functions.set(name, (functions.get(name) ?? 0) + span);
  }
  return { sampled, categories, functions };
}

/**
 * The main thread's profile in `dir` (files named CPU.<date>.<time>.<pid>.<thread id>.<seq>
 * .cpuprofile, thread 0 the main one). Worker threads that a pool terminates write none, so
 * their CPU is measured from /proc instead (throughput-run.ts).
 */
export function readMainProfile(dir: string, window: [number, number]): ThreadProfile | undefined {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.split('.')[4] === '0');
  if (file === undefined) return undefined;
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
  return summarizeProfile(profile, window);
}
