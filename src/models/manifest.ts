/**
 * zod schema of `model.json` (docs/model-contract.md). schemas/model.schema.json is generated from
 * it (`npm run openapi`; test/models/manifest-schema.test.ts fails when it is stale), so the
 * service, the JSON Schema the training pipeline validates its exports with, and the document
 * cannot drift apart. Every object is strict (an unknown key is an error, not silently dropped)
 * except `provenance` and `metrics`, which are free-form. Cross-field rules the contract states
 * are refined here too: schedules descending inside [σ_min, σ_max], null_class = number of
 * classes when present.
 */
import { z } from 'zod';
import { GRAPH_KINDS, MODEL_NAME_PATTERN, SAMPLERS } from '../enums.js';

const positive = z.number().positive();

export const GuidanceRangeSchema = z
  .strictObject({ default: z.number(), min: z.number(), max: z.number() })
  .refine((g) => g.min <= g.default && g.default <= g.max, { message: 'guidance must satisfy min <= default <= max' });

const SHA256 = /^[0-9a-fA-F]{64}$/;
// a plain file name inside the model folder: no separator, not "." or ".."
const PLAIN_FILE = /^(?!\.{1,2}$)[^/\\]+$/;

/** One file a graph keeps tensor data in (ONNX external data), beside it in the model folder. */
export const ExternalDataSchema = z.strictObject({
  // a plain file name, and not the manifest (a pattern, so the generated JSON Schema says it too)
  file: z.string().regex(/^(?!\.{1,2}$)(?!model\.json$)[^/\\]+$/, 'file must be a plain file name inside the model folder, not model.json'),
  sha256: z.string().regex(SHA256, 'sha256 must be 64 hex digits'),
});

export const GraphEntrySchema = z.strictObject({
  model: z.string().regex(MODEL_NAME_PATTERN, 'model names use letters, digits, ".", "_" and "-" (at most 64, starting with a letter or digit)'),
  kind: z.enum(GRAPH_KINDS),
  file: z.string().regex(PLAIN_FILE, 'file must be a plain file name inside the model folder'),
  sha256: z.string().regex(SHA256, 'sha256 must be 64 hex digits'),
  null_class: z.number().int().nonnegative().nullable(),
  guidance: GuidanceRangeSchema,
  external_data: z
    .array(ExternalDataSchema)
    .default([])
    .describe('every file the graph keeps tensor data in (ONNX external data), beside it in the model folder; absent or empty: the graph is self-contained'),
  weights_dtype: z
    .enum(['float32', 'float16'])
    .default('float32')
    .describe("precision the graph stores its weights in; the graph's inputs, output and computation are float32 either way"),
});

export const ManifestSchema = z
  .strictObject({
    schema_version: z.literal(1),
    name: z.string().min(1),
    description: z.string().default(''),
    image: z.strictObject({
      channels: z.literal([1, 3, 4]),
      height: z.number().int().min(1).max(4096),
      width: z.number().int().min(1).max(4096),
    }),
    classes: z.array(z.string().min(1)).min(1),
    sigma: z.strictObject({ min: positive, max: positive, data: positive }),
    clamp: z.boolean().default(true),
    default_sampler: z.enum(SAMPLERS).default('ode'),
    default_steps: z.number().int().min(1),
    max_steps: z.number().int().min(1).max(1000),
    schedules: z.record(z.string().regex(/^[1-9][0-9]*$/), z.array(positive).min(1)).default({}),
    graphs: z.array(GraphEntrySchema).min(1),
    provenance: z.record(z.string(), z.unknown()).optional(),
    metrics: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((m, ctx) => {
    if (!(m.sigma.min < m.sigma.max)) ctx.addIssue({ code: 'custom', path: ['sigma'], message: 'sigma.min must be < sigma.max' });
    if (m.default_steps > m.max_steps) ctx.addIssue({ code: 'custom', path: ['default_steps'], message: 'default_steps must be <= max_steps' });
    for (const [k, list] of Object.entries(m.schedules)) {
      if (list.length !== Number(k)) ctx.addIssue({ code: 'custom', path: ['schedules', k], message: `schedule for ${k} steps has ${list.length} values` });
      list.forEach((s, i) => {
        if (s < m.sigma.min || s > m.sigma.max) ctx.addIssue({ code: 'custom', path: ['schedules', k, i], message: `σ ${s} outside [sigma.min, sigma.max]` });
        if (i > 0 && !(s < list[i - 1])) ctx.addIssue({ code: 'custom', path: ['schedules', k, i], message: 'schedule must be strictly descending' });
      });
    }
    const names = new Set<string>();
    const graphFiles = new Set(m.graphs.map((g) => g.file));
    m.graphs.forEach((g, i) => {
      const seen = new Set<string>();
      g.external_data.forEach((d, j) => {
        if (graphFiles.has(d.file)) ctx.addIssue({ code: 'custom', path: ['graphs', i, 'external_data', j, 'file'], message: `${d.file} is a graph file, not external data` });
        if (seen.has(d.file)) ctx.addIssue({ code: 'custom', path: ['graphs', i, 'external_data', j, 'file'], message: `${d.file} is listed twice` });
        seen.add(d.file);
      });
      if (names.has(g.model)) ctx.addIssue({ code: 'custom', path: ['graphs', i, 'model'], message: `duplicate graph model name ${g.model}` });
      names.add(g.model);
      if (g.null_class !== null && g.null_class !== m.classes.length)
        ctx.addIssue({ code: 'custom', path: ['graphs', i, 'null_class'], message: `null_class must be null or ${m.classes.length} (the number of classes)` });
      if (g.null_class === null && (g.guidance.min !== 1 || g.guidance.max !== 1 || g.guidance.default !== 1))
        ctx.addIssue({ code: 'custom', path: ['graphs', i, 'guidance'], message: 'a graph without null_class cannot be guided: guidance must be {default: 1, min: 1, max: 1}' });
    });
  });

export type Manifest = z.output<typeof ManifestSchema>;
export type GraphEntry = z.output<typeof GraphEntrySchema>;

/**
 * The JSON Schema (draft 2020-12) of model.json as a file names it: the input side of the zod
 * schema (a field with a default is optional). Cross-field rules (superRefine) have no JSON
 * Schema form; the service checks them when it loads a model.
 */
export function manifestJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(ManifestSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return {
    $schema,
    $id: 'https://jfdl-serve.local/schemas/model.schema.json',
    title: 'jfdl-serve model manifest (model.json)',
    description:
      "A model folder's manifest: see docs/model-contract.md. Generated from the service's zod schema (src/models/manifest.ts) by `npm run openapi`; do not edit.",
    ...rest,
  };
}

/** Human-readable one-liner of a zod error, with paths ("graphs.0.sha256: …"). */
export function describeZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}
