import { describe, expect, it } from 'vitest';

import { assignmentJson, assignmentOrigin, type Assignment } from '../../../src/sinks/sink.js';
import { RecordChunk } from '../../../src/sources/source.js';

function assignment(key: Buffer | null, distance = 0.5, topic = 't'): Assignment {
  const chunk = new RecordChunk();
  chunk.add({ topic, partition: 1, offset: '7', key, value: null, timestamp: 1_700_000_000_123 });
  return {
    record: chunk.records[0]!,
    clusterId: 3,
    distance,
    outlier: distance > 1,
    modelVersion: 2,
    storeVersion: 4,
  };
}

const parsed = (a: Assignment): Record<string, unknown> =>
  JSON.parse(assignmentJson(a)) as Record<string, unknown>;

describe('the JSON of an assignment', () => {
  it('has every field, in a fixed order, as JSON.stringify of the record would', () => {
    const a = assignment(Buffer.from('host-1'), 0.123456789);
    const expected = {
      key: 'host-1',
      topic: 't',
      partition: 1,
      offset: '7',
      clusterId: 3,
      distance: 0.123456789,
      outlier: false,
      modelVersion: 2,
      storeVersion: 4,
      eventTime: 1_700_000_000_123,
    };
    expect(assignmentJson(a)).toBe(JSON.stringify(expected));
    // A process adds its instance and run at the end of every assignment.
    const origin = assignmentOrigin('worker-"7"', '0a1b2c3d');
    expect(assignmentJson(assignment(Buffer.from('host-1'), 2), origin)).toBe(
      JSON.stringify({
        ...expected,
        distance: 2,
        outlier: true,
        instance: 'worker-"7"',
        run: '0a1b2c3d',
      }),
    );
  });

  it('carries a UTF-8 key as text, escaped where JSON needs it', () => {
    expect(parsed(assignment(Buffer.from('host-ü "quoted"\n')))).toMatchObject({
      key: 'host-ü "quoted"\n',
    });
    expect(parsed(assignment(null))).toMatchObject({ key: null });
    expect(parsed(assignment(null))).not.toHaveProperty('keyBase64');
  });

  it('carries a binary key as keyBase64, never as a lossy decode', () => {
    const key = Buffer.from([0x00, 0xff, 0xfe, 0x80]);
    const value = parsed(assignment(key));
    expect(value).toMatchObject({ key: null, keyBase64: 'AP/+gA==' });
    expect(Buffer.from(value['keyBase64'] as string, 'base64')).toEqual(key);
  });

  it('stays valid JSON for a distance that is not finite and a topic that needs escaping', () => {
    expect(parsed(assignment(null, Number.NaN, 'a"b'))).toMatchObject({
      distance: null,
      topic: 'a"b',
    });
    expect(parsed(assignment(null, Number.POSITIVE_INFINITY))).toMatchObject({ distance: null });
  });
});
