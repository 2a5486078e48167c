// Prometheus metrics of a mount (--metrics): the registry and its hooks
// (mount-metrics.ts), the request kinds (request-kind.ts), the endpoint
// (metrics-server.ts).
export { MountMetrics, outcomeOf, faultOf } from './mount-metrics.js';
export type { MountMetricsOptions, ScrapeSources } from './mount-metrics.js';
export { serveMetrics } from './metrics-server.js';
export type { MetricsServer } from './metrics-server.js';
export { RequestClassifier, REQUEST_KINDS } from './request-kind.js';
export type { RequestKind } from './request-kind.js';
