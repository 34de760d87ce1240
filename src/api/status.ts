/**
 * The one table from error kinds (src/errors.ts) to HTTP: status code, and the headers the
 * answer carries. The error handler (src/plugins/errors.ts) answers with it, and the OpenAPI
 * document (src/api/responses.ts) documents each route's errors under the statuses it gives.
 */
import { ServiceError, type ErrorKind, MethodNotAllowed } from '../errors.js';

export interface HttpMapping {
  status: number;
  /** the answer closes the connection: the request's framing cannot be trusted, or the server is leaving */
  close?: boolean;
}

export const HTTP_STATUS: Readonly<Record<ErrorKind, HttpMapping>> = {
  bad_request: { status: 400, close: true },
  request_timeout: { status: 408, close: true },
  headers_too_large: { status: 431, close: true },
  invalid_json: { status: 400 },
  invalid_request: { status: 400 },
  unknown_class: { status: 400 },
  guidance_unsupported: { status: 400 },
  unauthorized: { status: 401 },
  not_found: { status: 404 },
  unknown_model: { status: 404 },
  method_not_allowed: { status: 405 },
  not_acceptable: { status: 406 },
  body_too_large: { status: 413 },
  unsupported_media_type: { status: 415 },
  // the client may hold back a body it announced: the connection's framing is unknown
  expectation_failed: { status: 417, close: true },
  rate_limited: { status: 429 },
  internal_error: { status: 500 },
  model_unavailable: { status: 503 },
  queue_full: { status: 503 },
  engine_unavailable: { status: 503 },
  cancelled: { status: 503 },
  // a keep-alive client must not reuse a connection to a server that is going away
  shutting_down: { status: 503, close: true },
  not_ready: { status: 503 },
  deadline_exceeded: { status: 504 },
};

/** The status, headers and body of the answer to an error. */
export function httpAnswer(e: ServiceError): { status: number; headers: Record<string, string>; body: string } {
  const m = HTTP_STATUS[e.kind];
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (e.retryAfterS !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(e.retryAfterS)));
  if (e.kind === 'unauthorized') headers['www-authenticate'] = 'Bearer realm="jfdl-serve"';
  if (e instanceof MethodNotAllowed) headers.allow = e.allow.join(', ');
  if (m.close) headers.connection = 'close';
  return { status: m.status, headers, body: JSON.stringify(e.toJSON()) };
}

/** Kinds answered with `status`, in table order. */
export function kindsWithStatus(status: number): ErrorKind[] {
  return (Object.keys(HTTP_STATUS) as ErrorKind[]).filter((k) => HTTP_STATUS[k].status === status);
}
