import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { OnlineKMeans } from '../../../src/cluster/online-k-means.js';
import { encodeArray } from '../../../src/cluster/snapshot-codec.js';
import { describeRefusal } from '../../../src/errors.js';
import { modelStateToJson, pack } from '../../../src/model/model-state.js';
import {
  CheckpointError,
  readCheckpoint,
  writeCheckpoint,
  type CheckpointBody,
} from '../../../src/state/checkpoint.js';

function body(): CheckpointBody {
  const store = new OnlineKMeans({
    k: 2,
    dim: 2,
    seed: 7,
    warmupSize: 4,
    decay: { unit: 'none' },
    init: { restarts: 1, iterations: 0 },
  });
  store.observe(new Float32Array([0, 0, 0, 1, 10, 10, 10, 11]));
  return {
    writtenAt: new Date(0).toISOString(),
    batches: 1,
    records: 4,
    inputDim: 2,
    configDigest: 'test',
    model: modelStateToJson({ version: 0, variables: pack([]), optimizer: pack([]) }),
    store: store.snapshot(),
    decoder: { count: 4, mean: [5, 5.5], m2: [200, 200], dim: 2 },
    offsets: [{ topic: 't', partition: 0, offset: '4' }],
  };
}

const fresh = (): string => mkdtempSync(join(tmpdir(), 'streamclust-checkpoint-unit-'));

describe('checkpoint files', () => {
  it('a failed write names the directory and the fix, and leaves no partial file', async () => {
    const dir = fresh();
    // The final name is taken by a directory: the temporary is written, the rename fails.
    mkdirSync(join(dir, 'checkpoint.json'));
    const failure = writeCheckpoint(dir, body());
    await expect(failure).rejects.toThrow(CheckpointError);
    await expect(failure).rejects.toThrow(
      /cannot write the checkpoint in .* \(EISDIR\): the previous checkpoint/,
    );
    expect(readdirSync(dir)).toEqual(['checkpoint.json']);
    // A refusal: the CLI stops with exit code 69, this line and the fix.
    expect(describeRefusal(await failure.catch((e: unknown) => e))).toMatch(
      /cannot write the checkpoint .*the file system refused \(EISDIR on .*\)\. Fix: a directory stands where a file belongs/,
    );
  });

  it('removes temporaries that dead writers left, keeps a running one', async () => {
    const dir = fresh();
    // pid 2^22 + 1 is above Linux's pid_max: no process can have it.
    const dead = '.checkpoint.json.4194305.tmp';
    const alive = `.checkpoint.json.${process.ppid}.tmp`;
    writeFileSync(join(dir, dead), '{"partial');
    writeFileSync(join(dir, alive), '{"partial');
    await writeCheckpoint(dir, body());
    expect(existsSync(join(dir, dead))).toBe(false);
    expect(existsSync(join(dir, alive))).toBe(true);
    expect((await readCheckpoint(dir)).records).toBe(4);
  });

  it.each([
    [
      'a negative variance',
      (b: CheckpointBody) => (b.decoder.m2[1] = -3),
      /decoder\.m2\[1\] is -3/,
    ],
    [
      'a decoder of another dimension',
      (b: CheckpointBody) => (b.decoder.dim = 3),
      /decoder\.dim 3 differs from inputDim 2/,
    ],
    [
      'a negative cluster weight',
      (b: CheckpointBody) => (b.store.state.weights = encodeArray(new Float64Array([2, -1]))),
      /store weight 1 is -1/,
    ],
    [
      'an offset that is not one',
      (b: CheckpointBody) => (b.offsets = [{ topic: 't', partition: 0, offset: '-5' }]),
      /offset .* is not a topic, partition and offset/,
    ],
    ['a fractional record count', (b: CheckpointBody) => (b.records = 2.5), /records is 2\.5/],
  ])('refuses %s even with a recomputed checksum', async (_name, edit, message) => {
    const dir = fresh();
    const edited = body();
    edit(edited);
    // writeCheckpoint computes the checksum of the edited body, as someone editing would.
    await writeCheckpoint(dir, edited);
    expect(JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')).checksum).toMatch(
      /^[0-9a-f]{64}$/,
    );
    await expect(readCheckpoint(dir)).rejects.toThrow(message);
    await expect(readCheckpoint(dir)).rejects.toThrow(/start without --resume/);
  });
});
