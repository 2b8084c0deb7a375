// A batch's outputs cross to the Kafka sink's thread packed: through a real MessageChannel with
// its buffers transferred, they must come back as the same records, byte for byte, and the
// sender must give up the transferred buffers rather than share them.
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { packOutput, unpackOutput, type PackedOutput } from '../../../src/sinks/packed-output.js';
import {
  assignmentJson,
  assignmentOrigin,
  deadLetterValue,
  type WrittenAssignment,
  type WrittenDeadLetter,
  type WrittenOutput,
} from '../../../src/sinks/sink.js';

/** Sends a packed output over a real channel, transferring what packOutput lists. */
function crossThreads(output: WrittenOutput): { received: WrittenOutput; packed: PackedOutput } {
  const { port1, port2 } = new MessageChannel();
  const { packed, transfer } = packOutput(output);
  port1.postMessage(packed, transfer);
  const message = receiveMessageOnPort(port2);
  port1.close();
  if (message === undefined) throw new Error('nothing arrived');
  return { received: unpackOutput(message.message as PackedOutput), packed };
}

function assignment(i: number, overrides: Partial<WrittenAssignment['record']> = {}) {
  return {
    record: {
      topic: 'events',
      partition: i % 6,
      offset: String(9_007_199_254_740_993n + BigInt(i)),
      key: Buffer.from(`key-${i}`),
      value: Buffer.from('{"features":[1,2]}'),
      timestamp: 1_700_000_000_000 + i,
      ...overrides,
    },
    clusterId: i % 5,
    distance: Math.PI * i * 1e-7,
    outlier: i % 3 === 0,
    modelVersion: 2 ** 40 + i,
    storeVersion: i,
  } satisfies WrittenAssignment;
}

describe('packed outputs: what crosses to the Kafka sink thread', () => {
  it('gives back every assignment record as written on the main thread, keys byte for byte', () => {
    // Keys as kafkajs hands them: views into one larger fetch buffer.
    const fetch = Buffer.alloc(4096, 7);
    const assignments: WrittenAssignment[] = [
      ...Array.from({ length: 40 }, (_, i) => assignment(i)),
      assignment(40, { key: null }),
      assignment(41, { key: fetch.subarray(100, 103) }),
      // Not UTF-8: written as keyBase64.
      assignment(42, { key: Buffer.from([0xff, 0xfe, 0x00, 0x41]) }),
      assignment(43, { key: Buffer.alloc(0) }),
      assignment(44, { topic: 'other "quoted" topic' }),
      assignment(45, { timestamp: Number.NaN }),
      { ...assignment(46), distance: Number.POSITIVE_INFINITY },
      { ...assignment(47), distance: -0, clusterId: -1 },
    ];
    const { received } = crossThreads({ assignments, deadLetters: [] });
    const origin = assignmentOrigin('host-1', 'run-1');
    expect(received.assignments.map((a) => assignmentJson(a, origin))).toEqual(
      assignments.map((a) => assignmentJson(a, origin)),
    );
    received.assignments.forEach((a, i) => {
      const key = assignments[i]!.record.key;
      if (key === null) expect(a.record.key).toBeNull();
      else expect(Buffer.compare(a.record.key!, key)).toBe(0);
      expect(Buffer.isBuffer(a.record.key ?? Buffer.alloc(0))).toBe(true);
    });
  });

  it('transfers the assignment buffers: the sender keeps no shared copy', () => {
    const { packed } = crossThreads({
      assignments: [assignment(1), assignment(2)],
      deadLetters: [],
    });
    expect(packed.assignments.numbers.byteLength).toBe(0);
    expect(packed.assignments.keys.byteLength).toBe(0);
  });

  it('gives back dead letters with their bytes and headers, copied out of the fetch buffer', () => {
    const fetch = Buffer.alloc(65_536, 1);
    fetch.write('{"features": oops', 2000);
    const deadLetter: WrittenDeadLetter = {
      reason: 'invalid-json',
      message: 'Unexpected token o',
      record: {
        topic: 'events',
        partition: 3,
        offset: '12',
        timestamp: 1_700_000_000_123,
        key: fetch.subarray(10, 14),
        value: fetch.subarray(2000, 2017),
        headers: {
          trace: fetch.subarray(20, 30),
          plain: 'text',
          several: ['a', Buffer.from([0xff, 0x00])],
          missing: undefined,
        },
      },
    };
    const nullValue: WrittenDeadLetter = {
      reason: 'null-value',
      message: 'the record has no value',
      record: { topic: 'events', partition: 3, offset: '13', timestamp: 5, key: null, value: null },
    };
    const { packed, received } = crossThreads({
      assignments: [],
      deadLetters: [deadLetter, nullValue],
    });
    // Only the record's own bytes travel, not the 64 KiB buffer they are views of.
    const sent = packed.deadLetters[0]!.record;
    expect(sent.value!.buffer.byteLength).toBe(17);
    expect(sent.key!.buffer.byteLength).toBe(4);
    expect(received.deadLetters.map(deadLetterValue)).toEqual(
      [deadLetter, nullValue].map(deadLetterValue),
    );
    const headers = received.deadLetters[0]!.record.headers!;
    expect(Buffer.isBuffer(headers['trace'])).toBe(true);
    expect((headers['trace'] as Buffer).equals(fetch.subarray(20, 30))).toBe(true);
    expect(headers['plain']).toBe('text');
    const several = headers['several'] as (Buffer | string)[];
    expect(several[0]).toBe('a');
    expect((several[1] as Buffer).equals(Buffer.from([0xff, 0x00]))).toBe(true);
    expect('missing' in headers && headers['missing'] === undefined).toBe(true);
    expect(received.deadLetters[1]!.record.headers).toBeUndefined();
  });

  it('keeps events and the exactly-once offsets, and an empty batch stays empty', () => {
    const events = [{ type: 'drift' as const, kind: 'opened', detail: { feature: 6 }, at: 5 }];
    const offsets = [{ topic: 'events', partition: 1, offset: '99' }];
    const { received } = crossThreads({ assignments: [], deadLetters: [], events, offsets });
    expect(received).toEqual({ assignments: [], deadLetters: [], events, offsets });
  });
});
