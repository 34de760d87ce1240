/**
 * 406 for a request whose Accept header excludes everything its route can answer. What a route
 * produces is read from its own schema — the content types of its 2xx response (a plain zod
 * schema: application/json) — so the OpenAPI document and this check cannot disagree. Routes
 * without a documented 2xx body (Swagger UI's files) are not checked. Error answers are JSON
 * whatever Accept says (RFC 9110 §15.5.7 allows a 406 to carry a body the client did not ask for).
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { preferredType } from '../api/negotiate.js';
import { NotAcceptable } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** media types the route's 2xx answer can have, best first (filled in from its schema) */
    produces?: string[];
    /** a hint appended to the route's 406 message */
    notAcceptableHint?: string;
  }
}

/** The media types of a route's first 2xx response in its schema, or undefined when it documents none. */
export function producedTypes(route: Pick<RouteOptions, 'schema'>): string[] | undefined {
  const responses = (route.schema as { response?: Record<string, unknown> } | undefined)?.response;
  if (!responses) return undefined;
  const ok = Object.keys(responses).find((code) => /^2\d\d$/.test(code));
  if (!ok) return undefined;
  const r = responses[ok] as { content?: Record<string, unknown> } | undefined;
  return r && typeof r === 'object' && r.content && typeof r.content === 'object' && !('_zod' in r) ? Object.keys(r.content) : ['application/json'];
}

export default fp(
  async function negotiationPlugin(app: FastifyInstance) {
    app.addHook('onRoute', (route) => {
      const produces = producedTypes(route);
      if (produces) route.config = { ...route.config, produces };
    });
    app.addHook('onRequest', async (req) => {
      const produces = req.routeOptions.config?.produces;
      const accept = req.headers.accept;
      if (!produces || accept === undefined || preferredType(accept, produces)) return;
      const hint = req.routeOptions.config?.notAcceptableHint;
      throw new NotAcceptable(
        `${req.method} ${req.routeOptions.url} answers ${produces.join(', ')}; Accept: ${accept} allows none of them${hint ? `; ${hint}` : ''}`,
      );
    });
  },
  { name: 'negotiation' },
);
