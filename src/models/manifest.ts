/**
 * zod schema of `model.json` (docs/model-contract.md; the JSON Schema twin is
 * schemas/model.schema.json). Cross-field rules the contract states are refined here too:
 * schedules descending inside [σ_min, σ_max], null_class = number of classes when present.
 */
import { z } from 'zod';

const positive = z.number().finite().positive();

export const GuidanceRangeSchema = z
  .object({ default: z.number().finite(), min: z.number().finite(), max: z.number().finite() })
  .refine((g) => g.min <= g.default && g.default <= g.max, { message: 'guidance must satisfy min <= default <= max' });

const sha256 = z.string().regex(/^[0-9a-f]{64}$/i, 'sha256 must be 64 hex digits');
const plainFile = (what: string) =>
  z
    .string()
    .min(1)
    .refine((f) => !f.includes('/') && !f.includes('\\') && f !== '..' && f !== '.', `${what} must be a plain file name inside the model folder`);

/** One file a graph keeps tensor data in (ONNX external data), beside it in the model folder. */
export const ExternalDataSchema = z.object({ file: plainFile('file').refine((f) => f !== 'model.json', 'file must not be model.json'), sha256 }).strict();

export const GraphEntrySchema = z.object({
  model: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'model names use letters, digits, ".", "_" and "-"'),
  kind: z.enum(['jfdl', 'cm']),
  file: plainFile('file'),
  sha256,
  null_class: z.number().int().nonnegative().nullable(),
  guidance: GuidanceRangeSchema,
  /** every external-data file of the graph; empty: the graph is self-contained */
  external_data: z.array(ExternalDataSchema).default([]),
  /** how the graph stores its weights; its inputs, output and computation are float32 either way */
  weights_dtype: z.enum(['float32', 'float16']).default('float32'),
});

export const ManifestSchema = z
  .object({
    schema_version: z.literal(1),
    name: z.string().min(1),
    description: z.string().default(''),
    image: z.object({
      channels: z.union([z.literal(1), z.literal(3), z.literal(4)]),
      height: z.number().int().min(1).max(4096),
      width: z.number().int().min(1).max(4096),
    }),
    classes: z.array(z.string().min(1)).min(1),
    sigma: z.object({ min: positive, max: positive, data: positive }),
    clamp: z.boolean().default(true),
    default_sampler: z.enum(['ode', 'consistency']).default('ode'),
    default_steps: z.number().int().min(1),
    max_steps: z.number().int().min(1).max(1000),
    schedules: z.record(z.string().regex(/^[1-9][0-9]*$/), z.array(positive).min(1)).default({}),
    graphs: z.array(GraphEntrySchema).min(1),
    provenance: z.record(z.string(), z.unknown()).optional(),
    metrics: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough()
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

/** Human-readable one-liner of a zod error, with paths ("graphs.0.sha256: …"). */
export function describeZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}
