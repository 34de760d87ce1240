/**
 * The HTTP edge of every error: whatever failed — a domain error of the engine or scheduler, a
 * schema violation, fastify's own body and routing errors, a request node's HTTP parser refuses
 * — the client gets JSON `{error, message, field?}` with the status and headers of
 * src/api/status.ts, the request id and the security headers, and never a stack trace. The
 * cause goes to the log (an onnxruntime message, a worker's exit), never to the client.
 *
 * Also here, because each is the edge's answer to a request the routes never see:
 * - 405 with `Allow` for a known path with another method (fastify would say 404);
 * - 417 for an `Expect` other than 100-continue, through the normal request cycle (hooks,
 *   headers, metrics), instead of node's bare empty answer;
 * - a lingering close after an early answer (413 above all): the connection keeps reading what
 *   the client is still writing, up to DRAIN_BYTES or DRAIN_MS, so the client can read the
 *   answer instead of a reset (EPIPE) under its write.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { httpAnswer } from '../api/status.js';
import { describeIssue, type FieldLimits, type IssueLike } from '../api/validation.js';
import {
  BadRequest,
  BodyTooLarge,
  ExpectationFailed,
  HeadersTooLarge,
  InternalError,
  InvalidField,
  InvalidJson,
  MethodNotAllowed,
  NotFound,
  RequestTimeout,
  ServiceError,
  UnsupportedMediaType,
  type ErrorKind,
} from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** the kind of error this request was answered with, if any (for the request log line) */
    errorKind?: ErrorKind;
  }
  interface FastifyContextConfig {
    /** run-time bounds of a route's fields, so schema messages state the real limit (src/api/validation.ts) */
    limits?: FieldLimits;
  }
}

/** After an early answer, at most this many more body bytes are read before the connection is cut. */
export const DRAIN_BYTES = 16 * 1024 * 1024;
/** … and for at most this long. */
export const DRAIN_MS = 5_000;

const METHODS: HTTPMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/** Whatever was thrown, as a domain error. */
export function toServiceError(err: unknown, req: FastifyRequest, bodyLimit: number): ServiceError {
  if (err instanceof ServiceError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const part = (err as { validationContext?: string }).validationContext === 'params' ? 'params' : 'body';
    const schema = (req.routeOptions.schema as Record<string, unknown> | undefined)?.[part] as z.ZodType | undefined;
    const input = part === 'params' ? req.params : req.body;
    const { field, message } = describeIssue(err.validation[0] as IssueLike, schema, input, req.routeOptions.config?.limits);
    return new InvalidField(field, message);
  }
  const e = err as Partial<FastifyError>;
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new InvalidJson(undefined, err);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new InvalidJson('request body is empty; send a JSON object', err);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BodyTooLarge(bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaType(req.headers['content-type']);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new BadRequest('the body is not as long as its Content-Length says', 'content-length', err);
    case 'FST_ERR_BAD_URL':
      return new BadRequest(`the URL ${JSON.stringify(req.url)} has a malformed %-escape`, 'url', err);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new BadRequest('a path segment of the URL is too long', 'url', err);
  }
  // JSON.parse and secure-json-parse (__proto__ keys) throw SyntaxError; their messages are safe to show
  if (err instanceof SyntaxError) return new InvalidJson(`request body is not valid JSON: ${err.message}`, err);
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new BadRequest(e.message ?? 'bad request', undefined, err);
  return new InternalError('internal error', err);
}

/** What the log gets of an error's cause: its type and message (onnxruntime's own text), and the stack. */
function causeOf(e: ServiceError): Record<string, unknown> | undefined {
  const c = e.cause;
  if (c === undefined) return undefined;
  if (c instanceof Error) return { type: c.name, message: c.message, ...(c.cause instanceof Error ? { cause: c.cause.message } : {}), stack: c.stack };
  return { message: String(c) };
}

/**
 * A lingering close (what HTTP servers have long done after an early answer): the answer says
 * `Connection: close`, and once it is out the server half-closes and reads and drops the rest of
 * the request body the answer did not need, within `maxBytes` and `maxMs`, then closes. Node would
 * instead close the socket right after the answer, and the kernel resets a socket closed with
 * unread data: a client still writing its body (413 above all) meets EPIPE or ECONNRESET under
 * its write and never reads the answer. Node closes through the socket's destroySoon(), so this
 * one socket gets its own. Call before the answer is sent.
 */
export function lingerAfterAnswer(req: IncomingMessage, res: ServerResponse, maxBytes = DRAIN_BYTES, maxMs = DRAIN_MS): void {
  const socket = req.socket as Socket | undefined;
  if (req.complete || req.readableEnded || typeof socket?.destroy !== 'function') return;
  res.setHeader('connection', 'close');
  socket.destroySoon = function lingeringClose(this: Socket) {
    delete (this as Partial<Socket>).destroySoon;
    if (req.complete) return this.destroySoon();
    this.end();
    let seen = 0;
    const close = () => {
      clearTimeout(timer);
      req.off('data', count);
      this.destroy();
    };
    const count = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) close();
    };
    const timer = setTimeout(close, maxMs);
    timer.unref();
    req.on('data', count);
    req.once('end', close);
    req.resume();
  };
}

/** Answers `e` on `reply`: status, headers and body from the one table, plus the log line. */
export function sendError(req: FastifyRequest, reply: FastifyReply, e: ServiceError): FastifyReply {
  const a = httpAnswer(e);
  req.errorKind = e.kind;
  const cause = causeOf(e);
  if (e.kind === 'internal_error') req.log.error({ kind: e.kind, err: e, cause }, 'internal error');
  else if (cause && a.status >= 500) req.log.warn({ kind: e.kind, message: e.message, cause }, e.message);
  else if (cause) req.log.debug({ kind: e.kind, message: e.message, cause }, e.message);
  // an answer that did not need the rest of the body (413 above all): read it away, bounded
  lingerAfterAnswer(req.raw, reply.raw);
  return reply.code(a.status).headers(a.headers).send(a.body);
}

/**
 * fastify's `frameworkErrors`: a URL the router cannot decode. No hook has run, so the request id
 * and the security headers are set here.
 */
export function frameworkErrorHandler(setEdgeHeaders: (req: FastifyRequest, reply: FastifyReply) => void, bodyLimit: number, onAnswer?: (method: string, status: number) => void) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    setEdgeHeaders(req, reply);
    const e = toServiceError(err, req, bodyLimit);
    sendError(req, reply, e);
    // no onResponse hook runs for these: count them here
    onAnswer?.(req.method, httpAnswer(e).status);
  };
}

const PARSER_REASONS: Record<string, string> = {
  HPE_INVALID_URL: 'the request line has a character a URL cannot hold (send it %-encoded)',
  HPE_INVALID_METHOD: 'the method is not a valid HTTP method',
  HPE_INVALID_VERSION: 'the HTTP version is not HTTP/1.x',
  HPE_INVALID_HEADER_TOKEN: 'a header name has a character HTTP does not allow',
  HPE_INVALID_TRANSFER_ENCODING: 'the Transfer-Encoding is not valid',
  HPE_INVALID_CONTENT_LENGTH: 'the Content-Length is not valid',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'Content-Length and Transfer-Encoding are both set',
  HPE_INVALID_CHUNK_SIZE: 'a chunk size of the chunked body is not valid',
};

/** An answer written straight to a socket, in the API's shape, closing the connection. */
function writeRaw(socket: Socket, e: ServiceError, edgeHeaders: ReadonlyArray<[string, string]>, id: string): void {
  const a = httpAnswer(e);
  const headers: Array<[string, string]> = [
    ...Object.entries({ ...a.headers, connection: 'close' }),
    ['content-length', String(Buffer.byteLength(a.body))],
    ['x-request-id', id],
    ['date', new Date().toUTCString()],
    ...edgeHeaders,
  ];
  socket.write(`HTTP/1.1 ${a.status} ${STATUS_CODES[a.status]}\r\n${headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${a.body}`);
  socket.end();
  // read and drop whatever else arrives until the client closes, within DRAIN_MS
  socket.resume();
  setTimeout(() => socket.destroy(), DRAIN_MS).unref();
}

/**
 * fastify's `clientErrorHandler`: node's HTTP parser refused the request (a raw non-ASCII byte in
 * the URL, a bad header, a timeout). The answer is written to the socket in the API's shape, with
 * `Connection: close` (the parser cannot resume on this connection) and the edge headers; the
 * socket is ended, not destroyed, so the client reads it.
 */
export function clientErrorHandler(edgeHeaders: ReadonlyArray<[string, string]>, onAnswer?: (method: string, status: number) => void) {
  return function (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket) {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    let e: ServiceError;
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') e = new RequestTimeout();
    else if (err.code === 'HPE_HEADER_OVERFLOW') e = new HeadersTooLarge();
    else e = new BadRequest(`the request is not valid HTTP/1.1: ${PARSER_REASONS[err.code ?? ''] ?? 'it could not be parsed'}`, undefined, err);
    const id = randomUUID();
    this.log.info({ reqId: id, code: err.code, kind: e.kind }, 'request refused by the HTTP parser');
    if (socket.writable) writeRaw(socket, e, edgeHeaders, id);
    else socket.destroy();
    onAnswer?.('unparsed', httpAnswer(e).status);
  };
}

export default fp(
  async function errorsPlugin(app: FastifyInstance, opts: { bodyLimit: number; edgeHeaders: ReadonlyArray<[string, string]> }) {
    // paths and methods of every route, to tell 405 (the path exists) from 404 (it does not)
    const known = FindMyWay({ maxParamLength: Number.MAX_SAFE_INTEGER });
    app.addHook('onRoute', (route) => {
      // a catch-all route (CORS preflight: OPTIONS *) says nothing about which paths exist
      if (route.url === '*' || route.url === '/*') return;
      for (const m of [route.method].flat() as HTTPMethod[]) if (METHODS.includes(m) && !known.hasRoute(m, route.url)) known.on(m, route.url, () => undefined);
    });

    // RFC 9110 §10.1.1: an expectation other than 100-continue may be refused with 417. node answers
    // it itself with an empty body; routed through fastify it gets the API's answer and counts.
    app.addHook('onRequest', async (req) => {
      const expect = req.headers.expect;
      if (expect !== undefined && expect.trim().toLowerCase() !== '100-continue') throw new ExpectationFailed(expect);
    });
    app.server.on('checkExpectation', (req, res) => app.routing(req, res));
    // CONNECT (proxy tunnelling) also bypasses fastify: node would drop the connection unanswered.
    app.server.on('connect', (req: IncomingMessage, socket: Socket) => {
      socket.on('error', () => undefined);
      writeRaw(socket, new MethodNotAllowed('CONNECT', req.url ?? '', []), opts.edgeHeaders, randomUUID());
    });

    app.setErrorHandler((err, req, reply) => sendError(req, reply, toServiceError(err, req, opts.bodyLimit)));
    app.setNotFoundHandler((req, reply) => {
      const path = req.url.split('?')[0];
      const allow = METHODS.filter((m) => m !== req.method && known.find(m, path));
      return sendError(req, reply, allow.length ? new MethodNotAllowed(req.method, path, allow) : new NotFound(`${req.method} ${path}`));
    });
  },
  { name: 'errors' },
);
