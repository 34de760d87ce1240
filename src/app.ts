/**
 * Builds the fastify application (fastify's demo layout: app.ts builds, server.ts listens).
 * Tests build it, `await app.registry.loadAll()`, and use `inject()`.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from './config.js';
import { Registry } from './models/registry.js';
import errorsPlugin from './plugins/errors.js';
import securityPlugin, { genRequestId, LOG_REDACT } from './plugins/security.js';
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
  const app = Fastify({
    logger: config.LOG_LEVEL === 'silent' ? false : { level: config.LOG_LEVEL, redact: LOG_REDACT },
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: genRequestId,
    // a hop count trusts that many proxies in X-Forwarded-For (fastify's own number option)
    trustProxy: typeof config.TRUST_PROXY === 'number' ? (_addr: string, hop: number) => hop < (config.TRUST_PROXY as number) : config.TRUST_PROXY,
    // the event loop must stay free: no per-request work beyond parsing and bookkeeping
    logController: new LogController({ disableRequestLogging: config.LOG_LEVEL !== 'debug' && config.LOG_LEVEL !== 'trace' }),
    // refusing requests while closing is src/shutdown.ts's job: the same JSON 503 as while draining
    return503OnClosing: false,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // the API speaks JSON only: anything else is 415, not a string body that fails validation
  app.removeContentTypeParser('text/plain');

  const registry = new Registry(config, app.log);
  app.decorate('registry', registry);
  app.decorate('config', config);
  app.addHook('onClose', async () => registry.close());

  await app.register(errorsPlugin, { bodyLimit: config.BODY_LIMIT_BYTES });
  // before the routes: in-flight bookkeeping for graceful shutdown, then security (rate limiting
  // attaches itself to routes as they are added)
  await app.register(lifecyclePlugin);
  await app.register(securityPlugin, { config });
  // before the routes: @fastify/swagger collects them as they are added
  await app.register(openapiPlugin);
  const metrics = new ServiceMetrics(registry);
  await app.register(metricsPlugin, { metrics });
  await app.register(healthRoute, { registry });
  await app.register(modelsRoute, { registry });
  await app.register(generateRoute, { registry, config, metrics });
  await app.register(playgroundPlugin);
  return app;
}
