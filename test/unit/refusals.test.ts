import { describe, expect, it } from 'vitest';

import { EXIT_REFUSED, RefusedError, describeRefusal } from '../../src/errors.js';
import { CheckpointError } from '../../src/state/checkpoint.js';

/** What Node's fs calls throw, with the code and path they carry. */
function fsError(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: operation failed, open '${path}'`), { code, path });
}

/** A kafkajs protocol error as kafkajs builds it (type, retriable). */
function kafkaError(type: string, retriable = false): Error {
  return Object.assign(new Error(`the broker says ${type}`), {
    name: 'KafkaJSProtocolError',
    type,
    retriable,
  });
}

describe('permanent refusals: one line with the cause and the fix, exit 69', () => {
  it('exit code 69 is sysexits EX_UNAVAILABLE', () => {
    expect(EXIT_REFUSED).toBe(69);
  });

  it.each([
    ['ENOSPC', /free space on the disk/],
    ['EROFS', /read-only: remount it read-write or point the path elsewhere/],
    ['EDQUOT', /quota/],
    ['EACCES', /write permission/],
  ])('a checkpoint write that fails with %s', (code, fix) => {
    const error = new CheckpointError('cannot write the checkpoint in /data/cp (x)', {
      cause: fsError(code, '/data/cp/.checkpoint.json.7.tmp'),
    });
    const line = describeRefusal(error);
    expect(line).toMatch(
      new RegExp(
        `^cannot write the checkpoint in /data/cp .*the file system refused \\(${code} on /data/cp/\\.checkpoint\\.json\\.7\\.tmp\\)\\. Fix: `,
      ),
    );
    expect(line).toMatch(fix);
  });

  it('Kafka refusals, also wrapped by kafkajs, name the type and the fix', () => {
    const wrapped = Object.assign(new Error('retries exhausted'), {
      name: 'KafkaJSNonRetriableError',
      cause: kafkaError('TOPIC_AUTHORIZATION_FAILED'),
    });
    expect(describeRefusal(wrapped)).toMatch(
      /^Kafka refused a request \(TOPIC_AUTHORIZATION_FAILED: .*\)\. Fix: grant this client's principal access to the topic/,
    );
    expect(describeRefusal(new RefusedError('the topic t refuses …'))).toBe(
      'the topic t refuses …',
    );
  });

  it('leaves bugs and failures worth retrying to their own paths', () => {
    expect(describeRefusal(new TypeError('x is undefined'))).toBeUndefined();
    expect(describeRefusal(kafkaError('NOT_LEADER_FOR_PARTITION', true))).toBeUndefined();
    expect(describeRefusal(kafkaError('MESSAGE_TOO_LARGE', true))).toBeUndefined();
    expect(describeRefusal(fsError('ENOENT', '/x'))).toBeUndefined();
  });
});
