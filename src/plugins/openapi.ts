/**
 * OpenAPI 3.1 document generated from the zod schemas that validate the requests (through
 * fastify-type-provider-zod's transform, JSON Schema draft 2020-12), served at GET /openapi.json,
 * with Swagger UI at /docs. Register it before the routes: @fastify/swagger collects routes as
 * they are added. `npm run openapi` writes the same document to openapi/openapi.json, and the
 * typed client (src/client/) is generated from that file.
 *
 * Each route documents itself in its own schema (operation id, tags, descriptions, responses
 * with headers and examples: src/api/responses.ts); this plugin only adds what belongs to the
 * whole document — info, servers, tags, the security scheme — and tidies component names.
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
};

/** Where a local instance listens (`npm start`); generated clients take it as their default base URL. */
export const OPENAPI_SERVERS: OpenAPIV3_1.ServerObject[] = [{ url: 'http://localhost:8080', description: 'a local instance (npm start); replace with your deployment' }];

type RouteResponses = Record<string, { headers?: Record<string, unknown>; content?: Record<string, { examples?: unknown }> }>;

/**
 * fastify-type-provider-zod's transform turns each route's zod schemas into JSON Schema but keeps
 * only the description and the body schemas of a response; the headers and examples each route
 * documents (src/api/responses.ts) are carried over here, unchanged.
 */
function transform(arg: Parameters<typeof jsonSchemaTransform>[0]): ReturnType<typeof jsonSchemaTransform> {
  const out = jsonSchemaTransform(arg);
  const raw = (arg.schema as { response?: RouteResponses } | undefined)?.response;
  const done = (out.schema as { response?: RouteResponses } | undefined)?.response;
  if (!raw || !done) return out;
  for (const [code, r] of Object.entries(raw)) {
    const target = done[code];
    if (!target) continue;
    if (r.headers && Object.keys(r.headers).length) target.headers = r.headers;
    for (const [type, m] of Object.entries(r.content ?? {})) if (m.examples && target.content?.[type]) target.content[type].examples = m.examples;
  }
  return out;
}

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

/** Drops unused components and tidies component names. */
function augment(doc: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
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
        servers: OPENAPI_SERVERS,
        components: {
          securitySchemes: {
            apiKey: { type: 'http', scheme: 'bearer', description: 'only when the service is configured with API_KEYS; then every /v1 route needs it' },
          },
        },
        tags: [
          { name: 'generate', description: 'image generation' },
          { name: 'models', description: 'served models, limits and status' },
          { name: 'health', description: 'liveness and readiness probes' },
          { name: 'ops', description: 'metrics and the playground page' },
        ],
      },
      transform,
      transformObject: (arg) => augment(jsonSchemaTransformObject(arg) as OpenAPIV3_1.Document) as ReturnType<typeof jsonSchemaTransformObject>,
    });
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      uiConfig: { docExpansion: 'list', deepLinking: true, defaultModelsExpandDepth: 2, tryItOutEnabled: true },
      // swagger-ui's own strict CSP (hashes of its inline scripts), less two directives: it would
      // make a browser fetch /docs's files over https from any host but localhost, and it allows framing
      staticCSP: true,
      transformStaticCSP: (header: string) =>
        header
          .replace(/\s*upgrade-insecure-requests;?/, '')
          .replace("frame-ancestors 'self'", "frame-ancestors 'none'")
          .trim(),
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
