/**
 * The batches that wait while the centroid store warms up, and what happens to them when it
 * starts.
 *
 * Why they are embedded again at the start: while the first records arrive, the decoder's
 * running standardisation has seen only a handful of records, so the first rows of a stream are
 * scaled by statistics of a few points (the very first one maps to zero). Seeding k-means on
 * those embeddings puts stray points into the warm-up sample, and one bad seeding (two true
 * clusters merged, another split) lasts: online k-means rarely undoes it, and the losses that
 * train on the store's pseudo-labels keep it. So the waiting rows keep their raw features, and
 * when the store starts they are standardised once more with the statistics of the whole
 * warm-up and embedded with the model as it is then, after pretraining on them (see
 * online-learner.ts). The store is seeded from those embeddings and the waiting records are
 * assigned with them.
 */
import type { RecordChunk, SourceRecord } from '../sources/source.js';

export interface EmbeddedBatch {
  records: SourceRecord[];
  labels: (number | undefined)[];
  losses: Record<string, number>;
  /** Decoded (standardised) features, rows × inputDim (for input-feature drift). */
  features: Float32Array;
  embeddings: Float32Array;
  modelVersion: number;
  /** The features before standardisation, rows × inputDim (cluster profiles in input units). */
  raw?: Float32Array;
}

/** A batch that waits for the store, with its features before standardisation. */
export interface WaitingBatch extends EmbeddedBatch {
  raw: Float32Array;
}

/** Embeds rows (rows × inputDim, standardised) with the current model, without training. */
export type Embed = (
  features: Float32Array,
  rows: number,
) => Promise<{ embeddings: Float32Array; modelVersion: number }>;

export class WarmupBuffer {
  private batches: WaitingBatch[] = [];
  private count = 0;

  /** `needed`: records the store needs before it starts (cluster.warmupSize). */
  constructor(readonly needed: number) {}

  /** Records waiting. */
  get rows(): number {
    return this.count;
  }

  /** The source chunks the waiting records belong to. */
  chunks(): Set<RecordChunk> {
    return new Set(this.batches.flatMap((b) => b.records.map((r) => r.chunk)));
  }

  /** Adds a batch; true once `needed` records wait. */
  add(batch: WaitingBatch): boolean {
    this.batches.push(batch);
    this.count += batch.records.length;
    return this.count >= this.needed;
  }

  /**
   * Takes every waiting batch, re-standardised with `standardize` and embedded again with
   * `embed`, in arrival order; `beforeEmbedding` sees the re-standardised features first (the
   * learner remembers them and pretrains on them). Empties the buffer.
   */
  async take(
    standardize: (raw: Float32Array) => Float32Array,
    embed: Embed,
    beforeEmbedding: (features: Float32Array[]) => Promise<void> = async () => {},
  ): Promise<EmbeddedBatch[]> {
    const waiting = this.batches;
    this.batches = [];
    this.count = 0;
    const standardized = waiting.map(({ raw }) => standardize(raw));
    await beforeEmbedding(standardized);
    const out: EmbeddedBatch[] = [];
    for (const [i, batch] of waiting.entries()) {
      const features = standardized[i] as Float32Array;
      const { embeddings, modelVersion } = await embed(features, batch.records.length);
      // The raw features go on with the batch: the cluster profiles are in input units.
      out.push({ ...batch, features, embeddings, modelVersion });
    }
    return out;
  }
}
