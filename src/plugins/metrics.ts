/**
 * Prometheus metrics (prom-client) at GET /metrics. Each app gets its own prom-client Registry
 * (tests build many apps in one process). Observation is per HTTP request and per network call,
 * never per lane or element, so the hot path pays a few counter increments per call; gauges
 * that describe state (queue depth, lanes in flight, model info) are read at scrape time.
 *
 * The names are listed in the README ("Metrics"); they follow Prometheus conventions (`_total`
 * counters, `_seconds` durations, base units).
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { media, operation } from '../api/responses.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry as PromRegistry } from 'prom-client';
import type { Registry } from '../models/registry.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const CALL_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const ROW_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

/** What POST /v1/generate reports once per successful request. */
export interface GenerateObserver {
  generated(model: string, format: string, images: number, queueMs: number, computeMs: number, encodeMs: number): void;
}

export class ServiceMetrics implements GenerateObserver {
  readonly prom = new PromRegistry();
  readonly httpRequests: Counter<'method' | 'route' | 'status_code'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  private readonly calls: Counter<'model'>;
  private readonly batchRows: Histogram<'model'>;
  private readonly rowsByKind: Counter<'model' | 'kind'>;
  private readonly callDuration: Histogram<'model'>;
  private readonly queueTime: Histogram<'model'>;
  private readonly computeTime: Histogram<'model'>;
  private readonly encodeTime: Histogram<'model' | 'format'>;
  private readonly images: Counter<'model'>;

  constructor(registry: Registry) {
    const r = this.prom;
    const registers = [r];
    collectDefaultMetrics({ register: r });

    this.httpRequests = new Counter({ name: 'http_requests_total', help: 'HTTP requests answered, by route template and status', labelNames: ['method', 'route', 'status_code'], registers });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency (request received to response sent), by route template and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: LATENCY_BUCKETS,
      registers,
    });

    const entries = () => [...registry.entries.values()];
    new Gauge({
      name: 'jfdl_queue_depth',
      help: 'Images admitted and not yet finished (the quantity QUEUE_LIMIT bounds), by model',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const e of entries()) if (e.scheduler) this.set({ model: e.name }, e.scheduler.queueDepth);
      },
    });
    new Gauge({
      name: 'jfdl_lanes_in_flight',
      help: 'Lanes (images) inside a network call right now, by model',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const e of entries()) if (e.scheduler) this.set({ model: e.name }, e.scheduler.lanesInFlight);
      },
    });
    new Gauge({
      name: 'jfdl_network_calls_in_flight',
      help: 'Network calls queued or running on the engine workers, by model',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const e of entries()) if (e.scheduler) this.set({ model: e.name }, e.scheduler.inFlightCalls);
      },
    });
    new Counter({
      name: 'jfdl_requests_dropped_total',
      help: 'Generate requests refused or dropped by the scheduler: queue_full (503), deadline (504), aborted (client went away)',
      labelNames: ['model', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const e of entries()) {
          const s = e.scheduler?.stats;
          if (!s) continue;
          this.inc({ model: e.name, reason: 'queue_full' }, s.rejected);
          this.inc({ model: e.name, reason: 'deadline' }, s.deadlines);
          this.inc({ model: e.name, reason: 'aborted' }, s.aborted);
        }
      },
    });
    new Gauge({
      name: 'jfdl_model_info',
      help: 'Served model graphs (value 1) with kind, folder, guided flag, status and execution provider as labels',
      labelNames: ['model', 'kind', 'folder', 'guided', 'status', 'execution_provider'],
      registers,
      collect() {
        this.reset();
        for (const e of entries())
          this.set(
            {
              model: e.name,
              kind: e.graph?.kind ?? 'unknown',
              folder: e.folder,
              guided: String(e.graph ? e.graph.null_class !== null : false),
              status: e.status,
              execution_provider: e.load?.provider ?? 'none',
            },
            1,
          );
      },
    });
    new Gauge({
      name: 'jfdl_execution_provider_info',
      help: 'The onnxruntime execution provider each loaded model graph runs on (value 1)',
      labelNames: ['model', 'provider'],
      registers,
      collect() {
        this.reset();
        for (const e of entries()) if (e.load) this.set({ model: e.name, provider: e.load.provider }, 1);
      },
    });
    new Gauge({
      name: 'jfdl_model_ready',
      help: '1 when the model graph is loaded, warmed and serving, else 0',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const e of entries()) this.set({ model: e.name }, e.status === 'ready' ? 1 : 0);
      },
    });

    this.calls = new Counter({ name: 'jfdl_network_calls_total', help: 'Batched network calls (onnxruntime session runs) by model', labelNames: ['model'], registers });
    this.batchRows = new Histogram({ name: 'jfdl_batch_size_rows', help: 'Rows per network call (batch size; a guided lane takes 2 rows)', labelNames: ['model'], buckets: ROW_BUCKETS, registers });
    this.rowsByKind = new Counter({
      name: 'jfdl_rows_total',
      help: 'Rows sent to the network: kind="guided" (class and null-class rows of guided lanes) or "unguided"',
      labelNames: ['model', 'kind'],
      registers,
    });
    this.callDuration = new Histogram({ name: 'jfdl_network_call_duration_seconds', help: 'Worker-side duration of one network call', labelNames: ['model'], buckets: CALL_BUCKETS, registers });
    this.queueTime = new Histogram({ name: 'jfdl_queue_duration_seconds', help: 'Per request: admission to its first network call', labelNames: ['model'], buckets: LATENCY_BUCKETS, registers });
    this.computeTime = new Histogram({ name: 'jfdl_compute_duration_seconds', help: 'Per request: first network call to its last image done', labelNames: ['model'], buckets: LATENCY_BUCKETS, registers });
    this.encodeTime = new Histogram({ name: 'jfdl_encode_duration_seconds', help: 'Per request: encoding its images', labelNames: ['model', 'format'], buckets: LATENCY_BUCKETS, registers });
    this.images = new Counter({ name: 'jfdl_images_generated_total', help: 'Images generated and returned, by model', labelNames: ['model'], registers });

    // attach to every scheduler the registry creates (models load after the server listens)
    registry.onScheduler = (entry) => {
      const model = entry.name;
      const calls = this.calls.labels(model);
      const rows = this.batchRows.labels(model);
      const guided = this.rowsByKind.labels(model, 'guided');
      const unguided = this.rowsByKind.labels(model, 'unguided');
      const dur = this.callDuration.labels(model);
      entry.scheduler!.on('call', ({ rows: n, guidedRows: g, runMs }) => {
        calls.inc();
        rows.observe(n);
        if (g) guided.inc(g);
        if (n > g) unguided.inc(n - g);
        dur.observe(runMs / 1000);
      });
    };
  }

  generated(model: string, format: string, images: number, queueMs: number, computeMs: number, encodeMs: number) {
    this.images.inc({ model }, images);
    this.queueTime.observe({ model }, queueMs / 1000);
    this.computeTime.observe({ model }, computeMs / 1000);
    this.encodeTime.observe({ model, format }, encodeMs / 1000);
  }
}

export default fp(
  async function metricsPlugin(app: FastifyInstance, { metrics }: { metrics: ServiceMetrics }) {
    app.addHook('onResponse', async (req, reply) => {
      const labels = { method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
    });
    app.get(
      '/metrics',
      {
        schema: operation({
          operationId: 'metrics',
          tags: ['ops'],
          summary: 'Prometheus metrics',
          description: 'Prometheus metrics in the text exposition format 0.0.4 (the README lists them). Stays open while the server drains, for the last scrape.',
          api: false,
          openWhileDraining: true,
          ok: { 200: media({ 'text/plain': z.string() }, 'Prometheus text exposition format 0.0.4') },
          errors: [],
        }),
      },
      async (_req, reply) => {
        const text = await metrics.prom.metrics();
        return reply.type(metrics.prom.contentType).send(text);
      },
    );
  },
  { name: 'metrics' },
);
