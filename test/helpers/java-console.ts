// Kafka's own command-line tools (the Java console producer and consumer) for tests that need a
// client no one here wrote, e.g. records compressed the way the Java client compresses them.
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The Kafka jars with the console tools. fetch.sh copies them again when scripts/kafka/pom.xml
 * changed since they were cached (kafka-tools was added to it), and is quick when they did not.
 */
export async function kafkaLibs(): Promise<string> {
  const { stdout } = await execFileAsync('bash', [path.join(repoRoot, 'scripts/kafka/fetch.sh')], {
    timeout: 600_000,
  });
  return stdout.trim().split('\n').at(-1)!;
}

/** Runs a Kafka command-line tool; resolves with its stdout, rejects with its stderr. */
export function runKafkaTool(
  libs: string,
  mainClass: string,
  args: readonly string[],
  stdin = '',
): Promise<string> {
  const javaHome = process.env['JAVA_HOME'];
  const java = javaHome ? path.join(javaHome, 'bin', 'java') : 'java';
  // A short-lived tool: the C1 compiler and the serial collector start fastest.
  const jvm = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xmx256m', '-Dlog4j2.level=WARN'];
  const child = spawn(java, [...jvm, '-cp', path.join(libs, '*'), mainClass, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin);
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${mainClass} exited with ${code}:\n${stderr.slice(-3000)}`));
    });
  });
}
