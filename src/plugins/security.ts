/**
 * Access to the HTTP surface, in one plugin so the order of its hooks is visible in one place
 * (request ids and security headers come first, from ./headers.ts):
 *
 * 1. CORS (@fastify/cors) — off unless CORS_ORIGINS names origins;
 * 2. API keys — when any key is configured, every `/v1/*` route needs `Authorization: Bearer
 *    <key>`; keys are compared as SHA-256 digests with `timingSafeEqual` against every key (no
 *    early exit), and every failure — no header, wrong scheme, unknown key — is the same 401;
 *    probes, metrics, docs and the playground page stay open (protect /metrics at the network);
 * 3. rate limiting (@fastify/rate-limit) — RATE_LIMIT_MAX requests per window per API key (its
 *    fingerprint, never the key) or, without keys, per client address; 429 + Retry-After.
 *
 * The body-size limit is fastify's own `bodyLimit` (BODY_LIMIT_BYTES, answered 413). Nothing
 * secret reaches the logs: headers are not serialised, and `authorization` is redacted anyway.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { RateLimited, Unauthorized } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** fingerprint of the API key that authenticated this request (never the key itself) */
    apiKeyId?: string;
  }
}

/** pino redaction paths: belt and braces, as fastify's request serialiser logs no headers. */
export const LOG_REDACT = {
  paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'authorization', 'API_KEYS', 'apiKeys'],
  censor: '[redacted]',
};

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time key check: SHA-256 digests (equal length) compared against every key. */
export class ApiKeys {
  private readonly digests: Buffer[];
  private readonly ids: string[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(sha256);
    this.ids = this.digests.map((d) => `key:${d.toString('hex').slice(0, 12)}`);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** The fingerprint of the key in `Authorization: Bearer <key>`, or null. */
  identify(authorization: string | undefined): string | null {
    const m = typeof authorization === 'string' ? /^Bearer[ ]+([\x21-\x7e]{1,4096})$/i.exec(authorization) : null;
    // hash something even for a malformed header, so the work done does not depend on why it failed
    const d = sha256(m ? m[1] : '');
    let found = -1;
    for (let i = 0; i < this.digests.length; i++) if (timingSafeEqual(d, this.digests[i]) && found < 0 && m) found = i;
    return found >= 0 ? this.ids[found] : null;
  }
}

const isApiRoute = (req: FastifyRequest) => (req.routeOptions.url ?? '').startsWith('/v1/');

export default fp(
  async function securityPlugin(app: FastifyInstance, opts: { config: Config }) {
    const cfg = opts.config;

    if (cfg.CORS_ORIGINS) {
      const list = cfg.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean);
      await app.register(cors, {
        origin: list.includes('*') ? '*' : list,
        methods: ['GET', 'POST', 'OPTIONS'],
        allowedHeaders: ['content-type', 'authorization', 'accept', 'x-request-id'],
        exposedHeaders: ['x-seed', 'x-model', 'x-request-id', 'retry-after', 'server-timing'],
        maxAge: 600,
      });
    }

    const keys = new ApiKeys(cfg.apiKeys ?? []);
    if (keys.enabled) {
      app.log.info({ keys: (cfg.apiKeys ?? []).length }, 'API keys required on /v1/*');
      app.addHook('onRequest', async (req) => {
        if (!isApiRoute(req)) return;
        const id = keys.identify(req.headers.authorization);
        if (!id) throw new Unauthorized();
        req.apiKeyId = id;
        req.log = req.log.child({ apiKey: id });
      });
    }

    if (cfg.RATE_LIMIT_MAX > 0) {
      // route-level hook, so it runs after the key check above and can count per key
      await app.register(rateLimit, {
        global: true,
        max: cfg.RATE_LIMIT_MAX,
        timeWindow: cfg.RATE_LIMIT_WINDOW_MS,
        allowList: (req) => !isApiRoute(req),
        keyGenerator: (req) => req.apiKeyId ?? `ip:${req.ip}`,
        errorResponseBuilder: (_req, ctx) => new RateLimited(Math.max(1, Math.ceil(ctx.ttl / 1000))),
      });
    }
  },
  { name: 'security' },
);
