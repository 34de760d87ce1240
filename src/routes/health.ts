/** Liveness (/healthz: the event loop answers) and readiness (/readyz: every enabled model loaded, warmed, workers up). */
import type { FastifyPluginAsync } from 'fastify';
import { NotReady } from '../errors.js';
import type { Registry } from '../models/registry.js';

const healthRoute: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => {
    const r = registry.ready();
    if (!r.ready) throw new NotReady(`not ready: ${r.reason}`);
    return { status: 'ready' };
  });
};
export default healthRoute;
