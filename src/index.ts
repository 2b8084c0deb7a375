/**
 * streamclust's public library API. Stable names (see DESIGN.md): the `losses` and `metrics`
 * namespaces, the centroid store, the pipeline and the configuration loader.
 */
export * as losses from './losses/index.js';
export * as metrics from './eval/metrics/index.js';
export { OnlineKMeans } from './cluster/online-k-means.js';
export type { OnlineKMeansOptions } from './cluster/online-k-means.js';
export { createPipeline } from './pipeline/create-pipeline.js';
export type { Pipeline, PipelineOptions, PipelineStatus } from './pipeline/create-pipeline.js';
export type { BatchReport, PipelineObserver } from './pipeline/batch-report.js';
export { loadConfig, validateConfig } from './config/load-config.js';
export type { LoadConfigOptions } from './config/load-config.js';
export type { Config } from './config/schema.js';
export { ConfigError, StreamclustError, BackendUnavailableError } from './errors.js';
