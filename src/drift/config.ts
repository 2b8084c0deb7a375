import { z } from 'zod';

/*
 * The `drift:` section. This schema is the single source of the drift monitor's defaults;
 * nested objects default to their own schema's parse of `{}`, so a partial section keeps every
 * other key's default. The distance detectors run on distances standardised by the reference
 * window's mean and standard deviation, so their thresholds are in standard deviations and do
 * not depend on the embedding's scale.
 */
const pageHinkleySchema = z.strictObject({
  enabled: z.boolean().default(true),
  delta: z.number().min(0).default(0.1),
  threshold: z.number().positive().default(50),
  // 1 (no forgetting) by default: a forgetful sum fluctuates around a level far above its
  // all-time minimum, so with α < 1 the test alarms on stationary data every few 10k records.
  alpha: z.number().gt(0).max(1).default(1),
  minInstances: z.number().int().min(1).default(1000),
  direction: z.enum(['up', 'both']).default('up'),
});

const adwinSchema = z.strictObject({
  enabled: z.boolean().default(true),
  delta: z.number().gt(0).lt(1).default(0.0002),
  clock: z.number().int().min(1).default(32),
  maxBuckets: z.number().int().min(2).default(5),
  minWindow: z.number().int().min(1).default(10),
  gracePeriod: z.number().int().min(0).default(1000),
  // up by default, as Page-Hinkley: while the network trains, records move closer to their
  // centroids and ADWIN sees that fall as a change; on a stationary stream it raised dozens of
  // alarms in 100k records. The window still adapts to a fall; only the alarm is withheld.
  direction: z.enum(['up', 'both']).default('up'),
});

const alertsSchema = z.strictObject({
  assignmentPsi: z.number().positive().default(0.2),
  assignmentJs: z.number().gt(0).max(1).default(0.05),
});

// Drift of the raw inputs (input-drift.ts): the tests that open incidents.
const inputSchema = z.strictObject({
  enabled: z.boolean().default(true),
  referenceRecords: z.number().int().min(100).default(2_000),
  windowRecords: z.number().int().min(100).default(2_000),
  checkEveryRecords: z.number().int().min(1).default(250),
  alpha: z.number().gt(0).lt(0.5).default(1e-6),
  prototypes: z.number().int().min(2).max(256).default(16),
});

const incidentsSchema = z.strictObject({
  quietRecords: z.number().int().min(1).default(10_000),
});

export const driftConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  referenceRecords: z.number().int().min(1).default(10_000),
  windowRecords: z.number().int().min(1).default(10_000),
  ewmaHalfLife: z.number().positive().default(1000),
  outlierQuantile: z.number().gt(0.5).lt(1).default(0.99),
  nearEmptyShare: z.number().gt(0).lt(1).default(0.1),
  psiEpsilon: z.number().gt(0).lt(0.01).default(1e-4),
  pageHinkley: pageHinkleySchema.default(pageHinkleySchema.parse({})),
  adwin: adwinSchema.default(adwinSchema.parse({})),
  alerts: alertsSchema.default(alertsSchema.parse({})),
  input: inputSchema.default(inputSchema.parse({})),
  incidents: incidentsSchema.default(incidentsSchema.parse({})),
});

export type DriftConfig = z.output<typeof driftConfigSchema>;

export const driftDefaults: DriftConfig = driftConfigSchema.parse({});
