/**
 * POST /v1/generate: validate (zod schema, then the chosen model's limits), hand the lanes to
 * the model's scheduler, encode the finished images with sharp, answer JSON with base64 images —
 * or, with `Accept: image/png|webp|jpeg` and one image, the raw image with the seed in X-Seed.
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorResponse, GenerateRequest, GenerateResponse, type GenerateRequestT } from '../api/schemas.js';
import type { Config } from '../config.js';
import { GuidanceUnsupported, InvalidField, ModelUnavailable, NotAcceptable, UnknownClass, UnknownModel } from '../errors.js';
import { encodeImage, FORMATS, MIME, type ImageFormat } from '../images/encode.js';
import type { ModelEntry, Registry } from '../models/registry.js';
import type { GenerateObserver } from '../plugins/metrics.js';
import { defaultSchedule, sigmasProblem } from '../sampler/schedule.js';
import type { SamplerKind } from '../sampler/step.js';

export interface ResolvedRequest {
  entry: ModelEntry;
  classIndex: number;
  guidance: number;
  sigmas: number[];
  sampler: SamplerKind;
  seed: number;
}

/** Model-dependent checks of a schema-valid body; throws the catalogue error naming the field. */
export function resolveRequest(body: GenerateRequestT, registry: Registry, cfg: Config): ResolvedRequest {
  const name = body.model ?? registry.defaultName();
  if (!name) throw new ModelUnavailable('(default)', 'no model is loaded');
  const entry = registry.get(name);
  if (!entry) throw new UnknownModel(name);
  if (entry.status !== 'ready' || !entry.scheduler) throw new ModelUnavailable(name, entry.status === 'loading' ? 'still loading' : (entry.error ?? 'failed to load'));
  const m = entry.manifest!;
  const g = entry.graph!;

  let classIndex: number;
  if (typeof body.class === 'number') {
    if (body.class >= m.classes.length) throw new UnknownClass(body.class, m.classes);
    classIndex = body.class;
  } else {
    classIndex = m.classes.indexOf(body.class);
    if (classIndex < 0) throw new UnknownClass(body.class, m.classes);
  }

  const guidance = body.guidance ?? g.guidance.default;
  if (guidance !== 1 && g.null_class === null) throw new GuidanceUnsupported(name);
  if (guidance < g.guidance.min || guidance > g.guidance.max)
    throw new InvalidField('guidance', `guidance must be within [${g.guidance.min}, ${g.guidance.max}] for model ${name}`);

  let sigmas: number[];
  if (body.sigmas) {
    if (body.steps !== undefined && body.steps !== body.sigmas.length)
      throw new InvalidField('steps', `steps (${body.steps}) must equal the number of sigmas (${body.sigmas.length}) or be omitted`);
    const why = sigmasProblem(body.sigmas, m.sigma, m.max_steps);
    if (why) throw new InvalidField('sigmas', `sigmas ${why}`);
    sigmas = [...body.sigmas];
  } else {
    const steps = body.steps ?? m.default_steps;
    if (steps > m.max_steps) throw new InvalidField('steps', `steps must be within [1, ${m.max_steps}] for model ${name}`);
    sigmas = defaultSchedule(steps, m.schedules, m.sigma);
  }
  if (body.num_images > cfg.MAX_IMAGES) throw new InvalidField('num_images', `num_images must be within [1, ${cfg.MAX_IMAGES}]`);
  const seed = body.seed ?? randomInt(0, 2 ** 32);
  return { entry, classIndex, guidance, sigmas, sampler: body.sampler ?? m.default_sampler, seed };
}

/** The image format an Accept header asks for as a raw response, or null for JSON. */
export function rawFormatFromAccept(accept: string | undefined): ImageFormat | null {
  if (!accept) return null;
  let best: { f: ImageFormat | null; q: number } = { f: null, q: 0 };
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qp ? Number(qp.slice(2)) : 1;
    let f: ImageFormat | null | undefined;
    if (type === 'application/json' || type === '*/*' || type === 'application/*') f = null;
    else if (type.startsWith('image/')) f = (FORMATS as readonly string[]).includes(type.slice(6)) ? (type.slice(6) as ImageFormat) : type === 'image/jpg' ? 'jpeg' : undefined;
    if (f === undefined || !(q > best.q)) continue;
    best = { f, q };
  }
  return best.f;
}

const generateRoute: FastifyPluginAsyncZod<{ registry: Registry; config: Config; metrics?: GenerateObserver }> = async (app, { registry, config, metrics }) => {
  app.post(
    '/v1/generate',
    {
      schema: {
        summary: 'Generate class-conditional images with optional JFDL guidance',
        body: GenerateRequest,
        response: { 200: GenerateResponse, '4xx': ErrorResponse, '5xx': ErrorResponse },
      },
    },
    async (req, reply) => {
      const t0 = performance.now();
      const body = req.body;
      const raw = rawFormatFromAccept(req.headers.accept);
      if (raw && body.num_images !== 1) throw new NotAcceptable(`a raw ${MIME[raw]} response holds one image; ask for application/json to get ${body.num_images}`);
      const r = resolveRequest(body, registry, config);
      const m = r.entry.manifest!;

      // A client that goes away frees its lanes: the response stream closing before we wrote
      // it means the connection is gone.
      const abort = new AbortController();
      const onClose = () => {
        if (!reply.raw.writableEnded) abort.abort();
      };
      reply.raw.once('close', onClose);

      const result = await r.entry.scheduler!.submit({
        classIndex: r.classIndex,
        nullClass: r.entry.graph!.null_class,
        guidance: r.guidance,
        sigmas: r.sigmas,
        sampler: r.sampler,
        seed: r.seed,
        numImages: body.num_images,
        debug: body.debug,
        signal: abort.signal,
      });
      const tEnc = performance.now();
      const format = raw ?? body.format;
      const encoded = await Promise.all(result.pixels.map((px) => encodeImage(px, m.image, format, body.scale)));
      const tEnd = performance.now();
      reply.raw.off('close', onClose);
      const timings = {
        queue: round(result.timings.queueMs),
        compute: round(result.timings.computeMs),
        encode: round(tEnd - tEnc),
        total: round(tEnd - t0),
      };
      metrics?.generated(r.entry.name, format, encoded.length, result.timings.queueMs, result.timings.computeMs, tEnd - tEnc);
      if (raw) {
        return reply
          .header('content-type', MIME[raw])
          .header('x-seed', String(r.seed))
          .header('x-model', r.entry.name)
          .header('server-timing', `queue;dur=${timings.queue}, compute;dur=${timings.compute}, encode;dur=${timings.encode}`)
          // fastify sends a Buffer as-is (no serializer); the cast only silences the JSON typing
          .send(encoded[0] as unknown as never);
      }
      return {
        model: r.entry.name,
        seed: r.seed,
        images: encoded.map((b, index) => ({ index, mime: MIME[format], b64: b.toString('base64') })),
        params: { class: r.classIndex, guidance: r.guidance, steps: r.sigmas.length, sigmas: r.sigmas, sampler: r.sampler },
        timings_ms: timings,
        ...(body.debug ? { debug: { request: result.request, calls: result.calls ?? [] } } : {}),
      };
    },
  );
};

const round = (ms: number) => Math.round(ms * 1000) / 1000;

export default generateRoute;
