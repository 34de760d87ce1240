/**
 * The service's domain errors, with no HTTP in them. Each is a named constructor carrying a
 * stable `kind` (also the `error` code clients see), a readable message, for bad input the
 * `field` at fault, for transient failures `retryAfterS`, and the underlying `cause` (an
 * onnxruntime message, a worker's exit) for the log. The engine and the scheduler throw these;
 * the HTTP edge maps kinds to statuses and headers in one table (src/api/status.ts), answers
 * `{error, message, field?}` and logs the cause (src/plugins/errors.ts).
 */

/** Every kind of error the service reports; the HTTP status of each is in src/api/status.ts. */
export const ERROR_KINDS = [
  // the request as HTTP
  'bad_request',
  'request_timeout',
  'headers_too_large',
  'not_found',
  'method_not_allowed',
  'not_acceptable',
  'expectation_failed',
  'body_too_large',
  'unsupported_media_type',
  'invalid_json',
  // the request's fields
  'invalid_request',
  'unknown_model',
  'unknown_class',
  'guidance_unsupported',
  // access
  'unauthorized',
  'rate_limited',
  // the service's state
  'model_unavailable',
  'queue_full',
  'engine_unavailable',
  'cancelled',
  'shutting_down',
  'not_ready',
  'deadline_exceeded',
  'internal_error',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export interface ServiceErrorOptions {
  /** the request field at fault: "guidance", "sigmas[2]", "body", "accept", … */
  field?: string;
  /** when a retry may succeed: seconds to wait */
  retryAfterS?: number;
  /** what went wrong underneath (logged, never sent) */
  cause?: unknown;
}

export class ServiceError extends Error {
  readonly kind: ErrorKind;
  readonly field?: string;
  readonly retryAfterS?: number;

  constructor(kind: ErrorKind, message: string, options: ServiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    if (options.field !== undefined) this.field = options.field;
    if (options.retryAfterS !== undefined) this.retryAfterS = options.retryAfterS;
  }

  /** The body every error answer has: `{error, message, field?}` (never the cause). */
  toJSON(): { error: ErrorKind; message: string; field?: string } {
    return this.field === undefined ? { error: this.kind, message: this.message } : { error: this.kind, message: this.message, field: this.field };
  }
}

/** The request is not well-formed HTTP: a bad %-escape, a raw byte the parser refuses. */
export class BadRequest extends ServiceError {
  constructor(message: string, field?: string, cause?: unknown) {
    super('bad_request', message, { field, cause });
  }
}

/** The request's headers did not arrive within node's requestTimeout. */
export class RequestTimeout extends ServiceError {
  constructor() {
    super('request_timeout', 'the request did not arrive in time');
  }
}

/** The request's headers exceed node's maxHeaderSize. */
export class HeadersTooLarge extends ServiceError {
  constructor() {
    super('headers_too_large', 'the request headers are too large', { field: 'headers' });
  }
}

export class NotFound extends ServiceError {
  constructor(what: string) {
    super('not_found', `no route for ${what}`);
  }
}

/** The path exists with other methods; `allow` lists them (the Allow header). */
export class MethodNotAllowed extends ServiceError {
  constructor(
    method: string,
    path: string,
    readonly allow: readonly string[],
  ) {
    super('method_not_allowed', allow.length ? `${method} is not supported on ${path}; use ${allow.join(' or ')}` : `${method} is not supported by this API`);
  }
}

/** Nothing the route can produce is acceptable to the caller (Accept). */
export class NotAcceptable extends ServiceError {
  constructor(message: string) {
    super('not_acceptable', message, { field: 'accept' });
  }
}

/** An `Expect` other than 100-continue (RFC 9110 §10.1.1). */
export class ExpectationFailed extends ServiceError {
  constructor(expect: string) {
    super('expectation_failed', `Expect: ${JSON.stringify(expect)} is not supported; only 100-continue is`, { field: 'expect' });
  }
}

export class BodyTooLarge extends ServiceError {
  constructor(limit: number) {
    super('body_too_large', `request body exceeds ${limit} bytes`, { field: 'body' });
  }
}

export class UnsupportedMediaType extends ServiceError {
  constructor(contentType: string | undefined) {
    const got = contentType === undefined || contentType === '' ? 'no content-type' : `content-type ${JSON.stringify(contentType)}`;
    super('unsupported_media_type', `${got} is not supported; send application/json`, { field: 'content-type' });
  }
}

export class InvalidJson extends ServiceError {
  constructor(message = 'request body is not valid JSON', cause?: unknown) {
    super('invalid_json', message, { field: 'body', cause });
  }
}

/** A field of the request has the wrong type, range, or is missing. */
export class InvalidField extends ServiceError {
  constructor(field: string, message: string) {
    super('invalid_request', message, { field });
  }
}

export class UnknownModel extends ServiceError {
  constructor(name: string) {
    super('unknown_model', `no model named ${JSON.stringify(name)}; GET /v1/models lists them`, { field: 'model' });
  }
}

export class UnknownClass extends ServiceError {
  constructor(value: string | number, classes: readonly string[]) {
    super(
      'unknown_class',
      `class ${JSON.stringify(value)} is not a class of this model; use an index 0…${classes.length - 1} or ${
        // a thousand names would bury the message: past a screenful, point at the list instead
        classes.length <= 20 ? `one of ${JSON.stringify(classes)}` : `one of the ${classes.length} names GET /v1/models lists`
      }`,
      { field: 'class' },
    );
  }
}

/** Guidance ≠ 1 on a plain CM: it has no null-class (JFDL guidance) embedding to guide with. */
export class GuidanceUnsupported extends ServiceError {
  constructor(model: string) {
    super(
      'guidance_unsupported',
      `model ${JSON.stringify(model)} is a plain consistency model with no guidance embedding (null_class is null); guidance must be 1 — use its JFDL graph for guidance`,
      { field: 'guidance' },
    );
  }
}

/**
 * Missing, malformed or unknown API key — one message for all three, so the answer does not
 * tell which part failed.
 */
export class Unauthorized extends ServiceError {
  constructor() {
    super('unauthorized', 'a valid API key is required: Authorization: Bearer <key>');
  }
}

/** Too many requests from one API key (or client address) in the rate-limit window. */
export class RateLimited extends ServiceError {
  constructor(retryAfterS: number) {
    super('rate_limited', `rate limit exceeded; retry in ${retryAfterS} s`, { retryAfterS });
  }
}

export class ModelUnavailable extends ServiceError {
  constructor(name: string, why: string) {
    super('model_unavailable', `model ${JSON.stringify(name)} is not available: ${why}`, { field: 'model', retryAfterS: 5 });
  }
}

export class QueueFull extends ServiceError {
  constructor(retryAfterS: number) {
    super('queue_full', 'the service is at capacity; retry later', { retryAfterS });
  }
}

/**
 * The engine worker (onnxruntime session thread) running a request's network call died, or the
 * model's workers could not be restarted. The worker is restarted; a retry is expected to work.
 */
export class EngineUnavailable extends ServiceError {
  constructor(message: string, cause?: unknown) {
    super('engine_unavailable', message, { retryAfterS: 1, cause });
  }
}

/**
 * A request was cancelled inside the scheduler: its client went away (nobody reads the answer)
 * or the service is closing (the answer says to retry elsewhere).
 */
export class Cancelled extends ServiceError {
  constructor(message: string, cause?: unknown) {
    super('cancelled', message, { retryAfterS: 1, cause });
  }
}

/** The server received SIGTERM/SIGINT: it finishes what it accepted and takes nothing new. */
export class ShuttingDown extends ServiceError {
  constructor() {
    super('shutting_down', 'the server is shutting down; retry on another replica', { retryAfterS: 1 });
  }
}

export class NotReady extends ServiceError {
  constructor(message: string) {
    super('not_ready', message);
  }
}

export class DeadlineExceeded extends ServiceError {
  constructor(ms: number) {
    super('deadline_exceeded', `the request did not finish within ${ms} ms`);
  }
}

/** Anything unexpected: the message sent is generic, the cause goes to the log. */
export class InternalError extends ServiceError {
  constructor(message = 'internal error', cause?: unknown) {
    super('internal_error', message, { cause });
  }
}
