/**
 * The catalogue of every error the API returns. Each is a named constructor carrying its HTTP
 * status, a stable snake_case `error` code and, for bad input, the `field` at fault, so the
 * error handler (src/plugins/errors.ts) can answer `{error, message, field?}` and never a stack.
 */

export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly field?: string;
  readonly headers: Record<string, string>;
  constructor(statusCode: number, code: string, message: string, field?: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = new.target.name;
    this.statusCode = statusCode;
    this.code = code;
    this.field = field;
    this.headers = headers;
  }
  toJSON(): { error: string; message: string; field?: string } {
    return this.field === undefined
      ? { error: this.code, message: this.message }
      : { error: this.code, message: this.message, field: this.field };
  }
}

/** A field of the request has the wrong type, range, or is missing. */
export class InvalidField extends HttpError {
  constructor(field: string, message: string) {
    super(400, 'invalid_request', message, field);
  }
}

export class InvalidJson extends HttpError {
  constructor(message = 'request body is not valid JSON') {
    super(400, 'invalid_json', message, 'body');
  }
}

export class BodyTooLarge extends HttpError {
  constructor(limit: number) {
    super(413, 'body_too_large', `request body exceeds ${limit} bytes`, 'body');
  }
}

export class UnsupportedMediaType extends HttpError {
  constructor(contentType: string | undefined) {
    super(415, 'unsupported_media_type', `content-type ${JSON.stringify(contentType ?? '')} is not supported; send application/json`, 'content-type');
  }
}

export class NotAcceptable extends HttpError {
  constructor(message: string) {
    super(406, 'not_acceptable', message, 'accept');
  }
}

export class UnknownModel extends HttpError {
  constructor(name: string) {
    super(404, 'unknown_model', `no model named ${JSON.stringify(name)}; GET /v1/models lists them`, 'model');
  }
}

export class ModelUnavailable extends HttpError {
  constructor(name: string, why: string) {
    super(503, 'model_unavailable', `model ${JSON.stringify(name)} is not available: ${why}`, 'model', { 'retry-after': '5' });
  }
}

export class UnknownClass extends HttpError {
  constructor(value: string | number, classes: readonly string[]) {
    super(
      400,
      'unknown_class',
      `class ${JSON.stringify(value)} is not a class of this model; use an index 0…${classes.length - 1} or one of ${JSON.stringify(classes)}`,
      'class',
    );
  }
}

/** Guidance ≠ 1 on a plain CM: it has no null-class (JFDL guidance) embedding to guide with. */
export class GuidanceUnsupported extends HttpError {
  constructor(model: string) {
    super(
      400,
      'guidance_unsupported',
      `model ${JSON.stringify(model)} is a plain consistency model with no guidance embedding (null_class is null); guidance must be 1 — use its JFDL graph for guidance`,
      'guidance',
    );
  }
}

/**
 * Missing, malformed or unknown API key — one message for all three, so the answer does not
 * tell which part failed.
 */
export class Unauthorized extends HttpError {
  constructor() {
    super(401, 'unauthorized', 'a valid API key is required: Authorization: Bearer <key>', undefined, { 'www-authenticate': 'Bearer realm="jfdl-serve"' });
  }
}

/** Too many requests from one API key (or client address) in the rate-limit window. */
export class RateLimited extends HttpError {
  constructor(retryAfterS: number) {
    super(429, 'rate_limited', `rate limit exceeded; retry in ${retryAfterS} s`, undefined, { 'retry-after': String(retryAfterS) });
  }
}

/** The server received SIGTERM/SIGINT: it finishes what it accepted and takes nothing new. */
export class ShuttingDown extends HttpError {
  constructor() {
    super(503, 'shutting_down', 'the server is shutting down; retry on another replica', undefined, { 'retry-after': '1', connection: 'close' });
  }
}

export class QueueFull extends HttpError {
  constructor(retryAfterS: number) {
    super(503, 'queue_full', 'the service is at capacity; retry later', undefined, { 'retry-after': String(retryAfterS) });
  }
}

/**
 * The engine worker (onnxruntime session thread) running a request's network call died, or the
 * model's workers could not be restarted. The worker is restarted; a retry is expected to work.
 */
export class EngineUnavailable extends HttpError {
  constructor(message: string) {
    super(503, 'engine_unavailable', message, undefined, { 'retry-after': '1' });
  }
}

export class DeadlineExceeded extends HttpError {
  constructor(ms: number) {
    super(504, 'deadline_exceeded', `the request did not finish within ${ms} ms`);
  }
}

export class NotReady extends HttpError {
  constructor(message: string) {
    super(503, 'not_ready', message);
  }
}

export class NotFound extends HttpError {
  constructor(url: string) {
    super(404, 'not_found', `no route for ${url}`);
  }
}

export class InternalError extends HttpError {
  constructor(message = 'internal error') {
    super(500, 'internal_error', message);
  }
}

/** Thrown inside the scheduler when a request was cancelled (client gone or shut down). */
export class Cancelled extends HttpError {
  constructor(why: string) {
    super(499, 'cancelled', why);
  }
}
