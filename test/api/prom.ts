/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: it throws on any
 * line outside the grammar, a sample without a preceding # TYPE of its family, a suffix the type
 * does not allow, a duplicate series, a bad label escape, or an inconsistent histogram (buckets
 * not cumulative, no +Inf bucket, +Inf ≠ _count, no _sum).
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SUFFIXES: Record<Family['type'], string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

function parseValue(s: string, line: number): number {
  // Prometheus reads values with Go's strconv.ParseFloat, which takes NaN and Inf in any case;
  // prom-client writes "Nan" for an event-loop-delay gauge that has no samples yet.
  if (/^nan$/i.test(s)) return NaN;
  if (/^\+?inf$/i.test(s)) return Infinity;
  if (/^-inf$/i.test(s)) return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`line ${line}: bad value ${JSON.stringify(s)}`);
  return Number(s);
}

function parseLabels(src: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 0;
  for (;;) {
    while (src[i] === ' ') i++;
    if (src[i] === '}') return { labels, rest: src.slice(i + 1) };
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(src.slice(i));
    if (!m) throw new Error(`line ${line}: bad label at ${JSON.stringify(src.slice(i, i + 20))}`);
    const key = m[1];
    i += m[0].length;
    let v = '';
    for (;;) {
      const c = src[i++];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = src[i++];
        if (e === 'n') v += '\n';
        else if (e === '\\' || e === '"') v += e;
        else throw new Error(`line ${line}: bad escape \\${e}`);
      } else if (c === '\n') throw new Error(`line ${line}: newline in label value`);
      else v += c;
    }
    if (key in labels) throw new Error(`line ${line}: duplicate label ${key}`);
    if (!LABEL.test(key)) throw new Error(`line ${line}: bad label name ${key}`);
    labels[key] = v;
    while (src[i] === ' ') i++;
    if (src[i] === ',') i++;
    else if (src[i] !== '}') throw new Error(`line ${line}: expected , or } in labels`);
  }
}

export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') throw new Error('exposition must end with a newline');
  lines.forEach((raw, idx) => {
    const n = idx + 1;
    const line = raw.trimEnd();
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`line ${n}: bad metric name ${name}`);
      let f = families.get(name);
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`line ${n}: bad type ${rest}`);
        if (f?.samples.length) throw new Error(`line ${n}: TYPE after samples of ${name}`);
        if (f && f.type !== 'untyped') throw new Error(`line ${n}: second TYPE for ${name}`);
        if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
        f.type = rest as Family['type'];
      } else {
        if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
        f.help = rest;
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{)?(.*)$/.exec(line);
    if (!m) throw new Error(`line ${n}: not a sample: ${JSON.stringify(line)}`);
    const name = m[1];
    let rest = m[3];
    let labels: Record<string, string> = {};
    if (m[2]) ({ labels, rest } = parseLabels(rest, n));
    const parts = rest.trim().split(/ +/);
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`line ${n}: bad sample tail ${JSON.stringify(rest)}`);
    const value = parseValue(parts[0], n);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`line ${n}: bad timestamp`);
    const family = [...families.values()].find((f) => SUFFIXES[f.type].some((s) => f.name + s === name));
    if (!family) throw new Error(`line ${n}: sample ${name} has no # TYPE family before it`);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(key)) throw new Error(`line ${n}: duplicate series ${key}`);
    seen.add(key);
    if (family.type === 'counter' && !(value >= 0)) throw new Error(`line ${n}: counter ${name} is ${value}`);
    family.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: Family) {
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { buckets: [] };
    groups.set(key, g);
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      g.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
    } else if (s.name.endsWith('_sum')) g.sum = s.value;
    else g.count = s.value;
  }
  for (const [key, g] of groups) {
    const b = [...g.buckets].sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < b.length; i++) if (b[i][1] < b[i - 1][1]) throw new Error(`${f.name}${key}: buckets not cumulative`);
    if (!b.length || b[b.length - 1][0] !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
    if (g.count === undefined || g.sum === undefined) throw new Error(`${f.name}${key}: _count or _sum missing`);
    if (b[b.length - 1][1] !== g.count) throw new Error(`${f.name}${key}: +Inf bucket ${b[b.length - 1][1]} ≠ _count ${g.count}`);
  }
}

/** The value of one series (labels must match exactly, le included for buckets); undefined when absent. */
export function value(fams: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of fams.values())
    for (const s of f.samples)
      if (s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
  return undefined;
}
