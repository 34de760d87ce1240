/**
 * Every error leaves as JSON `{error, message, field?}` with a 4xx/5xx status — never a stack
 * trace. Maps fastify's own errors (bad JSON, oversize body, media type) and zod validation
 * issues onto the catalogue in src/errors.ts; anything unexpected is logged and answered 500.
 */
import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { BodyTooLarge, HttpError, InternalError, InvalidField, InvalidJson, NotFound, UnsupportedMediaType } from '../errors.js';

interface IssueLike {
  instancePath: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

/** The request field a validation issue points at, e.g. "/sigmas/2" → "sigmas[2]" ("body" for the root). */
export function fieldOf(issue: IssueLike): string {
  const parts = issue.instancePath.split('/').filter(Boolean);
  if (issue.keyword === 'unrecognized_keys' && Array.isArray(issue.params?.keys)) return String((issue.params!.keys as unknown[])[0]);
  if (!parts.length) return 'body';
  return parts.map((p, i) => (i > 0 && /^\d+$/.test(p) ? `[${p}]` : (i > 0 ? '.' : '') + p)).join('');
}

function messageOf(issue: IssueLike, field: string): string {
  const msg = issue.message ?? 'is invalid';
  if (issue.keyword === 'unrecognized_keys') return `unknown field(s): ${(issue.params?.keys as string[]).join(', ')}`;
  if (issue.keyword === 'invalid_type' && /received undefined/.test(msg)) return `${field} is required`;
  return `${field}: ${msg}`;
}

export function toHttpError(err: FastifyError | Error, bodyLimit: number): HttpError {
  if (err instanceof HttpError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const issue = err.validation[0] as IssueLike;
    const field = fieldOf(issue);
    return new InvalidField(field, messageOf(issue, field));
  }
  const code = (err as FastifyError).code;
  switch (code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new InvalidJson();
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new InvalidJson('request body is empty; send a JSON object');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BodyTooLarge(bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaType(undefined);
  }
  if (err instanceof SyntaxError) return new InvalidJson();
  const status = (err as FastifyError).statusCode;
  if (status && status >= 400 && status < 500) return new HttpError(status, 'bad_request', err.message);
  return new InternalError();
}

export default fp(async function errorsPlugin(app: FastifyInstance, opts: { bodyLimit: number }) {
  app.setErrorHandler((err, req, reply) => {
    const e = toHttpError(err as FastifyError, opts.bodyLimit);
    if (e.statusCode >= 500 && e.code === 'internal_error') req.log.error({ err }, 'unhandled error');
    reply.code(e.statusCode).headers(e.headers).type('application/json').send(JSON.stringify(e.toJSON()));
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new NotFound(`${req.method} ${req.url}`);
    reply.code(404).type('application/json').send(JSON.stringify(e.toJSON()));
  });
  // An `Expect` other than 100-continue is answered by node's HTTP server itself (417, empty
  // body) before fastify sees the request; answer it in the API's error shape instead.
  app.server.on('checkExpectation', (req, res) => {
    const body = JSON.stringify({ error: 'expectation_failed', message: `Expect: ${JSON.stringify(req.headers.expect ?? '')} is not supported`, field: 'expect' });
    res.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.end(body);
  });
  // CONNECT (proxy tunnelling) also bypasses fastify: node would drop the connection unanswered.
  app.server.on('connect', (req, socket) => {
    const body = JSON.stringify({ error: 'method_not_allowed', message: `${req.method} is not supported by this API` });
    socket.on('error', () => undefined);
    socket.end(`HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
});
