/**
 * POST /v1/generate and POST /v1/generate/image: validate (zod schema, then the chosen model's
 * limits), hand the lanes to the model's scheduler, encode the finished images with sharp, and
 * answer JSON with base64 images — or, on /v1/generate/image, one raw image (its type from
 * `format` or Accept) with the seed in X-Seed. Two operations rather than one negotiated by
 * Accept, so each has one body type: typed clients and client generators see JSON as JSON and
 * an image as bytes.
 */
import { randomInt } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { imageFormatFor } from '../api/negotiate.js';
import { json, media, operation, type HeaderDoc } from '../api/responses.js';
import { GenerateImageRequest, GenerateRequest, GenerateResponse, type GenerateImageRequestT, type GenerateRequestT } from '../api/schemas.js';
import { rangeMessage } from '../api/validation.js';
import type { Config } from '../config.js';
import { IMAGE_MIME, IMAGE_MIME_TYPES, type ImageFormat, type SamplerName } from '../enums.js';
import { GuidanceUnsupported, InternalError, InvalidField, ModelUnavailable, ServiceError, UnknownClass, UnknownModel, type ErrorKind } from '../errors.js';
import { encodeImage } from '../images/encode.js';
import type { ModelEntry, Registry } from '../models/registry.js';
import type { GenerateObserver } from '../plugins/metrics.js';
import { defaultSchedule, sigmasProblem } from '../sampler/schedule.js';
import type { JobResult } from '../scheduler/index.js';

export interface ResolvedRequest {
  entry: ModelEntry;
  classIndex: number;
  guidance: number;
  sigmas: number[];
  sampler: SamplerName;
  seed: number;
}

/** Model-dependent checks of a schema-valid body; throws the catalogue error naming the field. */
export function resolveRequest(body: GenerateRequestT | GenerateImageRequestT, numImages: number, registry: Registry, cfg: Config): ResolvedRequest {
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
  if (guidance < g.guidance.min || guidance > g.guidance.max) throw new InvalidField('guidance', `guidance must be within [${g.guidance.min}, ${g.guidance.max}] for model ${name}`);

  let sigmas: number[];
  if (body.sigmas) {
    if (body.steps !== undefined && body.steps !== body.sigmas.length)
      throw new InvalidField('steps', `steps (${body.steps}) must equal the number of sigmas (${body.sigmas.length}) or be omitted`);
    const why = sigmasProblem(body.sigmas, m.sigma, m.max_steps);
    if (why) throw new InvalidField('sigmas', why);
    sigmas = [...body.sigmas];
  } else {
    const steps = body.steps ?? m.default_steps;
    if (steps > m.max_steps) throw new InvalidField('steps', `${rangeMessage('steps', 1, m.max_steps, true)} for model ${name}`);
    sigmas = defaultSchedule(steps, m.schedules, m.sigma);
  }
  if (numImages > cfg.MAX_IMAGES) throw new InvalidField('num_images', rangeMessage('num_images', 1, cfg.MAX_IMAGES, true));
  // a slow model's queue holds fewer images than MAX_IMAGES (src/scheduler/limits.ts): a larger
  // request could never be admitted
  const most = entry.limits?.maxImages ?? cfg.MAX_IMAGES;
  if (numImages > most) throw new InvalidField('num_images', `${rangeMessage('num_images', 1, most, true)} for model ${name} (its queue holds ${entry.limits?.queueLimit} images)`);
  const seed = body.seed ?? randomInt(0, 2 ** 32);
  return { entry, classIndex, guidance, sigmas, sampler: body.sampler ?? m.default_sampler, seed };
}

/** The errors both operations can answer beyond the edge's own (src/api/responses.ts adds those). */
const GENERATE_ERRORS: ErrorKind[] = [
  'invalid_request',
  'invalid_json',
  'unknown_class',
  'guidance_unsupported',
  'unknown_model',
  'body_too_large',
  'unsupported_media_type',
  'model_unavailable',
  'queue_full',
  'engine_unavailable',
  'cancelled',
  'deadline_exceeded',
];

const RAW_HEADERS: Record<string, HeaderDoc> = {
  'X-Seed': { description: 'the seed used (the request\'s, or the random one drawn)', type: 'string', pattern: '^[0-9]+$' },
  'X-Model': { description: 'the model graph that generated the image', type: 'string' },
  'Server-Timing': { description: 'queue, compute and encode durations in ms, e.g. `queue;dur=0.4, compute;dur=3.1, encode;dur=0.2`', type: 'string' },
};

/** One image as bytes, for the document and for the negotiation of ./plugins/negotiation.ts. */
const imageBody = (mime: string) => z.string().meta({ format: 'binary', contentMediaType: mime, description: `one ${mime} image` });

const round = (ms: number) => Math.round(ms * 1000) / 1000;

const SSE_DOC = [
  'Server-sent events (text/event-stream), each `event: NAME` and `data: JSON`:',
  '`progress` {done, total} (lane steps done of images × steps) after every network call that advanced the request;',
  'then `result` (the POST /v1/generate response) or `error` ({error, message, field?}).',
].join(' ');
const SSE_EXAMPLE = 'event: progress\ndata: {"done":0,"total":2}\n\nevent: progress\ndata: {"done":1,"total":2}\n\nevent: progress\ndata: {"done":2,"total":2}\n\nevent: result\ndata: {"model":"digits16","seed":7,"images":[…],…}\n\n';

/** The POST /v1/generate answer (also the data of the stream's `result` event). */
function jsonBody(g: Generated, debug: boolean) {
  return {
    model: g.r.entry.name,
    seed: g.r.seed,
    images: g.encoded.map((b, index) => ({ index, mime: IMAGE_MIME[g.format], b64: b.toString('base64') })),
    params: { class: g.r.classIndex, guidance: g.r.guidance, steps: g.r.sigmas.length, sigmas: g.r.sigmas, sampler: g.r.sampler },
    timings_ms: g.timings,
    ...(debug ? { debug: { request: g.result.request, calls: g.result.calls ?? [] } } : {}),
  };
}

interface Generated {
  r: ResolvedRequest;
  result: JobResult;
  encoded: Buffer[];
  format: ImageFormat;
  timings: { queue: number; compute: number; encode: number; total: number };
}

const generateRoute: FastifyPluginAsyncZod<{ registry: Registry; config: Config; metrics?: GenerateObserver }> = async (app, { registry, config, metrics }) => {
  /** Resolve, run through the scheduler, encode. */
  function run(req: FastifyRequest, reply: FastifyReply, body: GenerateRequestT | GenerateImageRequestT, numImages: number, format: ImageFormat, debug: boolean): Promise<Generated> {
    const t0 = performance.now();
    return execute(req, reply, resolveRequest(body, numImages, registry, config), body.scale, numImages, format, debug, t0);
  }

  /** Run a resolved request through the scheduler and encode its images; `onProgress` sees its lane steps. */
  async function execute(
    req: FastifyRequest,
    reply: FastifyReply,
    r: ResolvedRequest,
    scale: number,
    numImages: number,
    format: ImageFormat,
    debug: boolean,
    t0: number,
    onProgress?: (done: number, total: number) => void,
  ): Promise<Generated> {
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
      numImages,
      debug,
      signal: abort.signal,
      onProgress,
    });
    const tEnc = performance.now();
    const encoded = await Promise.all(result.pixels.map((px) => encodeImage(px, m.image, format, scale)));
    const tEnd = performance.now();
    reply.raw.off('close', onClose);
    metrics?.generated(r.entry.name, format, encoded.length, result.timings.queueMs, result.timings.computeMs, tEnd - tEnc);
    req.generated = { model: r.entry.name, images: encoded.length, steps: r.sigmas.length };
    return {
      r,
      result,
      encoded,
      format,
      timings: { queue: round(result.timings.queueMs), compute: round(result.timings.computeMs), encode: round(tEnd - tEnc), total: round(tEnd - t0) },
    };
  }

  // one info line per generate request: the default log level shows the traffic, not just errors
  const logLine = async (req: FastifyRequest, reply: FastifyReply) => {
    const g = req.generated;
    req.log.info(
      { model: g?.model ?? (req.body as { model?: string } | undefined)?.model, status: reply.statusCode, ...(g ? { images: g.images, steps: g.steps } : { error: req.errorKind }), ms: round(reply.elapsedTime) },
      'generate',
    );
  };

  app.post(
    '/v1/generate',
    {
      schema: {
        body: GenerateRequest,
        ...operation({
          operationId: 'generate',
          tags: ['generate'],
          summary: 'Generate class-conditional images with optional JFDL guidance',
          description: [
            'Generates `num_images` images of one class, returned as base64 in JSON. Each image is a lane of the step-level',
            'batcher: lanes of all requests, step counts, samplers and guidance scales share network calls. With guidance ≠ 1 a',
            'lane costs two rows per step (its class and the null class). Image *i* depends only on `(seed, i)` and the',
            'parameters. For one image as raw bytes, use `POST /v1/generate/image`.',
          ].join(' '),
          api: true,
          ok: { 200: json(GenerateResponse, 'The generated images, the seed, the parameters after defaults, and timings') },
          errors: GENERATE_ERRORS,
        }),
      },
      config: { limits: { num_images: { min: 1, max: config.MAX_IMAGES } }, notAcceptableHint: 'POST /v1/generate/image returns one raw image' },
      onResponse: logLine,
    },
    async (req, reply) => {
      const body = req.body;
      return jsonBody(await run(req, reply, body, body.num_images, body.format, body.debug), body.debug);
    },
  );

  app.post(
    '/v1/generate/stream',
    {
      schema: {
        body: GenerateRequest,
        ...operation({
          operationId: 'generateStream',
          tags: ['generate'],
          summary: 'Generate with progress, as server-sent events',
          description: [
            'The same generation as `POST /v1/generate`, answered as a `text/event-stream`: a `progress` event after every',
            'network call that advanced the request — `{"done": lane steps done, "total": images × steps}` — then one `result`',
            'event whose data is the `POST /v1/generate` JSON, or one `error` event with the `{error, message, field?}` body',
            'when the request fails after the stream began (a bad request fails before it, with its usual status). For',
            'requests that take a while: a large model on a CPU runs seconds per step.',
          ].join(' '),
          api: true,
          ok: { 200: media({ 'text/event-stream': z.string().meta({ description: SSE_DOC, examples: [SSE_EXAMPLE] }) }, 'Server-sent events: progress, then result or error') },
          errors: GENERATE_ERRORS,
        }),
      },
      onResponse: logLine,
    },
    async (req, reply) => {
      const body = req.body;
      const t0 = performance.now();
      // a bad request is refused before the stream starts, with its usual status
      const r = resolveRequest(body, body.num_images, registry, config);
      const events = new PassThrough();
      const send = (event: string, data: unknown) => events.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      // no-cache (the usual header of an event stream) rather than no-store: Chromium reports a no-store
      // fetch stream read to its end as aborted (microsoft/playwright#42742); neither is ever cached, a POST
      reply.header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-cache');
      void reply.send(events);
      const total = body.num_images * r.sigmas.length;
      send('progress', { done: 0, total });
      execute(req, reply, r, body.scale, body.num_images, body.format, body.debug, t0, (done) => send('progress', { done, total })).then(
        (g) => events.end(`event: result\ndata: ${JSON.stringify(jsonBody(g, body.debug))}\n\n`),
        (e: unknown) => {
          req.log.warn({ err: e }, 'generate stream failed after it began');
          const err = e instanceof ServiceError ? e : new InternalError('internal error', e);
          req.errorKind = err.kind;
          events.end(`event: error\ndata: ${JSON.stringify(err.toJSON())}\n\n`);
        },
      );
      return reply;
    },
  );

  app.post(
    '/v1/generate/image',
    {
      schema: {
        body: GenerateImageRequest,
        ...operation({
          operationId: 'generateImage',
          tags: ['generate'],
          summary: 'Generate one image, returned as raw bytes',
          description: [
            'The same generation as `POST /v1/generate` for one image, answered as the encoded image itself with the seed in',
            '`X-Seed`. Its type is `format` when given (it must be acceptable under Accept, else 400), otherwise the image type',
            'Accept prefers, png without a preference.',
          ].join(' '),
          api: true,
          ok: { 200: media(Object.fromEntries(IMAGE_MIME_TYPES.map((t) => [t, imageBody(t)])), 'One encoded image', RAW_HEADERS) },
          errors: GENERATE_ERRORS,
        }),
      },
      onResponse: logLine,
    },
    async (req, reply) => {
      const body = req.body;
      const format = imageFormatFor(req.headers.accept, body.format);
      const g = await run(req, reply, body, 1, format, false);
      return (
        reply
          .header('content-type', IMAGE_MIME[format])
          .header('x-seed', String(g.r.seed))
          .header('x-model', g.r.entry.name)
          .header('server-timing', `queue;dur=${g.timings.queue}, compute;dur=${g.timings.compute}, encode;dur=${g.timings.encode}`)
          // fastify sends a Buffer as-is (no serializer); the cast only silences the JSON typing
          .send(g.encoded[0] as unknown as never)
      );
    },
  );
};

declare module 'fastify' {
  interface FastifyRequest {
    /** what a generate request produced, for its log line */
    generated?: { model: string; images: number; steps: number };
  }
}

export default generateRoute;
