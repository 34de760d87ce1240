/**
 * OpenAPI 3.1 document generated from the zod schemas that validate the requests (through
 * fastify-type-provider-zod's transform, JSON Schema draft 2020-12), served at GET /openapi.json,
 * with Swagger UI at /docs. Register it before the routes: @fastify/swagger collects routes as
 * they are added. `npm run openapi` writes the same document to openapi/openapi.json, and the
 * typed client (src/client/) is generated from that file.
 *
 * What the zod schemas cannot say (the Accept header that selects a raw image, response headers,
 * the binary image bodies) is added to the document here, in one table, so it stays in one place.
 */
import { readFileSync } from 'node:fs';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { OpenAPIV3_1 } from 'openapi-types';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; description: string };

export const OPENAPI_INFO: OpenAPIV3_1.InfoObject = {
  title: 'jfdl-serve',
  version: pkg.version,
  summary: 'Class-conditional consistency models with post-hoc JFDL guidance, over HTTP',
  description: [
    'Generates images from class-conditional consistency models (CMs). A **JFDL** graph carries a learned guidance',
    'embedding (the null class), so a request can turn a classifier-free-guidance-like knob `guidance` (w):',
    '`D = D_u + w·(D_c − D_u)`; w = 1 is the plain conditional model, w = 0 unconditional, w ≈ 1.1–1.5 usually helps.',
    'A plain **CM** graph (`kind: "cm"`) accepts only guidance 1.',
    '',
    'Limits that depend on the model (class count, guidance range, max_steps, σ range) come from `GET /v1/models/{name}`.',
    'Every error is JSON `{error, message, field?}`.',
  ].join('\n'),
  license: { name: 'see the repository' },
};

const imageSchema = (mime: string): OpenAPIV3_1.MediaTypeObject => ({ schema: { type: 'string', contentMediaType: mime, description: `one ${mime} image` } });
const error = (description: string, examples: Array<{ error: string; message: string; field?: string }>): OpenAPIV3_1.ResponseObject => ({
  description,
  content: {
    'application/json': {
      schema: { $ref: '#/components/schemas/Error' },
      examples: Object.fromEntries(examples.map((e) => [e.error, { value: e }])),
    },
  },
});
const retryAfter = { 'Retry-After': { description: 'seconds to wait before retrying', schema: { type: 'string' } } } as const;

interface OperationDocs {
  operationId: string;
  tags: string[];
  description?: string;
  /** documented non-2xx answers (they replace fastify's generic 4XX/5XX entries) */
  errors?: Record<string, OpenAPIV3_1.ResponseObject>;
  /** responses to set (or merge) for routes without a zod response schema or with binary bodies */
  responses?: Record<string, OpenAPIV3_1.ResponseObject>;
  parameters?: OpenAPIV3_1.ParameterObject[];
}

/** HTTP-level documentation per operation: the zod schemas give bodies; this table gives ids, tags, headers and the errors. */
const OPERATIONS: Record<string, OperationDocs> = {
  'post /v1/generate': {
    operationId: 'generate',
    tags: ['generate'],
    description: [
      'Generates `num_images` images of one class. Each image is a lane of the step-level batcher: lanes of all',
      'requests, step counts, samplers and guidance scales share network calls. With guidance ≠ 1 a lane costs two',
      'rows per step (its class and the null class). Image *i* depends only on `(seed, i)` and the parameters.',
    ].join(' '),
    parameters: [
      {
        name: 'accept',
        in: 'header',
        required: false,
        description:
          '`application/json` (default): JSON with base64 images. `image/png`, `image/webp` or `image/jpeg` with num_images = 1: the raw image, with the seed in `X-Seed` (406 for num_images > 1).',
        schema: { type: 'string' },
        example: 'image/png',
      },
    ],
    responses: {
      '200': {
        description: 'The generated images (JSON), or one raw image when Accept asks for an image type',
        content: { 'image/png': imageSchema('image/png'), 'image/webp': imageSchema('image/webp'), 'image/jpeg': imageSchema('image/jpeg') },
        headers: {
          'X-Seed': { description: 'the seed used (raw image responses)', schema: { type: 'string' } },
          'X-Model': { description: 'the model used (raw image responses)', schema: { type: 'string' } },
          'Server-Timing': { description: 'queue, compute and encode durations in ms (raw image responses)', schema: { type: 'string' } },
        },
      },
    },
    errors: {
      '400': error('A field is invalid (named in `field`), the body is not JSON, the class is unknown, or guidance ≠ 1 on a plain CM', [
        { error: 'invalid_request', message: 'guidance must be within [0, 4] for model digits16', field: 'guidance' },
        { error: 'unknown_class', message: 'class "cat" is not a class of this model; use an index 0…9 or one of ["0","1",…]', field: 'class' },
        { error: 'guidance_unsupported', message: 'model "digits16-cm" is a plain consistency model with no guidance embedding (null_class is null); guidance must be 1 — use its JFDL graph for guidance', field: 'guidance' },
        { error: 'invalid_json', message: 'request body is not valid JSON', field: 'body' },
      ]),
      '404': error('No model with that name', [{ error: 'unknown_model', message: 'no model named "nope"; GET /v1/models lists them', field: 'model' }]),
      '406': error('A raw image was asked for (Accept: image/*) with num_images > 1', [
        { error: 'not_acceptable', message: 'a raw image/png response holds one image; ask for application/json to get 4', field: 'accept' },
      ]),
      '413': error('The body exceeds BODY_LIMIT_BYTES', [{ error: 'body_too_large', message: 'request body exceeds 65536 bytes', field: 'body' }]),
      '415': error('The body is not application/json', [{ error: 'unsupported_media_type', message: 'content-type "text/plain" is not supported; send application/json', field: 'content-type' }]),
      '500': error('An unexpected failure (logged server-side; no details leak)', [{ error: 'internal_error', message: 'internal error' }]),
      '503': {
        ...error('The queue is full, the model is still loading or failed, its inference worker died (it is restarted), or the server is shutting down — retry after Retry-After seconds', [
          { error: 'queue_full', message: 'the service is at capacity; retry later' },
          { error: 'model_unavailable', message: 'model "digits16" is not available: still loading', field: 'model' },
          { error: 'engine_unavailable', message: 'the inference worker running this request died (…); it is being restarted, retry' },
          { error: 'shutting_down', message: 'the server is shutting down; retry on another replica' },
        ]),
        headers: retryAfter,
      },
      '504': error('The request did not finish within REQUEST_DEADLINE_MS; its lanes were dropped', [
        { error: 'deadline_exceeded', message: 'the request did not finish within 30000 ms' },
      ]),
    },
  },
  'get /v1/models': { operationId: 'listModels', tags: ['models'], description: 'Every model graph under MODELS_DIR, including those still loading or failed (with the reason).' },
  'get /v1/models/{name}': {
    operationId: 'getModel',
    tags: ['models'],
    description: 'One model graph: classes, guidance range, σ schedules, execution provider, status, queue depth and call statistics.',
    errors: { '404': error('No model with that name', [{ error: 'unknown_model', message: 'no model named "nope"; GET /v1/models lists them', field: 'model' }]) },
  },
  'get /healthz': { operationId: 'healthz', tags: ['health'], description: 'Liveness: the event loop answers.' },
  'get /readyz': {
    operationId: 'readyz',
    tags: ['health'],
    description: 'Readiness: every enabled model is loaded and warmed, and its workers are up.',
    errors: {
      '503': error('Not ready yet, an engine is down, or the server is shutting down', [
        { error: 'not_ready', message: 'not ready: loading digits16' },
        { error: 'shutting_down', message: 'the server is shutting down; retry on another replica' },
      ]),
    },
  },
  'get /': {
    operationId: 'playground',
    tags: ['ops'],
    description: 'The playground page: pick a model and class, turn the guidance knob, run a guidance sweep.',
    responses: { '200': { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } } },
  },
  'get /metrics': {
    operationId: 'metrics',
    tags: ['ops'],
    description: 'Prometheus metrics in the text exposition format (see the README for the list).',
    responses: {
      '200': {
        description: 'Prometheus text exposition format 0.0.4',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
    },
  },
};

/** Answers of the security layer on every /v1 route (API keys and rate limiting are opt-in). */
const V1_ERRORS: Record<string, OpenAPIV3_1.ResponseObject> = {
  '401': {
    ...error('API keys are configured (API_KEYS) and the request has no valid `Authorization: Bearer <key>`', [
      { error: 'unauthorized', message: 'a valid API key is required: Authorization: Bearer <key>' },
    ]),
    headers: { 'WWW-Authenticate': { description: 'Bearer realm="jfdl-serve"', schema: { type: 'string' } } },
  },
  '429': {
    ...error('Rate limit exceeded for this API key or client address (RATE_LIMIT_MAX per window)', [{ error: 'rate_limited', message: 'rate limit exceeded; retry in 12 s' }]),
    headers: retryAfter,
  },
};

/** Names of the components a document references, transitively. */
function referenced(doc: OpenAPIV3_1.Document): Set<string> {
  const seen = new Set<string>();
  const schemas = (doc.components?.schemas ?? {}) as Record<string, unknown>;
  const walk = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string' && x.startsWith('#/components/schemas/')) {
        const name = x.slice('#/components/schemas/'.length);
        if (!seen.has(name)) {
          seen.add(name);
          walk(schemas[name]);
        }
      } else walk(x);
    }
  };
  walk(doc.paths);
  return seen;
}

/** Merges the table above into the generated document and drops unused components. */
function augment(doc: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item ?? {}) as Array<[string, OpenAPIV3_1.OperationObject]>) {
      const docs = OPERATIONS[`${method} ${path}`];
      if (!docs || typeof op !== 'object') continue;
      op.operationId = docs.operationId;
      op.tags = docs.tags;
      if (docs.description) op.description = docs.description;
      if (docs.parameters) op.parameters = [...docs.parameters, ...(op.parameters ?? [])];
      const responses = (op.responses ??= {}) as Record<string, OpenAPIV3_1.ResponseObject>;
      for (const [code, r] of Object.entries(docs.responses ?? {})) {
        const cur = responses[code];
        responses[code] = cur && cur.content ? { ...cur, ...r, content: { ...cur.content, ...r.content } } : r;
      }
      const errors = { ...docs.errors, ...(path.startsWith('/v1/') ? V1_ERRORS : {}) };
      if (Object.keys(errors).length) {
        delete responses['4XX'];
        delete responses['5XX'];
        Object.assign(responses, errors);
      }
      if (path.startsWith('/v1/')) op.security = [{}, { apiKey: [] }];
      for (const code of Object.keys(responses)) {
        if (responses[code].description === 'Default Response') responses[code].description = code === '200' ? 'OK' : 'Error';
      }
    }
  }
  (doc.components ??= {}).securitySchemes = {
    apiKey: { type: 'http', scheme: 'bearer', description: 'only when the service is configured with API_KEYS; then every /v1 route needs it' },
  };
  const used = referenced(doc);
  const schemas = ((doc.components ??= {}).schemas ??= {});
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
  // fastify-type-provider-zod names request-side variants "<id>Input"; where no output variant
  // shares the name, use the plain id (clients in other languages get tidier type names)
  const renames = Object.keys(schemas)
    .map((name) => [name, name.replace(/Input$/, '')] as const)
    .filter(([name, plain]) => plain !== name && !(plain in schemas));
  if (!renames.length) return doc;
  let text = JSON.stringify({ paths: doc.paths, components: doc.components });
  for (const [name, plain] of renames) text = text.split(JSON.stringify(`#/components/schemas/${name}`)).join(JSON.stringify(`#/components/schemas/${plain}`));
  const { paths, components } = JSON.parse(text) as OpenAPIV3_1.Document;
  for (const [name, plain] of renames) {
    components!.schemas![plain] = components!.schemas![name];
    delete components!.schemas![name];
  }
  return { ...doc, paths, components } as OpenAPIV3_1.Document;
}

export default fp(
  async function openapiPlugin(app: FastifyInstance) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: OPENAPI_INFO,
        tags: [
          { name: 'generate', description: 'image generation' },
          { name: 'models', description: 'served models, limits and status' },
          { name: 'health', description: 'liveness and readiness probes' },
          { name: 'ops', description: 'metrics and documentation' },
        ],
      },
      transform: jsonSchemaTransform,
      transformObject: (arg) => augment(jsonSchemaTransformObject(arg) as OpenAPIV3_1.Document) as ReturnType<typeof jsonSchemaTransformObject>,
    });
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      uiConfig: { docExpansion: 'list', deepLinking: true, defaultModelsExpandDepth: 2, tryItOutEnabled: true },
      staticCSP: true,
    });
    app.get(
      '/openapi.json',
      { schema: { hide: true } },
      async (_req, reply) => reply.type('application/json').send(JSON.stringify(app.swagger(), null, 2)),
    );
  },
  { name: 'openapi' },
);

/** The document as `npm run openapi` writes it (stable key order, trailing newline). */
export function openapiText(app: FastifyInstance): string {
  return JSON.stringify(app.swagger(), null, 2) + '\n';
}
