/**
 * Readable messages for schema violations. zod's own messages ("Invalid input", "Too big:
 * expected number to be <=256") name neither the field nor what would be accepted, and a limit
 * the route narrows at run time (num_images ≤ MAX_IMAGES) would read differently depending on
 * which check caught it. Here every message names the field and states the whole rule: "is
 * required", "must be within [1, 16]", "must be one of …", "unknown field "x"".
 */
import { z } from 'zod';

/** One issue as fastify-type-provider-zod hands it over (a zod issue in fastify's validation shape). */
export interface IssueLike {
  instancePath: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

/** Bounds a route narrows at run time, by field (e.g. num_images ≤ MAX_IMAGES). */
export type FieldLimits = Record<string, { min?: number; max?: number }>;

/** "a/0/b" path segments of an issue. */
function pathOf(issue: IssueLike): string[] {
  return issue.instancePath.split('/').filter(Boolean);
}

/** The request field a path names, e.g. ["sigmas", "2"] → "sigmas[2]" ("body" for the root). */
export function fieldName(parts: readonly string[]): string {
  if (!parts.length) return 'body';
  return parts.map((p, i) => (i > 0 && /^\d+$/.test(p) ? `[${p}]` : (i > 0 ? '.' : '') + p)).join('');
}

/** The inclusive range `[min, max]` in words. */
export function rangeMessage(field: string, min: number | undefined, max: number | undefined, integer = false): string {
  const what = integer ? 'an integer' : 'a number';
  if (min !== undefined && max !== undefined) return `${field} must be ${what} within [${min}, ${max}]`;
  if (max !== undefined) return `${field} must be ${what} ≤ ${max}`;
  if (min !== undefined) return `${field} must be ${what} ≥ ${min}`;
  return `${field} must be ${what}`;
}

/** The zod schema at `path` inside `schema` (through optional, default, nullable), or undefined. */
function schemaAt(schema: z.ZodType | undefined, path: readonly string[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (let i = 0; i <= path.length && s;) {
    const def = (s as z.ZodType)._zod.def as unknown as Record<string, unknown> & { type: string };
    if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') {
      s = def.innerType as z.ZodType;
      continue;
    }
    if (i === path.length) break;
    if (def.type === 'object') s = (def.shape as Record<string, z.ZodType>)[path[i]];
    else if (def.type === 'array') s = def.element as z.ZodType;
    else return undefined;
    i++;
  }
  return s;
}

function numberBounds(s: z.ZodType | undefined): { min?: number; max?: number; integer: boolean } | null {
  if (!(s instanceof z.ZodNumber)) return null;
  const safe = (v: number | null) => (v === null || !Number.isFinite(v) || Math.abs(v) >= Number.MAX_SAFE_INTEGER ? undefined : v);
  return { min: safe(s.minValue), max: safe(s.maxValue), integer: s.isInt };
}

function lengthBounds(s: z.ZodType | undefined): { min?: number; max?: number } {
  const def = s?._zod.def as { checks?: Array<{ _zod: { def: { check: string; minimum?: number; maximum?: number } } }> } | undefined;
  const out: { min?: number; max?: number } = {};
  for (const c of def?.checks ?? []) {
    const d = c._zod.def;
    if (d.check === 'min_length' && d.minimum !== undefined) out.min = d.minimum;
    if (d.check === 'max_length' && d.maximum !== undefined) out.max = d.maximum;
  }
  return out;
}

/** What a (branch of a) schema accepts, in words: "an integer within [0, 9]", "a string of 1–128 characters". */
function describeType(s: z.ZodType): string {
  const nb = numberBounds(s);
  if (nb) return rangeMessage('', nb.min, nb.max, nb.integer).replace(/^ must be /, '');
  const type = (s._zod.def as { type: string }).type;
  if (type === 'string') {
    const lb = lengthBounds(s);
    return lb.min !== undefined && lb.max !== undefined ? `a string of ${lb.min}–${lb.max} characters` : 'a string';
  }
  return EXPECTED[type] ?? type;
}

const quoteList = (xs: readonly unknown[]) => xs.map((x) => JSON.stringify(x)).join(', ');

function valueAt(body: unknown, path: readonly string[]): unknown {
  let v = body;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** JSON's name for a value's type, for "got a string". */
function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  return `a ${typeof v}`;
}

const EXPECTED: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'a boolean (true or false)',
  object: 'a JSON object',
  array: 'an array',
};

/**
 * `{field, message}` for a schema violation. `schema` is the zod schema that was applied (the
 * route's body or params), `input` what it was applied to, `limits` the route's run-time bounds.
 */
export function describeIssue(issue: IssueLike, schema: z.ZodType | undefined, input: unknown, limits: FieldLimits = {}): { field: string; message: string } {
  const parts = pathOf(issue);
  const params = issue.params ?? {};
  if (issue.keyword === 'unrecognized_keys' && Array.isArray(params.keys)) {
    const keys = params.keys as string[];
    const named = keys.find((k) => k !== '');
    return {
      field: named === undefined ? fieldName(parts) : fieldName([...parts, named]),
      message: `unknown field${keys.length > 1 ? 's' : ''} ${quoteList(keys)}${parts.length ? ` in ${fieldName(parts)}` : ''}`,
    };
  }
  const field = fieldName(parts);
  const value = valueAt(input, parts);
  if (parts.length && value === undefined) return { field, message: `${field} is required` };
  const at = schemaAt(schema, parts);
  const limit = limits[field];
  switch (issue.keyword) {
    case 'too_big':
    case 'too_small': {
      const nb = numberBounds(at);
      if (nb) return { field, message: rangeMessage(field, limit?.min ?? nb.min, limit?.max ?? nb.max, nb.integer) };
      const lb = lengthBounds(at);
      const unit = params.origin === 'string' ? 'characters' : 'values';
      if (lb.min !== undefined && lb.max !== undefined) return { field, message: `${field} must have ${lb.min}–${lb.max} ${unit}` };
      if (lb.max !== undefined) return { field, message: `${field} may have at most ${lb.max} ${unit}` };
      return { field, message: `${field} must have at least ${lb.min ?? 1} ${unit === 'values' ? 'value' : 'character'}${(lb.min ?? 1) > 1 ? 's' : ''}` };
    }
    case 'invalid_type': {
      const expected = String(params.expected ?? '');
      if (!parts.length) return { field, message: `the body must be a JSON object (got ${jsonType(value)})` };
      const nb = expected === 'int' || expected === 'number' ? numberBounds(at) : null;
      if (nb && typeof value === 'number') return { field, message: rangeMessage(field, limit?.min ?? nb.min, limit?.max ?? nb.max, nb.integer) };
      return { field, message: `${field} must be ${nb?.integer ? 'an integer' : (EXPECTED[expected] ?? expected)} (got ${jsonType(value)})` };
    }
    case 'invalid_value':
      if (Array.isArray(params.values)) return { field, message: `${field} must be one of ${quoteList(params.values as unknown[])}` };
      break;
    case 'invalid_union': {
      const options = ((at?._zod.def as { options?: z.ZodType[] } | undefined)?.options ?? []).map(describeType);
      if (options.length) return { field, message: `${field} must be ${options.join(' or ')} (got ${jsonType(value)})` };
      break;
    }
    case 'invalid_format':
      if (params.format === 'regex') return { field, message: `${field} must be ${issue.message ?? 'well-formed'}` };
      break;
  }
  return { field, message: `${field}: ${issue.message ?? 'is invalid'}` };
}
