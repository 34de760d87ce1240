/**
 * Builds the documentation half of a route's schema — operation id, tags, descriptions,
 * security, and every response it can give with bodies, headers and examples — so each route
 * documents itself where it is defined (src/routes/*). Error responses are grouped under the
 * status src/api/status.ts gives their kind; the answers the HTTP edge adds to every operation
 * (406, 417, 500, 503 while shutting down; 401 and 429 on /v1) are added here from the same
 * table, so no operation can leave one out.
 */
import { z } from 'zod';
import type { ErrorKind } from '../errors.js';
import { ErrorResponse } from './schemas.js';
import { HTTP_STATUS } from './status.js';

/** A response header as @fastify/swagger reads it from a route schema: a JSON Schema with a description. */
export interface HeaderDoc {
  description: string;
  type: 'string' | 'integer';
  [k: string]: unknown;
}

/** One documented response: description, bodies by media type (zod schemas), headers. */
export interface ResponseDoc {
  description: string;
  content: Record<string, { schema: z.ZodType; examples?: Record<string, { summary?: string; value: unknown }> }>;
  headers?: Record<string, HeaderDoc>;
}

/** What each error kind means and an example of its body, for the document. */
const KIND_DOCS: Record<ErrorKind, { when: string; message: string; field?: string }> = {
  bad_request: {
    when: 'the request is not well-formed (a malformed %-escape in the URL)',
    message: 'the URL "/v1/models/%zz" has a malformed %-escape',
    field: 'url',
  },
  request_timeout: { when: 'the request did not arrive in time', message: 'the request did not arrive in time' },
  headers_too_large: { when: 'the request headers are too large', message: 'the request headers are too large', field: 'headers' },
  invalid_json: { when: 'the body is not valid JSON', message: 'request body is not valid JSON: Unexpected end of JSON input', field: 'body' },
  invalid_request: {
    when: 'a field is missing or invalid (named in `field`)',
    message: 'guidance must be within [0, 4] for model digits16',
    field: 'guidance',
  },
  unknown_class: {
    when: 'the class is not a class of the model',
    message: 'class "cat" is not a class of this model; use an index 0…9 or one of ["0","1",…]',
    field: 'class',
  },
  guidance_unsupported: {
    when: 'guidance ≠ 1 on a plain CM',
    message:
      'model "digits16-cm" is a plain consistency model with no guidance embedding (null_class is null); guidance must be 1 — use its JFDL graph for guidance',
    field: 'guidance',
  },
  unauthorized: {
    when: 'API keys are configured (API_KEYS) and the request has no valid `Authorization: Bearer <key>`',
    message: 'a valid API key is required: Authorization: Bearer <key>',
  },
  not_found: { when: 'no such route', message: 'no route for GET /nope' },
  unknown_model: { when: 'no model has that name', message: 'no model named "nope"; GET /v1/models lists them', field: 'model' },
  method_not_allowed: { when: 'the path exists with other methods (listed in Allow)', message: 'PUT is not supported on /v1/generate; use POST' },
  not_acceptable: {
    when: 'Accept allows none of the media types this operation returns',
    message: 'GET /v1/models answers application/json; Accept: image/gif allows none of them',
    field: 'accept',
  },
  expectation_failed: { when: 'an `Expect` other than 100-continue', message: 'Expect: "x-foo" is not supported; only 100-continue is', field: 'expect' },
  body_too_large: { when: 'the body exceeds BODY_LIMIT_BYTES', message: 'request body exceeds 65536 bytes', field: 'body' },
  unsupported_media_type: {
    when: 'the body is not application/json',
    message: 'content-type "text/plain" is not supported; send application/json',
    field: 'content-type',
  },
  rate_limited: {
    when: 'the rate limit for this API key or client address is exceeded (RATE_LIMIT_MAX per window)',
    message: 'rate limit exceeded; retry in 12 s',
  },
  internal_error: { when: 'an unexpected failure (logged server-side; no details leak)', message: 'internal error' },
  model_unavailable: { when: 'the model is still loading or failed to load', message: 'model "digits16" is not available: still loading', field: 'model' },
  queue_full: { when: 'the queue is full (QUEUE_LIMIT images)', message: 'the service is at capacity; retry later' },
  engine_unavailable: {
    when: 'the inference worker running the request died (it is restarted)',
    message: 'the inference worker running this request died (engine worker exited with code 70); it is being restarted, retry',
  },
  cancelled: { when: 'the request was cancelled inside the service (it is closing)', message: 'the service is shutting down' },
  shutting_down: { when: 'the server is shutting down (SIGTERM)', message: 'the server is shutting down; retry on another replica' },
  not_ready: { when: 'a model is still loading or its workers are down', message: 'not ready: loading digits16' },
  deadline_exceeded: {
    when: 'the request did not finish within REQUEST_DEADLINE_MS; its lanes were dropped',
    message: 'the request did not finish within 30000 ms',
  },
};

/** X-Request-Id: on every answer. */
const REQUEST_ID: Record<string, HeaderDoc> = {
  'X-Request-Id': {
    description: "the request id: the caller's X-Request-Id when it is safe ([A-Za-z0-9._:-], ≤ 128), else a UUID; on every log line of the request",
    type: 'string',
  },
};
/** @fastify/rate-limit's headers, on /v1 answers while RATE_LIMIT_MAX is set. */
const RATE_LIMIT: Record<string, HeaderDoc> = {
  'X-RateLimit-Limit': { description: 'requests allowed per window (only with RATE_LIMIT_MAX set)', type: 'integer', minimum: 0 },
  'X-RateLimit-Remaining': { description: 'requests left in this window (only with RATE_LIMIT_MAX set)', type: 'integer', minimum: 0 },
  'X-RateLimit-Reset': { description: 'seconds until the window resets (only with RATE_LIMIT_MAX set)', type: 'integer', minimum: 0 },
};
const RETRY_AFTER: HeaderDoc = { description: 'seconds to wait before retrying', type: 'integer', minimum: 1 };

/** Kinds whose answer carries Retry-After (src/errors.ts sets retryAfterS on them). */
const RETRYABLE = new Set<ErrorKind>(['rate_limited', 'model_unavailable', 'queue_full', 'engine_unavailable', 'cancelled', 'shutting_down']);

export interface OperationDoc {
  operationId: string;
  tags: string[];
  summary: string;
  description: string;
  /** a /v1 operation: API keys and the rate limit apply (401, 429, X-RateLimit-*) */
  api: boolean;
  /** answered while the server drains (/healthz, /metrics): no 503 shutting_down */
  openWhileDraining?: boolean;
  /** the 2xx answers */
  ok: Record<number, ResponseDoc>;
  /** the errors the route itself raises */
  errors: ErrorKind[];
}

/** A 2xx answer with a JSON body. */
export function json(schema: z.ZodType, description: string, headers: Record<string, HeaderDoc> = {}): ResponseDoc {
  return { description, content: { 'application/json': { schema } }, headers };
}

/** A 2xx answer with non-JSON bodies: `{ 'text/html': schema, … }`. */
export function media(types: Record<string, z.ZodType>, description: string, headers: Record<string, HeaderDoc> = {}): ResponseDoc {
  return { description, content: Object.fromEntries(Object.entries(types).map(([t, schema]) => [t, { schema }])), headers };
}

/** The schema keys that document an operation: id, tags, texts, security, and every response. */
export function operation(o: OperationDoc) {
  const kinds = new Set<ErrorKind>([...o.errors, 'not_acceptable', 'expectation_failed', 'internal_error']);
  if (!o.openWhileDraining) kinds.add('shutting_down');
  if (o.api) {
    kinds.add('unauthorized');
    kinds.add('rate_limited');
  }
  const common = { ...REQUEST_ID, ...(o.api ? RATE_LIMIT : {}) };
  const response: Record<string, ResponseDoc> = {};
  for (const [code, r] of Object.entries(o.ok)) response[code] = { ...r, headers: { ...r.headers, ...common } };
  const byStatus = new Map<number, ErrorKind[]>();
  for (const k of kinds) byStatus.set(HTTP_STATUS[k].status, [...(byStatus.get(HTTP_STATUS[k].status) ?? []), k]);
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const headers: Record<string, HeaderDoc> = { ...common };
    if (list.some((k) => RETRYABLE.has(k))) headers['Retry-After'] = RETRY_AFTER;
    if (list.includes('unauthorized')) headers['WWW-Authenticate'] = { description: 'Bearer realm="jfdl-serve"', type: 'string' };
    response[String(status)] = {
      description: list.map((k) => `\`${k}\`: ${KIND_DOCS[k].when}`).join('; '),
      content: {
        'application/json': {
          schema: ErrorResponse,
          examples: Object.fromEntries(
            list.map((k) => [k, { value: { error: k, message: KIND_DOCS[k].message, ...(KIND_DOCS[k].field ? { field: KIND_DOCS[k].field } : {}) } }]),
          ),
        },
      },
      headers,
    };
  }
  return {
    operationId: o.operationId,
    tags: o.tags,
    summary: o.summary,
    description: o.description,
    // open operations say so explicitly (a generator then sends no credentials); /v1 ones need a key only when keys are configured
    security: (o.api ? [{}, { apiKey: [] }] : []) as Array<Record<string, string[]>>,
    response,
  };
}
