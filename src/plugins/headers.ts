/**
 * The headers every answer carries, set by the first onRequest hook so that no later hook or
 * error can skip them: the request id (an incoming `X-Request-Id` of safe characters is kept,
 * otherwise a UUID; it is bound to every log line of the request) and the security headers
 * (helmet: nosniff, frame-ancestors none, a CSP that still lets the playground and /docs run, no
 * `X-Powered-By`). Answers written outside fastify's request cycle (a request node's parser
 * refuses, src/plugins/errors.ts) use the same headers through `edgeHeaderList`.
 *
 * The helmet middleware is built once and run on the raw response; the @fastify/helmet wrapper
 * rebuilt it (parsing the CSP) on every request, ≈ 9 % of the event loop's time at saturation.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet from 'helmet';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** fastify `genReqId`: keep a caller's id when it is safe to log, else a fresh UUID. */
export function genRequestId(req: IncomingMessage): string {
  const h = req.headers['x-request-id'];
  return typeof h === 'string' && REQUEST_ID.test(h) ? h : randomUUID();
}

/** The security-header middleware (helmet), configured for this service. */
export function securityHeaders(opts: { crossOrigin: boolean }): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  return helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        // the playground page and swagger-ui initialise with small inline scripts and styles
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        // helmet's default would make a browser fetch the page's own scripts and styles over
        // https, which breaks the playground and /docs on plain HTTP from any host but localhost
        // (browsers exempt only localhost); TLS, where there is any, ends at the ingress
        upgradeInsecureRequests: null,
      },
    },
    // images are fetched cross-origin only when CORS allows it
    crossOriginResourcePolicy: { policy: opts.crossOrigin ? 'cross-origin' : 'same-origin' },
    hsts: false, // TLS ends at the ingress / load balancer, which sets HSTS for its host
  });
}

/** The security headers as a list, for answers written straight to a socket. */
export function edgeHeaderList(mw: ReturnType<typeof securityHeaders>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const res = { setHeader: (k: string, v: string) => out.push([k, String(v)]), removeHeader: () => undefined };
  mw({} as IncomingMessage, res as unknown as ServerResponse, () => undefined);
  return out;
}

export default fp(
  async function headersPlugin(app: FastifyInstance, opts: { crossOrigin: boolean }) {
    const mw = securityHeaders(opts);
    app.addHook('onRequest', (req, reply, done) => {
      reply.header('x-request-id', req.id);
      mw(req.raw, reply.raw, (err?: unknown) => done(err instanceof Error ? err : undefined));
    });
  },
  { name: 'headers' },
);
