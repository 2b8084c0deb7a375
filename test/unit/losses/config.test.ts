import { describe, expect, it } from 'vitest';
import { effectiveReconstructionWeight, lossesConfigSchema } from '../../../src/losses/config.js';

describe('lossesConfigSchema', () => {
  it('fills every default from an empty or missing section', () => {
    const fromEmpty = lossesConfigSchema.parse({});
    expect(lossesConfigSchema.parse(undefined)).toEqual(fromEmpty);
    expect(fromEmpty.normalize).toBe(true);
    expect(fromEmpty.metric).toBe('euclidean');
    expect(fromEmpty.positives).toMatchObject({
      source: 'neighbours',
      neighbours: 10,
      corruption: 0,
    });
    expect(fromEmpty.ntXent).toEqual({ weight: 1, temperature: 0.5 });
    expect(fromEmpty.triplet).toMatchObject({ weight: 0, miner: 'batch-hard', emptySets: 'drop' });
    expect(fromEmpty.kmeans.weight).toBe(0);
    expect(fromEmpty.contrastive.weight).toBe(0);
    expect(fromEmpty.softCluster.weight).toBe(0);
    expect(fromEmpty.deepCluster.weight).toBe(0);
    const partial = lossesConfigSchema.parse({ triplet: { margin: 0.5 } });
    expect(partial.triplet).toEqual({ ...fromEmpty.triplet, margin: 0.5 });
  });

  it('turns reconstruction on with the soft or k-means loss, unless auto is off', () => {
    const on = lossesConfigSchema.parse({ kmeans: { weight: 0.1 } });
    expect(effectiveReconstructionWeight(on)).toBe(on.reconstruction.weight);
    const off = lossesConfigSchema.parse({});
    expect(effectiveReconstructionWeight(off)).toBe(0);
    const soft = lossesConfigSchema.parse({ kmeans: { weight: 0 }, softCluster: { weight: 1 } });
    expect(effectiveReconstructionWeight(soft)).toBe(soft.reconstruction.weight);
    const forced = lossesConfigSchema.parse({
      kmeans: { weight: 0 },
      reconstruction: { auto: false, weight: 0.3 },
    });
    expect(effectiveReconstructionWeight(forced)).toBe(0.3);
  });

  it('rejects unknown keys, negative weights and out-of-range parameters, naming the path', () => {
    const fail = (input: unknown): string => {
      const r = lossesConfigSchema.safeParse(input);
      expect(r.success).toBe(false);
      return r.success ? '' : JSON.stringify(r.error.issues.map((i) => i.path.join('.')));
    };
    expect(fail({ triplet: { margn: 1 } })).toContain('triplet');
    expect(fail({ kmeans: { weight: -1 } })).toContain('kmeans.weight');
    expect(fail({ softCluster: { momentum: 1 } })).toContain('softCluster.momentum');
    expect(fail({ triplet: { miner: 'hardest' } })).toContain('triplet.miner');
    expect(fail({ positives: { source: 'topic' } })).toContain('positives.source');
    expect(fail({ positives: { dropout: 1 } })).toContain('positives.dropout');
  });
});
