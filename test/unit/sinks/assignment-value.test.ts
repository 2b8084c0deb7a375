import { describe, expect, it } from 'vitest';

import { assignmentValue, type Assignment } from '../../../src/sinks/sink.js';
import { RecordChunk } from '../../../src/sources/source.js';

function assignment(key: Buffer | null): Assignment {
  const chunk = new RecordChunk();
  chunk.add({ topic: 't', partition: 1, offset: '7', key, value: null, timestamp: 0 });
  return {
    record: chunk.records[0]!,
    clusterId: 3,
    distance: 0.5,
    modelVersion: 2,
    storeVersion: 4,
  };
}

describe('the JSON of an assignment', () => {
  it('carries a UTF-8 key as text', () => {
    expect(assignmentValue(assignment(Buffer.from('host-ü')))).toMatchObject({ key: 'host-ü' });
    expect(assignmentValue(assignment(null))).toMatchObject({ key: null });
    expect(assignmentValue(assignment(null))).not.toHaveProperty('keyBase64');
  });

  it('carries a binary key as keyBase64, never as a lossy decode', () => {
    const key = Buffer.from([0x00, 0xff, 0xfe, 0x80]);
    const value = assignmentValue(assignment(key));
    expect(value).toMatchObject({ key: null, keyBase64: 'AP/+gA==' });
    expect(Buffer.from(value['keyBase64'] as string, 'base64')).toEqual(key);
  });
});
