/**
 * Builds the fastify application (fastify's demo layout: app.ts builds, server.ts listens).
 * Tests build it, `await app.registry.loadAll()`, and use `inject()`.
 *
 * Hook order matters and is fixed here: request id and security headers first (so every answer
 * has them), the edge's 417, graceful-shutdown bookkeeping, API keys, content negotiation (406),
 * then the routes (whose rate-limit hook comes after all of these).
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from './config.js';
import { Registry } from './models/registry.js';
import errorsPlugin, { clientErrorHandler, frameworkErrorHandler } from './plugins/errors.js';
import headersPlugin, { edgeHeaderList, genRequestId, securityHeaders } from './plugins/headers.js';
import negotiationPlugin from './plugins/negotiation.js';
import securityPlugin, { LOG_REDACT } from './plugins/security.js';
import { lifecyclePlugin } from './shutdown.js';
import metricsPlugin, { ServiceMetrics } from './plugins/metrics.js';
import openapiPlugin from './plugins/openapi.js';
import playgroundPlugin from './plugins/playground.js';
import generateRoute from './routes/generate.js';
import healthRoute from './routes/health.js';
import modelsRoute from './routes/models.js';

declare module 'fastify' {
  interface FastifyInstance {
    registry: Registry;
    config: Config;
  }
}

export async function buildApp(config: Config): Promise<FastifyInstance> {
  const crossOrigin = Boolean(config.CORS_ORIGINS);
  const edgeHeaders = edgeHeaderList(securityHeaders({ crossOrigin }));
  const security = securityHeaders({ crossOrigin });
  // answers given outside fastify's request cycle are counted in http_requests_total too
  const counted: { edgeAnswer?: (method: string, status: number) => void } = {};
  const app = Fastify({
    logger: config.LOG_LEVEL === 'silent' ? false : { level: config.LOG_LEVEL, redact: LOG_REDACT },
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: genRequestId,
    // a hop count trusts that many proxies in X-Forwarded-For (fastify's own number option)
    trustProxy: typeof config.TRUST_PROXY === 'number' ? (_addr: string, hop: number) => hop < (config.TRUST_PROXY as number) : config.TRUST_PROXY,
    // the per-request lines fastify would log are left to debug; /v1/generate logs one line at info itself
    logController: new LogController({ disableRequestLogging: config.LOG_LEVEL !== 'debug' && config.LOG_LEVEL !== 'trace' }),
    // refusing requests while closing is src/shutdown.ts's job: the same JSON 503 as while draining
    return503OnClosing: false,
    // path parameters are validated by their schema (400 naming the field), never cut by the router (414)
    routerOptions: { maxParamLength: 16 * 1024 },
    // answers fastify and node would give in their own shape, given in the API's instead
    frameworkErrors: frameworkErrorHandler((req, reply) => {
      reply.header('x-request-id', req.id);
      security(req.raw, reply.raw, () => undefined);
    }, config.BODY_LIMIT_BYTES, (method, status) => counted.edgeAnswer?.(method, status)),
    clientErrorHandler: clientErrorHandler(edgeHeaders, (method, status) => counted.edgeAnswer?.(method, status)),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // the API speaks JSON only: anything else is 415, not a string body that fails validation
  app.removeContentTypeParser('text/plain');

  const registry = new Registry(config, app.log);
  app.decorate('registry', registry);
  app.decorate('config', config);
  app.addHook('onClose', async () => registry.close());

  await app.register(headersPlugin, { crossOrigin });
  await app.register(errorsPlugin, { bodyLimit: config.BODY_LIMIT_BYTES, edgeHeaders });
  await app.register(lifecyclePlugin);
  // rate limiting attaches itself to routes as they are added
  await app.register(securityPlugin, { config });
  // after the key check, so an unauthenticated caller learns nothing from a 406
  await app.register(negotiationPlugin);
  // before the routes: @fastify/swagger collects them as they are added
  await app.register(openapiPlugin);
  const metrics = new ServiceMetrics(registry);
  counted.edgeAnswer = (method, status) => metrics.httpRequests.inc({ method, route: 'unmatched', status_code: String(status) });
  await app.register(metricsPlugin, { metrics });
  await app.register(healthRoute, { registry });
  await app.register(modelsRoute, { registry });
  await app.register(generateRoute, { registry, config, metrics });
  await app.register(playgroundPlugin);
  return app;
}
