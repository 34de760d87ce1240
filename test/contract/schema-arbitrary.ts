/**
 * fast-check arbitraries from the JSON Schemas (draft 2020-12) of the OpenAPI document: values
 * that satisfy a schema, for the schema-driven fuzz (./fuzz.ts). Hand-written because the
 * document uses a small subset of JSON Schema (objects, arrays, anyOf, enum/const, numeric and
 * length bounds, patterns, $ref) and fast-check has no converter of its own; the known JSON
 * Schema fakers draw from Math.random and cannot shrink or replay a seed.
 */
import fc from 'fast-check';

export type JsonSchema = Record<string, any>;

export interface SchemaContext {
  /** the document, for `#/components/...` references */
  doc: JsonSchema;
  /** per property name, values to draw instead of (or as well as) the schema's: known model names, class names */
  overrides?: Record<string, fc.Arbitrary<unknown>>;
  /** keep numbers small where a large value only costs time (steps, num_images, scale) */
  caps?: Record<string, number>;
}

export function resolveRef(doc: JsonSchema, s: JsonSchema): JsonSchema {
  let cur = s;
  while (cur && typeof cur.$ref === 'string') {
    const path = cur.$ref.replace(/^#\//, '').split('/');
    cur = path.reduce((o: JsonSchema, k: string) => o?.[k], doc);
  }
  return cur;
}

function numberArb(s: JsonSchema, integer: boolean, cap?: number): fc.Arbitrary<number> {
  const lo = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + (integer ? 1 : 1e-6) : -1e6);
  let hi = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - (integer ? 1 : 1e-6) : 1e6);
  if (cap !== undefined) hi = Math.min(hi, Math.max(lo, cap));
  const edges = [lo, hi].filter((v) => Number.isFinite(v));
  const body = integer
    ? fc.integer({ min: Math.ceil(Math.max(lo, -(2 ** 31))), max: Math.floor(Math.min(hi, 2 ** 32)) })
    : fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true });
  return fc.oneof({ arbitrary: body, weight: 4 }, { arbitrary: fc.constantFrom(...edges), weight: 1 });
}

function stringArb(s: JsonSchema): fc.Arbitrary<string> {
  if (s.pattern) {
    const min = s.minLength ?? 0;
    const max = s.maxLength ?? Infinity;
    return fc.stringMatching(new RegExp(s.pattern)).filter((x) => x.length >= min && x.length <= max);
  }
  return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 24, 64), unit: 'grapheme' });
}

/** An arbitrary of values valid under `schema`. */
export function valueOf(schema: JsonSchema, ctx: SchemaContext, name?: string): fc.Arbitrary<unknown> {
  const s = resolveRef(ctx.doc, schema);
  if (name && ctx.overrides?.[name]) return ctx.overrides[name];
  const examples: unknown[] = Array.isArray(s.examples) ? s.examples : [];
  const withExamples = (a: fc.Arbitrary<unknown>) =>
    examples.length ? fc.oneof({ arbitrary: a, weight: 3 }, { arbitrary: fc.constantFrom(...examples), weight: 1 }) : a;
  if (s.const !== undefined) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  if (Array.isArray(s.anyOf ?? s.oneOf)) return fc.oneof(...(s.anyOf ?? s.oneOf).map((x: JsonSchema) => valueOf(x, ctx, name)));
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  const cap = name ? ctx.caps?.[name] : undefined;
  switch (type) {
    case 'integer':
      return withExamples(numberArb(s, true, cap));
    case 'number':
      return withExamples(numberArb(s, false, cap));
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'string':
      return withExamples(stringArb(s));
    case 'array': {
      const max = Math.min(s.maxItems ?? 8, cap ?? 8);
      return fc.array(valueOf(s.items ?? {}, ctx, name), { minLength: s.minItems ?? 0, maxLength: Math.max(s.minItems ?? 0, max) });
    }
    case 'object': {
      const props: Record<string, JsonSchema> = s.properties ?? {};
      const required = new Set<string>(s.required ?? []);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) record[k] = valueOf(v, ctx, k);
      return withExamples(fc.record(record, { requiredKeys: Object.keys(props).filter((k) => required.has(k)) }));
    }
    default:
      return fc.jsonValue();
  }
}
