/** Liveness (/healthz: the event loop answers) and readiness (/readyz: every enabled model loaded, warmed, workers up). */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { json, operation } from '../api/responses.js';
import { NotReady } from '../errors.js';
import type { Registry } from '../models/registry.js';

const Ready = z
  .object({
    status: z.literal('ready'),
    failed: z
      .array(z.object({ model: z.string(), error: z.string() }))
      .optional()
      .describe('model folders that failed to load: not served, while the healthy models are'),
  })
  .meta({ id: 'Ready' });

const Alive = z.object({ status: z.literal('ok') }).meta({ id: 'Alive' });

const healthRoute: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
  app.get(
    '/healthz',
    {
      schema: operation({
        operationId: 'healthz',
        tags: ['health'],
        summary: 'Liveness',
        description: 'Liveness: the event loop answers. Stays 200 while the server drains, so a liveness probe does not kill it mid-drain.',
        api: false,
        openWhileDraining: true,
        ok: { 200: json(Alive, 'Alive') },
        errors: [],
      }),
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      schema: operation({
        operationId: 'readyz',
        tags: ['health'],
        summary: 'Readiness',
        description: 'Readiness: every enabled model is loaded and warmed, and its workers are up. Folders that failed to load are listed in `failed` (the healthy models serve).',
        api: false,
        ok: { 200: json(Ready, 'Ready') },
        errors: ['not_ready'],
      }),
    },
    async () => {
      const r = registry.ready();
      const failed = r.failed.map((f) => `${f.model}: ${f.error}`).join('; ');
      if (!r.ready) throw new NotReady(`not ready: ${r.reason}${failed ? `; failed to load: ${failed}` : ''}`);
      // still ready when some model folders are broken (the healthy models serve), but say which
      return r.failed.length ? { status: 'ready' as const, failed: r.failed } : { status: 'ready' as const };
    },
  );
};
export default healthRoute;
