/**
 * Failures that are not bugs end in one line naming what failed and what to do, without a stack
 * trace (kept behind --debug): a port in use, a file that is not there, a broker that refuses.
 */
import { createServer, type Server } from 'node:net';

import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { describeExpectedFailure } from '../../../src/errors.js';
import { runCli } from '../../helpers/cli-process.js';

describe('expected failures on the real CLI', () => {
  let busy: Server;
  let port = 0;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    port = (busy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

  it('a port in use: one line naming it and the fix, exit 69; the stack only with --debug', async () => {
    const args = ['run', '--port', String(port), '--records', '100'];
    const plain = await runCli(args);
    expect(plain.code).toBe(69);
    expect(plain.stderr).toContain(
      `streamclust: stopped: 127.0.0.1:${port} is in use by another process. ` +
        'Fix: pass --port N (0 picks a free port) or --host, or stop the other process\n',
    );
    expect(plain.stderr).not.toMatch(/^\s+at /m);
    const debug = await runCli([...args, '--debug']);
    expect(debug.code).toBe(69);
    expect(debug.stderr).toMatch(/EADDRINUSE[\s\S]*\n\s+at /);
  });

  it('a broker that refuses: produce and replay say so in one line after a few quick retries, exit 69', async () => {
    // A port nobody listens on: taken, then given back.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const refusing = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const brokers = ['--brokers', `127.0.0.1:${refusing}`];
    for (const args of [
      ['produce', '--file', 'test/fixtures/datasets/iris.csv', '--topic', 'iris', ...brokers],
      ['replay', '--topic', 'iris', ...brokers],
    ]) {
      const started = Date.now();
      const { code, stderr } = await runCli(args);
      // Two retries of about half a second, not eight over close to a minute; no kafkajs lines.
      expect(Date.now() - started, args[0]).toBeLessThan(20_000);
      expect(code, stderr).toBe(69);
      expect(stderr).toBe(
        `streamclust: stopped: cannot reach the Kafka broker 127.0.0.1:${refusing} (connection refused). ` +
          'Fix: check kafka.brokers (--brokers, KAFKA_BROKERS) and that the broker is up\n',
      );
    }
  });

  it('a missing input file stops start-up naming the path, exit 78', async () => {
    const { code, stderr } = await runCli(['run', '--file', '/nonexistent/events.jsonl']);
    expect(code).toBe(78);
    expect(stderr).toBe(
      'streamclust: invalid configuration (1 problem):\n' +
        '  - file.path: "/nonexistent/events.jsonl" is invalid: no such file. ' +
        'Fix: pass the path of a JSONL or CSV file (--file)\n',
    );
  });
});

describe('describeExpectedFailure', () => {
  it('names the broker kafkajs could not reach, through the errors that wrap it', () => {
    const refused = new kafkajs.KafkaJSConnectionError(
      'Connection error: connect ECONNREFUSED 127.0.0.1:1',
      { broker: '127.0.0.1:1', code: 'ECONNREFUSED' },
    );
    // What kafkajs' retrier throws once it gives up: the connection error as the cause (its
    // constructor takes { cause }, which its type declarations leave out).
    const NonRetriable = kafkajs.KafkaJSNonRetriableError as unknown as new (
      error: Error,
      options: { cause: Error },
    ) => Error;
    const gaveUp = new NonRetriable(refused, { cause: refused });
    expect(describeExpectedFailure(gaveUp)).toBe(
      'cannot reach the Kafka broker 127.0.0.1:1 (connection refused). ' +
        'Fix: check kafka.brokers (--brokers, KAFKA_BROKERS) and that the broker is up',
    );
  });

  it('leaves a bug alone', () => {
    expect(describeExpectedFailure(new TypeError('x is undefined'))).toBeUndefined();
  });
});
