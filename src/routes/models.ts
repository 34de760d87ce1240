/** GET /v1/models and GET /v1/models/{name}: manifests, classes, limits, provider, status. */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { json, operation } from '../api/responses.js';
import { ModelInfo, ModelName, ModelsResponse } from '../api/schemas.js';
import { UnknownModel } from '../errors.js';
import type { ModelEntry, Registry } from '../models/registry.js';

export function describeModel(e: ModelEntry): z.output<typeof ModelInfo> {
  const base = { name: e.name, status: e.status, ...(e.error ? { error: e.error } : {}), folder: e.folder };
  const m = e.manifest;
  const g = e.graph;
  if (!m || !g) return base;
  return {
    ...base,
    kind: g.kind,
    description: m.description,
    image: m.image,
    classes: m.classes,
    null_class: g.null_class,
    guidance: g.guidance,
    guided: g.null_class !== null,
    sigma: m.sigma,
    clamp: m.clamp,
    default_sampler: m.default_sampler,
    default_steps: m.default_steps,
    max_steps: m.max_steps,
    schedules: m.schedules,
    file: g.file,
    sha256: g.sha256,
    execution_provider: e.load?.provider ?? null,
    provider_attempts: e.load?.attempts ?? [],
    engine: e.load
      ? {
          workers: e.load.workers,
          intra_op_threads: e.load.intraOpThreads,
          ...(e.scheduler ? { target_rows: e.scheduler.targetRows } : {}),
          ...(e.warmup
            ? { ms_per_row: Number.isFinite(e.warmup.msPerRow) ? round(e.warmup.msPerRow) : null, batch_profile: e.warmup.profile.map((p) => ({ rows: p.rows, rows_per_s: round(p.rowsPerS) })) }
            : {}),
        }
      : null,
    provenance: m.provenance ?? {},
    metrics: m.metrics ?? {},
    queue_depth: e.scheduler?.queueDepth ?? 0,
    ...(e.limits ? { limits: { deadline_ms: e.limits.deadlineMs, queue_limit: e.limits.queueLimit, max_images: e.limits.maxImages } } : {}),
    stats: e.scheduler ? { ...e.scheduler.stats } : null,
  };
}

const round = (v: number) => Math.round(v * 1000) / 1000;

const NameParams = z.object({ name: ModelName.meta({ examples: ['digits16'] }).describe('a model graph name, as GET /v1/models lists it') });

const modelsRoute: FastifyPluginAsyncZod<{ registry: Registry }> = async (app, { registry }) => {
  app.get(
    '/v1/models',
    {
      schema: operation({
        operationId: 'listModels',
        tags: ['models'],
        summary: 'List models',
        description: 'Every model graph under MODELS_DIR, including those still loading or failed (with the reason).',
        api: true,
        ok: { 200: json(ModelsResponse, 'Every model graph') },
        errors: [],
      }),
    },
    async () => ({ models: [...registry.entries.values()].map(describeModel) }),
  );
  app.get(
    '/v1/models/:name',
    {
      schema: {
        params: NameParams,
        ...operation({
          operationId: 'getModel',
          tags: ['models'],
          summary: 'One model',
          description: 'One model graph: classes, guidance range, σ schedules, execution provider, status, queue depth and call statistics.',
          api: true,
          ok: { 200: json(ModelInfo, 'The model graph') },
          errors: ['invalid_request', 'bad_request', 'unknown_model'],
        }),
      },
    },
    async (req) => {
      const e = registry.get(req.params.name);
      if (!e) throw new UnknownModel(req.params.name);
      return describeModel(e);
    },
  );
};
export default modelsRoute;
