/**
 * Hostile HTTP requests as fast-check arbitraries: each case is the exact bytes of one
 * HTTP/1.1 request (sent on its own connection by harness.rawExchange), so nothing on the way
 * normalises the path, fixes the JSON or corrects a lying Content-Length.
 *
 * Attacks: wrong types, missing and extra fields, huge/negative/fractional numbers, numbers
 * JSON.parse turns into Infinity (1e999), NaN/Infinity as strings, unicode and long strings,
 * deep nesting, duplicate keys, prototype keys, non-object bodies, truncated JSON, invalid
 * UTF-8, oversize bodies, wrong/odd content types and Accept headers, Content-Length that lies,
 * chunked and smuggling-shaped framing, odd methods, and path tricks (`../`, encoded slashes,
 * NUL, overlong segments) on every route.
 */
import fc from 'fast-check';

/** JSON text inserted verbatim (numbers JSON.stringify cannot write, deep nesting). */
class Raw {
  constructor(readonly text: string) {}
}
/** An object written key by key, so keys may repeat and `__proto__` is a real key in the text. */
class Pairs {
  constructor(readonly pairs: Array<[string, unknown]>) {}
}

export function serialise(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Pairs) return `{${v.pairs.map(([k, x]) => `${JSON.stringify(k)}:${serialise(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(serialise).join(',')}]`;
  if (v && typeof v === 'object') return serialise(new Pairs(Object.entries(v)));
  return JSON.stringify(v) ?? 'null';
}

export interface HostileCase {
  kind: string;
  method: string;
  path: string;
  bytes: Buffer;
  /** the client closes its side before the declared body is complete: no response is fine */
  allowNoResponse: boolean;
  /** half-close the connection after sending (only for bodies that lie about their length) */
  halfClose: boolean;
  /** a short human description for failure reports */
  describe: string;
}

export interface TargetModels {
  guided: string;
  plain: string;
  classes: readonly string[];
  sigmaMax: number;
  sigmaMin: number;
  maxSteps: number;
  bodyLimit: number;
}

const NAUGHTY_STRINGS = [
  '',
  ' ',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e999',
  '0x10',
  '1_000',
  'null',
  'undefined',
  'true',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  '\u0000',
  '\ud800',
  '\ufeff',
  '🙂',
  'Ω≈ç√',
  '\u202e',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '${7*7}',
  '{{7*7}}',
  '%s%s%s%n',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  'tiny-rgb8/../../model.json',
];

const hostileScalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -0, -1, 1, 0.5, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 1e-300),
  fc.constantFrom<unknown>(new Raw('1e999'), new Raw('-1e999'), new Raw('1E400'), new Raw('-0.0'), new Raw('123456789012345678901234567890'), new Raw('1.0000000000000000000001'), new Raw('0e0')),
  fc.constantFrom<unknown>(...NAUGHTY_STRINGS),
  fc.integer(),
  fc.double(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(129, 1000, 5000, 20_000).map((n) => 'x'.repeat(n)),
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: hostileScalar, weight: 6 },
  { arbitrary: fc.array(hostileScalar, { maxLength: 4 }), weight: 1 },
  { arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), hostileScalar, { maxKeys: 3 }), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 20_000 }).map((d) => new Raw('['.repeat(d) + ']'.repeat(d))), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 5_000 }).map((d) => new Raw('{"a":'.repeat(d) + '1' + '}'.repeat(d))), weight: 1 },
);

/** A field: absent, a valid value, or a hostile one. */
function field<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: valid, weight: 12 }, { arbitrary: hostileValue, weight: 1 });
}

function bodyFields(t: TargetModels): fc.Arbitrary<Pairs> {
  const modelNames = fc.oneof(
    { arbitrary: fc.constantFrom(t.guided, t.plain), weight: 6 },
    {
      arbitrary: fc.constantFrom(
        `../${t.guided}`,
        `${t.guided}/../${t.guided}`,
        `..%2F${t.guided}`,
        `%2e%2e%2f${t.guided}`,
        `${t.guided}%00`,
        `${t.guided}\u0000`,
        t.guided.toUpperCase(),
        ` ${t.guided}`,
        `${t.guided}/`,
        '/etc/passwd',
        '..',
        '.',
        'model.json',
        `${t.guided}/model.json`,
        'x'.repeat(65),
      ),
      weight: 2,
    },
  );
  const descendingSigmas = fc
    .array(fc.double({ min: t.sigmaMin, max: t.sigmaMax, noNaN: true }), { minLength: 1, maxLength: t.maxSteps })
    .map((a) => [...new Set(a)].sort((x, y) => y - x));
  const fields = fc.record(
    {
      model: field(modelNames),
      class: field(fc.oneof(fc.integer({ min: 0, max: t.classes.length - 1 }), fc.constantFrom(...t.classes))),
      guidance: field(fc.oneof(fc.constant(1), fc.double({ min: 0, max: 4, noNaN: true }))),
      steps: field(fc.integer({ min: 1, max: t.maxSteps })),
      sigmas: fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: descendingSigmas, weight: 1 }, { arbitrary: hostileValue, weight: 1 }),
      sampler: field(fc.constantFrom('ode', 'consistency')),
      seed: field(fc.integer({ min: 0, max: 2 ** 32 - 1 })),
      num_images: field(fc.integer({ min: 1, max: 4 })),
      format: field(fc.constantFrom('png', 'webp', 'jpeg')),
      scale: field(fc.integer({ min: 1, max: 8 })),
      debug: field(fc.boolean()),
    },
    { requiredKeys: [] },
  );
  const extra = fc.array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('__proto__', 'constructor', 'prototype', 'guidence', 'Class', 'model ', '', 'class', 'seed', 'num_images'),
        fc.string({ unit: 'grapheme', maxLength: 12 }),
      ),
      hostileValue,
    ),
    { maxLength: 3 },
  );
  return fc.tuple(fields, extra).map(([f, e]) => {
    const pairs = Object.entries(f).filter(([, v]) => v !== undefined) as Array<[string, unknown]>;
    // extra keys may repeat a real field (duplicate keys) or add prototype keys
    return new Pairs([...pairs, ...e]);
  });
}

type BodySpec = { kind: string; text: Buffer };

function bodies(t: TargetModels): fc.Arbitrary<BodySpec> {
  const utf8 = (kind: string) => (s: string) => ({ kind, text: Buffer.from(s, 'utf8') });
  const obj = bodyFields(t).map(serialise);
  return fc.oneof(
    { arbitrary: obj.map(utf8('fields')), weight: 12 },
    { arbitrary: hostileValue.map(serialise).map(utf8('non-object')), weight: 2 },
    {
      arbitrary: fc.tuple(obj, fc.double({ min: 0, max: 1, noNaN: true })).map(([s, f]) => utf8('truncated')(s.slice(0, Math.floor(s.length * f)))),
      weight: 2,
    },
    { arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => ({ kind: 'binary', text: Buffer.from(b) })), weight: 1 },
    {
      // invalid UTF-8 inside a JSON string
      arbitrary: fc.constantFrom([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x28, 0xa1]).map((b) => ({
        kind: 'bad-utf8',
        text: Buffer.concat([Buffer.from(`{"model":"${t.guided}","class":"`), Buffer.from(b), Buffer.from('"}')]),
      })),
      weight: 1,
    },
    { arbitrary: obj.map((s) => utf8('bom')('\ufeff' + s)), weight: 1 },
    { arbitrary: fc.constantFrom('', ' ', '\n', 'null', '{}', '[]', '""', '{"class":0}{"class":1}', '{"class":0,}', "{'class':0}", '{class:0}').map(utf8('edge')), weight: 2 },
    {
      arbitrary: fc.integer({ min: t.bodyLimit + 1, max: t.bodyLimit * 3 }).map((n) => {
        const head = `{"model":"${t.guided}","class":0,"pad":"`;
        return utf8('oversize')(head + 'x'.repeat(Math.max(0, n - head.length - 2)) + '"}');
      }),
      weight: 1,
    },
  );
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'Application/Json;Charset=UTF-8',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json;;',
  'application/jsonx',
  'application/vnd.api+json',
  'text/json',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'image/png',
  '*/*',
  '',
  ';',
  'application/json, text/plain',
  'x'.repeat(2000),
];

const ACCEPTS = [
  'application/json',
  'image/png',
  'image/webp',
  'image/jpeg',
  'image/jpg',
  'image/gif',
  'image/*',
  '*/*',
  'text/html',
  'image/png;q=0',
  'image/png;q=abc, application/json;q=0.5',
  'image/png;q=NaN',
  'image/png;q=1e999',
  ',,,;;;',
  'x'.repeat(3000),
];

type Framing = 'exact' | 'short' | 'long' | 'none' | 'chunked' | 'bad-chunked' | 'cl+te' | 'two-cl';

export interface Head {
  method: string;
  path: string;
  contentType: string | null;
  accept: string | null;
  framing: Framing;
  extraHeaders: Array<[string, string]>;
}

function paths(t: TargetModels): fc.Arbitrary<{ method: string; path: string }> {
  const g = t.guided;
  const tricks = [
    '..',
    '.',
    '%2e%2e',
    '..%2F..%2Fetc%2Fpasswd',
    '%2e%2e%2f%2e%2e%2fmodel.json',
    `..%2F${g}%2Fmodel.json`,
    `${g}%2F..%2F${g}`,
    `${g}%2fmodel.json`,
    `${g}%00`,
    `${g}%00.json`,
    '%ZZ',
    '%',
    '%c0%ae%c0%ae%c0%af',
    '%252e%252e%252f',
    `${g}/..`,
    `${g}/../../../etc/passwd`,
    encodeURIComponent('🙂'),
    '%F0%9F',
    'a'.repeat(5000),
    '__proto__',
    'constructor',
    g,
    t.plain,
  ];
  return fc.oneof(
    { arbitrary: fc.constant({ method: 'POST', path: '/v1/generate' }), weight: 20 },
    { arbitrary: fc.constant({ method: 'POST', path: '/v1/generate/image' }), weight: 4 },
    {
      arbitrary: fc
        .constantFrom(
          '/v1/generate?x=1',
          '/v1/generate?model=../x',
          '/v1/generate/',
          '//v1/generate',
          '/v1//generate',
          '/v1/./generate',
          '/v1/../v1/generate',
          '/V1/GENERATE',
          '/v1/generate%00',
          '/v1/%67enerate',
          '/v1/generate;x',
          '/v1/generate#frag',
          '/v1/generate\\..\\',
          '*',
          'http://127.0.0.1/v1/generate',
          '/v1/generate?' + 'a=1&'.repeat(500),
        )
        .map((path) => ({ method: 'POST', path })),
      weight: 3,
    },
    {
      arbitrary: fc.constantFrom(...tricks).map((n) => ({ method: 'GET', path: `/v1/models/${n}` })),
      weight: 4,
    },
    {
      arbitrary: fc
        .constantFrom('/', '/v1/models', '/v1/models/', '/healthz', '/readyz', '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/v1/models/../../../etc/passwd', '/node_modules/', '/.env', '/models/tiny-rgb8/model.json')
        .map((path) => ({ method: 'GET', path })),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'CONNECT', 'FOO', 'get', 'GET'), fc.constantFrom('/v1/generate', '/v1/models', '/healthz'))
        .map(([method, path]) => ({ method, path })),
      weight: 2,
    },
  );
}

function heads(t: TargetModels): fc.Arbitrary<Head> {
  return fc
    .record({
      mp: paths(t),
      contentType: fc.oneof({ arbitrary: fc.constant('application/json'), weight: 8 }, { arbitrary: fc.constantFrom<string | null>(null, ...CONTENT_TYPES), weight: 3 }),
      accept: fc.oneof({ arbitrary: fc.constant<string | null>(null), weight: 6 }, { arbitrary: fc.constantFrom(...ACCEPTS), weight: 2 }),
      framing: fc.oneof(
        { arbitrary: fc.constant<Framing>('exact'), weight: 16 },
        { arbitrary: fc.constantFrom<Framing>('short', 'long', 'none', 'chunked', 'bad-chunked', 'cl+te', 'two-cl'), weight: 3 },
      ),
      extraHeaders: fc.oneof({ arbitrary: fc.constant<Array<[string, string]>>([]), weight: 3 }, { arbitrary: fc.array(
        fc.constantFrom<[string, string]>(
          ['content-type', 'text/plain'],
          ['x-forwarded-for', '127.0.0.1, ::1, evil'],
          ['host', 'evil.example'],
          ['expect', 'bogus'],
          ['x-long', 'y'.repeat(20_000)],
          ['transfer-encoding', 'gzip'],
          ['content-encoding', 'gzip'],
          ['connection', 'keep-alive'],
          ['x-seed', '1'],
          ['upgrade', 'websocket'],
          ['upgrade', 'h2c'],
        ),
        { minLength: 1, maxLength: 2 },
      ), weight: 1 }),
    })
    .map(({ mp, ...rest }) => ({ ...mp, ...rest }));
}

export function buildRequest(h: Head, body: Buffer): { bytes: Buffer; allowNoResponse: boolean } {
  const lines = [`${h.method} ${h.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  if (h.contentType !== null) lines.push(`Content-Type: ${h.contentType}`);
  if (h.accept !== null) lines.push(`Accept: ${h.accept}`);
  for (const [k, v] of h.extraHeaders) lines.push(`${k}: ${v}`);
  let payload = body;
  let allowNoResponse = false;
  switch (h.framing) {
    case 'exact':
      lines.push(`Content-Length: ${body.length}`);
      break;
    case 'short':
      // the rest of the body is read as the next (garbage) request on the connection
      lines.push(`Content-Length: ${Math.floor(body.length / 2)}`);
      break;
    case 'long':
      // the client half-closes before the declared length: the server cannot answer
      lines.push(`Content-Length: ${body.length + 10}`);
      allowNoResponse = true;
      break;
    case 'none':
      break;
    case 'chunked': {
      lines.push('Transfer-Encoding: chunked');
      const half = Math.floor(body.length / 2);
      const parts = [body.subarray(0, half), body.subarray(half)].filter((p) => p.length);
      payload = Buffer.concat([...parts.flatMap((p) => [Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]), Buffer.from('0\r\n\r\n')]);
      break;
    }
    case 'bad-chunked':
      lines.push('Transfer-Encoding: chunked');
      payload = Buffer.concat([Buffer.from('zz\r\n'), body, Buffer.from('\r\n0\r\n\r\n')]);
      allowNoResponse = true;
      break;
    case 'cl+te':
      lines.push(`Content-Length: ${body.length}`, 'Transfer-Encoding: chunked');
      break;
    case 'two-cl':
      lines.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`);
      break;
  }
  return { bytes: Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), payload]), allowNoResponse };
}

/** The arbitrary of hostile requests against a service holding the given models. */
export function hostileRequests(t: TargetModels): fc.Arbitrary<HostileCase> {
  return fc.tuple(heads(t), bodies(t)).map(([h, b]) => {
    const { bytes, allowNoResponse } = buildRequest(h, b.text);
    const halfClose = h.framing === 'long' || h.framing === 'bad-chunked';
    const preview = b.text.length > 200 ? `${b.text.subarray(0, 200).toString('utf8')}… (${b.text.length} bytes)` : b.text.toString('utf8');
    return {
      kind: `${h.method === 'POST' ? 'post' : h.method.toLowerCase()}:${b.kind}:${h.framing}`,
      method: h.method,
      path: h.path,
      bytes,
      allowNoResponse,
      halfClose,
      describe: `${h.method} ${h.path.length > 120 ? h.path.slice(0, 120) + '…' : h.path} ct=${JSON.stringify(h.contentType?.slice(0, 60))} accept=${JSON.stringify(h.accept?.slice(0, 60))} framing=${h.framing} extra=${JSON.stringify(h.extraHeaders.map(([k, v]) => [k, v.slice(0, 40)]))} body=${JSON.stringify(preview)}`,
    };
  });
}

/**
 * What every response to a hostile request must be: a status below 500; for 4xx a JSON object
 * `{error, message}` with non-empty strings and no stack trace (HEAD has no body); for 2xx a
 * JSON document or, for a raw-image Accept, an image. Returns the problem, or null.
 */
export function responseProblem(c: HostileCase, r: { status: number; headers: Record<string, string>; body: Buffer }): string | null {
  if (r.status >= 500) return `status ${r.status}: ${r.body.subarray(0, 300).toString()}`;
  if (r.status < 200) return `status ${r.status}`;
  const text = r.body.toString('utf8');
  if (/\bat \S+ \(|\.(?:ts|js|mjs):\d+:\d+|file:\/\/|\/work\/|\/home\//.test(text)) return `response leaks a stack trace or path: ${text.slice(0, 300)}`;
  if (c.method === 'HEAD') return null;
  const ct = r.headers['content-type'] ?? '';
  if (r.status >= 400) {
    if (!ct.startsWith('application/json')) return `status ${r.status} with content-type ${JSON.stringify(ct)}: ${text.slice(0, 200)}`;
    let j: any;
    try {
      j = JSON.parse(text);
    } catch {
      return `status ${r.status} body is not JSON: ${text.slice(0, 200)}`;
    }
    if (!j || typeof j !== 'object' || typeof j.message !== 'string' || !j.message || typeof j.error !== 'string' || !j.error)
      return `status ${r.status} body lacks {error, message}: ${text.slice(0, 200)}`;
    return null;
  }
  // 2xx pages other than the API (the playground at /, docs) may be HTML
  if (c.method !== 'POST') return null;
  if (ct.startsWith('image/')) return r.body.length > 0 ? null : 'empty image';
  if (!ct.startsWith('application/json')) return `status ${r.status} with content-type ${JSON.stringify(ct)}`;
  try {
    JSON.parse(text);
  } catch {
    return `status ${r.status} body is not JSON`;
  }
  return null;
}
