/**
 * The OpenAPI document: valid OpenAPI 3.1 (@readme/openapi-parser), in sync with the code
 * (openapi/openapi.json and src/client/schema.ts are what `npm run openapi` generates now), served
 * at /openapi.json with Swagger UI at /docs, and complete: every route, request field, default,
 * limit, example and error response is documented. The generated client compiles (tsc --noEmit).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { compileErrors, validate } from '@readme/openapi-parser';
import type { FastifyInstance } from 'fastify';
import { generateClientTypes, generateOpenapi, OPENAPI_PATH, SCHEMA_TS_PATH } from '../../openapi/generate.js';
import { makeApp } from '../helpers.js';

const committed = readFileSync(OPENAPI_PATH, 'utf8');
const doc = JSON.parse(committed);
let app: FastifyInstance;

before(async () => {
  app = await makeApp();
});
after(() => app.close());

test('openapi/openapi.json is what the code generates (run `npm run openapi` after changing the API)', async () => {
  const generated = await generateOpenapi();
  assert.ok(generated === committed, 'openapi/openapi.json is stale: run `npm run openapi` and commit the result');
});

test('src/client/schema.ts is what openapi-typescript makes of openapi/openapi.json', async () => {
  const ts = await generateClientTypes(committed);
  assert.ok(ts === readFileSync(SCHEMA_TS_PATH, 'utf8'), 'src/client/schema.ts is stale: run `npm run openapi` and commit the result');
});

test('it is valid OpenAPI 3.1', async () => {
  assert.equal(doc.openapi, '3.1.0');
  const r = await validate(structuredClone(doc));
  assert.ok(r.valid, r.valid ? '' : compileErrors(r));
  // the validator is live: a broken document fails
  const broken = structuredClone(doc);
  delete broken.paths['/healthz'].get.responses['200'].description;
  assert.equal((await validate(broken)).valid, false);
});

test('served at /openapi.json (same document) and Swagger UI at /docs', async () => {
  const r = await app.inject('/openapi.json');
  assert.equal(r.statusCode, 200);
  assert.match(r.headers['content-type'] as string, /application\/json/);
  assert.deepEqual(JSON.parse(r.body), doc);
  const ui = await app.inject('/docs');
  const page = ui.statusCode === 302 ? await app.inject(ui.headers.location as string) : ui;
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /swagger-ui/i);
  const init = await app.inject('/docs/static/swagger-initializer.js');
  assert.equal(init.statusCode, 200);
});

const ROUTES: Array<[string, string]> = [
  ['get', '/'],
  ['get', '/healthz'],
  ['get', '/readyz'],
  ['get', '/metrics'],
  ['get', '/v1/models'],
  ['get', '/v1/models/{name}'],
  ['post', '/v1/generate'],
  ['post', '/v1/generate/image'],
  ['post', '/v1/generate/stream'],
];

test('every route is documented, and every documented path is a route', () => {
  const documented = Object.entries(doc.paths).flatMap(([p, item]) => Object.keys(item as object).map((m) => `${m} ${p}`));
  assert.deepEqual(documented.sort(), ROUTES.map(([m, p]) => `${m} ${p}`).sort());
  for (const [m, p] of ROUTES) assert.ok(app.hasRoute({ method: m.toUpperCase() as 'GET', url: p.replace('{name}', ':name') }), `${m} ${p} is a route`);
  const ids = new Set<string>();
  for (const [m, p] of ROUTES) {
    const op = doc.paths[p][m];
    assert.ok(op.operationId && !ids.has(op.operationId), `${m} ${p}: unique operationId`);
    ids.add(op.operationId);
    assert.ok(op.summary && op.description, `${m} ${p}: summary and description`);
    assert.ok(op.tags?.length, `${m} ${p}: tagged`);
    for (const [code, r] of Object.entries(op.responses as Record<string, { description: string; content?: object }>)) {
      assert.ok(!/X/.test(code), `${m} ${p}: explicit status codes, not ${code}`);
      assert.ok(r.description && r.description !== 'Default Response', `${m} ${p} ${code}: described`);
      assert.ok(r.content, `${m} ${p} ${code}: has a body schema`);
    }
  }
});

test('the generate request documents every field, its default, limits and examples', () => {
  const req = doc.components.schemas.GenerateRequest;
  assert.deepEqual(Object.keys(req.properties).sort(), ['class', 'debug', 'format', 'guidance', 'model', 'num_images', 'sampler', 'scale', 'seed', 'sigmas', 'steps']);
  for (const [k, p] of Object.entries(req.properties as Record<string, { description?: string }>)) assert.ok(p.description, `${k} is described`);
  assert.deepEqual(req.required, ['class']);
  assert.equal(req.additionalProperties, false);
  assert.equal(req.properties.num_images.default, 1);
  assert.equal(req.properties.format.default, 'png');
  assert.equal(req.properties.scale.default, 1);
  assert.equal(req.properties.scale.maximum, 8);
  assert.equal(req.properties.seed.maximum, 4294967295);
  assert.deepEqual(req.properties.sampler.enum, ['ode', 'consistency']);
  assert.ok(req.examples.length >= 2);
  assert.ok(doc.components.schemas.GenerateResponse.examples.length >= 1);
});

test('every error the generate operations can answer is documented with the Error schema', () => {
  for (const path of ['/v1/generate', '/v1/generate/image', '/v1/generate/stream']) {
    const op = doc.paths[path].post;
    for (const code of ['400', '401', '404', '406', '413', '415', '417', '429', '500', '503', '504']) {
      const r = op.responses[code];
      assert.ok(r, `${path} ${code} documented`);
      assert.equal(r.content['application/json'].schema.$ref, '#/components/schemas/Error');
      assert.ok(Object.keys(r.content['application/json'].examples).length >= 1, `${code} has an example`);
    }
    assert.ok(op.responses['503'].headers['Retry-After']);
    assert.ok(op.responses['429'].headers['Retry-After']);
  }
  assert.deepEqual(doc.components.schemas.Error.required, ['error', 'message']);
});

test('JSON and raw images are two operations, each with one kind of body (generators type them apart)', () => {
  const json = doc.paths['/v1/generate'].post.responses['200'];
  assert.deepEqual(Object.keys(json.content), ['application/json']);
  const image = doc.paths['/v1/generate/image'].post;
  assert.deepEqual(Object.keys(image.responses['200'].content).sort(), ['image/jpeg', 'image/png', 'image/webp']);
  for (const m of Object.values(image.responses['200'].content) as Array<{ schema: { format?: string } }>) assert.equal(m.schema.format, 'binary');
  // progress has its own operation too, answering server-sent events only
  assert.deepEqual(Object.keys(doc.paths['/v1/generate/stream'].post.responses['200'].content), ['text/event-stream']);
  assert.ok(image.responses['200'].headers['X-Seed']);
  assert.equal(image.requestBody.content['application/json'].schema.$ref, '#/components/schemas/GenerateImageRequest');
  assert.equal(doc.components.schemas.GenerateImageRequest.properties.num_images, undefined);
});

test('generated clients get a base URL, know which operations are open, and have an example for every path parameter', () => {
  assert.ok(doc.servers?.length && /^https?:\/\//.test(doc.servers[0].url), 'servers[0] is an absolute URL');
  for (const [m, p] of ROUTES) {
    const op = doc.paths[p][m];
    if (p.startsWith('/v1/')) assert.deepEqual(op.security, [{}, { apiKey: [] }], `${m} ${p}: key optional (only with API_KEYS)`);
    else assert.deepEqual(op.security, [], `${m} ${p}: open`);
    for (const param of op.parameters ?? []) if (param.in === 'path') assert.ok(param.example !== undefined || param.examples, `${m} ${p}: {${param.name}} has an example`);
  }
});

test('every status and header the edge sends is documented (417, 406, 503 shutting_down, Retry-After, X-Request-Id, X-RateLimit-*)', () => {
  for (const [m, p] of ROUTES) {
    const op = doc.paths[p][m];
    for (const code of ['406', '417', '500']) assert.ok(op.responses[code], `${m} ${p}: ${code}`);
    const drains = p !== '/healthz' && p !== '/metrics';
    assert.equal(Boolean(op.responses['503']?.content['application/json'].examples.shutting_down), drains, `${m} ${p}: 503 shutting_down`);
    for (const [code, r] of Object.entries(op.responses as Record<string, { headers?: Record<string, unknown> }>)) {
      assert.ok(r.headers?.['X-Request-Id'], `${m} ${p} ${code}: X-Request-Id`);
      if (p.startsWith('/v1/')) for (const h of ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']) assert.ok(r.headers?.[h], `${m} ${p} ${code}: ${h}`);
    }
    if (op.responses['503']?.content['application/json'].examples.shutting_down) assert.ok(op.responses['503'].headers['Retry-After'], `${m} ${p}: Retry-After on 503`);
  }
  // a model name the schema refuses is 400 on GET /v1/models/{name}
  assert.ok(doc.paths['/v1/models/{name}'].get.responses['400'].content['application/json'].examples.invalid_request);
  assert.ok(doc.paths['/readyz'].get.responses['503'].headers['Retry-After']);
});

test('the generated client compiles under tsc --noEmit', () => {
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.client.json', '--noEmit'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('the package exports the built client as jfdl-serve/client', { skip: existsSync('dist/client/index.js') ? false : 'not built (npm run build)' }, async () => {
  const mod = (await import('jfdl-serve/client' as string)) as Record<string, unknown>;
  for (const name of ['createJfdlClient', 'generate', 'generateImage', 'JfdlApiError']) assert.equal(typeof mod[name], 'function', name);
  assert.ok(existsSync('dist/client/index.d.ts'), 'typings built (declaration: true)');
});
