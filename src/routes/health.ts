/** Liveness (/healthz: the event loop answers) and readiness (/readyz: every enabled model loaded, warmed, workers up). */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ErrorResponse } from '../api/schemas.js';
import { NotReady } from '../errors.js';
import type { Registry } from '../models/registry.js';

const Ready = z.object({
  status: z.literal('ready'),
  failed: z
    .array(z.object({ model: z.string(), error: z.string() }))
    .optional()
    .describe('model folders that failed to load: not served, while the healthy models are'),
});

const healthRoute: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
  app.get('/healthz', { schema: { summary: 'Liveness', response: { 200: z.object({ status: z.literal('ok') }) } } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { summary: 'Readiness', response: { 200: Ready, 503: ErrorResponse } } }, async () => {
    const r = registry.ready();
    const failed = r.failed.map((f) => `${f.model}: ${f.error}`).join('; ');
    if (!r.ready) throw new NotReady(`not ready: ${r.reason}${failed ? `; failed to load: ${failed}` : ''}`);
    // still ready when some model folders are broken (the healthy models serve), but say which
    return r.failed.length ? { status: 'ready' as const, failed: r.failed } : { status: 'ready' as const };
  });
};
export default healthRoute;
