/**
 * Schema-driven contract fuzzing: requests generated from openapi/openapi.json (every operation,
 * path parameters, bodies drawn from the request schemas, Accept headers from the documented
 * media types and beyond, and — unless `validOnly` — mutations that break the schema: a missing
 * required field, an unknown field, a wrong type, a number out of range, a body that is not
 * JSON, a content type that is not JSON, a path parameter the pattern refuses). Every answer is
 * checked against the document: its status is documented for the operation, its media type for
 * that status, its body validates against that media type's schema (ajv, JSON Schema 2020-12),
 * every header that is not generic HTTP or a security header is documented for that answer, and
 * every documented header present has a value its schema allows.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { resolveRef, valueOf, type JsonSchema } from './schema-arbitrary.js';

export const SPEC_PATH = 'openapi/openapi.json';
export const loadSpec = (): JsonSchema => JSON.parse(readFileSync(SPEC_PATH, 'utf8'));

/** Headers any HTTP answer may carry, and the security headers the README documents for every answer. */
const GENERIC_HEADERS = new Set([
  'content-type',
  'content-length',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'vary',
  'cache-control',
  'etag',
  'last-modified',
  'accept-ranges',
  'content-security-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
]);

export interface Operation {
  key: string;
  method: string;
  path: string;
  op: JsonSchema;
}

export function operations(doc: JsonSchema): Operation[] {
  return Object.entries(doc.paths as Record<string, Record<string, JsonSchema>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, op })),
  );
}

export interface Case {
  op: Operation;
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** schema-valid per the document (what a validating proxy forwards) */
  valid: boolean;
  what: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Values a request may use that the schema alone cannot know: the served models and their classes. */
export interface Known {
  models: string[];
  classes: string[];
}

const ALL_ACCEPTS = ['application/json', 'image/png', 'image/webp', 'image/jpeg', 'image/*', '*/*', 'text/html', 'text/plain', 'image/gif', 'application/xml'];

/** Requests for every operation of the document. */
export function cases(doc: JsonSchema, known: Known, validOnly: boolean): fc.Arbitrary<Case> {
  const ctx = {
    doc,
    overrides: {
      model: fc.oneof(
        { arbitrary: fc.constantFrom(...known.models), weight: 6 },
        { arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/), weight: 1 },
      ),
      class: fc.oneof(
        { arbitrary: fc.integer({ min: 0, max: known.classes.length - 1 }), weight: 4 },
        { arbitrary: fc.constantFrom(...known.classes), weight: 3 },
        { arbitrary: fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.string({ minLength: 1, maxLength: 12 })), weight: 1 },
      ),
      // 1 suits every graph (a plain CM takes nothing else); 0…4 is the fixture's guided range
      guidance: fc.oneof(
        { arbitrary: fc.constant(1), weight: 3 },
        { arbitrary: fc.double({ min: 0, max: 4, noNaN: true }), weight: 2 },
        { arbitrary: fc.double({ min: -100, max: 100, noNaN: true }), weight: 1 },
      ),
      steps: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 4 }), weight: 4 }, { arbitrary: fc.integer({ min: 1, max: 1000 }), weight: 1 }),
      // mostly absent (undefined is left out of the JSON), so steps alone decides as often as not
      sigmas: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 6 },
        { arbitrary: fc.constantFrom([80], [80, 2], [80, 10, 0.5]), weight: 3 },
        { arbitrary: fc.array(fc.double({ min: -1, max: 200, noNaN: true }), { minLength: 1, maxLength: 5 }), weight: 1 },
      ),
    },
    caps: { steps: 6, num_images: 4, scale: 4, sigmas: 5 },
  };
  const perOp = operations(doc).map((op) => {
    const pathParams = (op.op.parameters ?? []).filter((p: JsonSchema) => p.in === 'path');
    const params = fc.record(
      Object.fromEntries(
        pathParams.map((p: JsonSchema) => [
          p.name,
          p.name === 'name' ? fc.oneof(fc.constantFrom(...known.models), valueOf(p.schema, ctx)) : valueOf(p.schema, ctx),
        ]),
      ) as Record<string, fc.Arbitrary<unknown>>,
    );
    const bodySchema = op.op.requestBody?.content?.['application/json']?.schema;
    const body = bodySchema ? valueOf(bodySchema, ctx) : fc.constant(undefined);
    const okTypes = Object.keys(Object.entries(op.op.responses as Record<string, JsonSchema>).find(([c]) => c.startsWith('2'))?.[1]?.content ?? {});
    const accept = fc.oneof(
      { arbitrary: fc.constant<string | undefined>(undefined), weight: 3 },
      { arbitrary: fc.constantFrom<string | undefined>(...okTypes, '*/*'), weight: 3 },
      { arbitrary: fc.constantFrom<string | undefined>(...ALL_ACCEPTS), weight: 1 },
    );
    const valid = fc.record({ params, body, accept }).map(({ params, body, accept }): Case => {
      const url = op.path.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(String((params as Record<string, unknown>)[k])));
      const headers: Record<string, string> = accept ? { accept } : {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      return {
        op,
        url,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        valid: true,
        what: `${op.method} ${url} accept=${accept} ${body === undefined ? '' : JSON.stringify(body).slice(0, 200)}`,
      };
    });
    if (validOnly) return valid;
    const broken = fc
      .tuple(valid, fc.nat(), fc.constantFrom('drop-required', 'unknown-field', 'wrong-type', 'out-of-range', 'not-json', 'text-plain', 'bad-param'))
      .map(([c, pick, how]): Case => {
        const out = { ...c, headers: { ...c.headers }, valid: false, what: `${how}: ${c.what}` };
        const schema = bodySchema ? resolveRef(doc, bodySchema) : null;
        if (how === 'bad-param' && pathParams.length) out.url = c.url.replace(/[^/]+$/, ['%20x', '..', '-leading-dash', 'x'.repeat(65), '%E2%9C%93'][pick % 5]);
        else if (!schema || c.body === undefined) return { ...out, url: `${c.url}?unexpected=${pick % 7}`, valid: true, what: `query: ${c.what}` };
        else {
          const b = JSON.parse(c.body) as Record<string, unknown>;
          const props = Object.keys(schema.properties ?? {});
          const prop = props[pick % props.length];
          if (how === 'drop-required') delete b[(schema.required ?? [prop])[0]];
          else if (how === 'unknown-field') b[['colour', '', '__x', 'Class'][pick % 4]] = 1;
          else if (how === 'wrong-type') b[prop] = [true, 'text', [], {}, null][pick % 5];
          else if (how === 'out-of-range') b[prop] = [-1, 1e12, 0.5, -1e-9][pick % 4];
          out.body = JSON.stringify(b);
          if (how === 'not-json') out.body = c.body.slice(0, Math.max(1, c.body.length - 1 - (pick % 3)));
          if (how === 'text-plain') out.headers['content-type'] = 'text/plain';
        }
        return out;
      });
    return fc.oneof({ arbitrary: valid, weight: 3 }, { arbitrary: broken, weight: 2 });
  });
  return fc.oneof(...perOp);
}

const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false });
const validators = new Map<string, ReturnType<typeof ajv.compile>>();

function validatorFor(doc: JsonSchema, pointer: string) {
  let v = validators.get(pointer);
  if (!v) {
    if (!ajv.getSchema('spec')) ajv.addSchema({ $id: 'spec', components: doc.components }, 'spec');
    const schema = pointer.split('/').reduce((o: JsonSchema, k) => o[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
    // references inside resolve against the document's components
    v = ajv.compile(JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"spec#/components/')));
    validators.set(pointer, v);
  }
  return v;
}

const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** What is wrong with an answer, by the document; empty when it is as documented. */
export function problemsOf(doc: JsonSchema, c: Case, a: Answer, ignoreHeaders: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  const r = (c.op.op.responses as Record<string, JsonSchema>)[String(a.status)];
  if (!r) return [`undocumented status ${a.status}`];
  const type = (a.headers['content-type'] ?? '').split(';')[0].trim();
  const media = r.content?.[type];
  if (r.content && !media) out.push(`status ${a.status}: undocumented media type ${JSON.stringify(type)}`);
  if (media?.schema) {
    if (type === 'application/json') {
      let j: unknown;
      try {
        j = JSON.parse(a.body.toString('utf8'));
      } catch {
        out.push(`status ${a.status}: body is not JSON`);
      }
      if (j !== undefined) {
        const v = validatorFor(doc, `#/paths/${escape(c.op.path)}/${c.op.method.toLowerCase()}/responses/${a.status}/content/${escape(type)}/schema`.slice(2));
        if (!v(j)) out.push(`status ${a.status}: body does not match its schema: ${ajv.errorsText(v.errors)} — ${a.body.toString('utf8').slice(0, 200)}`);
      }
    } else if (!a.body.length) out.push(`status ${a.status}: empty ${type} body`);
  }
  const documented = new Map(Object.entries((r.headers ?? {}) as Record<string, JsonSchema>).map(([k, v]) => [k.toLowerCase(), v]));
  for (const [name, value] of Object.entries(a.headers)) {
    if (GENERIC_HEADERS.has(name) || ignoreHeaders.has(name)) continue;
    const h = documented.get(name);
    if (!h) {
      out.push(`status ${a.status}: undocumented header ${name}`);
      continue;
    }
    const s = h.schema ?? {};
    if (s.type === 'integer' && !(/^\d+$/.test(value) && Number(value) >= (s.minimum ?? -Infinity)))
      out.push(`header ${name}: ${JSON.stringify(value)} is not an integer ≥ ${s.minimum}`);
    if (s.pattern && !new RegExp(s.pattern).test(value)) out.push(`header ${name}: ${JSON.stringify(value)} does not match ${s.pattern}`);
  }
  return out;
}

export async function send(base: string, c: Case): Promise<Answer> {
  const res = await fetch(base + c.url, { method: c.op.method, headers: c.headers, body: c.body });
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  return { status: res.status, headers, body: Buffer.from(await res.arrayBuffer()) };
}

export interface FuzzReport {
  requests: number;
  valid: number;
  byStatus: Record<string, number>;
  /** answers by operation, then status */
  byOperation: Record<string, Record<string, number>>;
  problems: number;
  examples: Array<{ request: string; status: number; problems: string[] }>;
}

/**
 * Sends `n` generated requests to `base` (`concurrency` at a time) and checks every answer.
 * `inspect` may add problems of its own (a proxy's verdict) and name headers to ignore.
 */
export async function fuzz(
  base: string,
  doc: JsonSchema,
  known: Known,
  o: {
    n: number;
    seed: number;
    validOnly?: boolean;
    concurrency?: number;
    /** an API key the server takes: requests then carry it, a wrong one, or none, in turn */
    apiKey?: string;
    inspect?: (a: Answer) => { problems: string[]; ignore?: ReadonlySet<string> };
  },
): Promise<FuzzReport> {
  const report: FuzzReport = { requests: 0, valid: 0, byStatus: {}, byOperation: {}, problems: 0, examples: [] };
  const all = fc.sample(cases(doc, known, Boolean(o.validOnly)), { numRuns: o.n, seed: o.seed });
  let next = 0;
  await Promise.all(
    Array.from({ length: o.concurrency ?? 4 }, async () => {
      while (next < all.length) {
        const i = next++;
        const c = all[i];
        if (o.apiKey && i % 3 < 2) c.headers = { ...c.headers, authorization: `Bearer ${i % 3 ? o.apiKey : 'not-the-key-0123456789'}` };
        const a = await send(base, c);
        report.requests++;
        if (c.valid) report.valid++;
        report.byStatus[a.status] = (report.byStatus[a.status] ?? 0) + 1;
        const per = (report.byOperation[c.op.key] ??= {});
        per[a.status] = (per[a.status] ?? 0) + 1;
        const extra = o.inspect?.(a);
        const problems = [...(extra?.problems ?? []), ...problemsOf(doc, c, a, extra?.ignore)];
        if (problems.length) {
          report.problems++;
          if (report.examples.length < 20) report.examples.push({ request: c.what, status: a.status, problems });
        }
      }
    }),
  );
  return report;
}
