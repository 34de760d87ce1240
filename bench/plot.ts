/**
 * The benchmark plot: an SVG drawn here (two panels, log axes) rendered to PNG by sharp, which
 * the service already depends on — no charting library. Left: throughput vs batch size (raw
 * onnxruntime, PyTorch; the service at saturation and PyTorch one-at-a-time as lines). Right:
 * latency vs load (p50 and p99 against concurrent clients) for step- and request-level batching.
 */
import sharp from 'sharp';

export interface PlotData {
  title: string;
  /** raw onnxruntime in the service's layout, and its label */
  raw: Array<[number, number]>;
  rawLabel: string;
  /** raw onnxruntime in the other layout (one session × all cores, or the reverse) */
  rawAlt?: Array<[number, number]>;
  rawAltLabel?: string;
  torch: Array<[number, number]>;
  torchLabel?: string;
  /** PyTorch in one single-threaded process per core */
  torchAlt?: Array<[number, number]>;
  torchAltLabel?: string;
  torchSingle?: number;
  service: number;
  step: Array<{ clients: number; p50: number; p99: number; ips: number }>;
  request: Array<{ clients: number; p50: number; p99: number; ips: number }>;
}

const W = 1200;
const H = 520;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Panel {
  x0: number;
  y0: number;
  w: number;
  h: number;
  xs: [number, number];
  ys: [number, number];
}
const lx = (p: Panel, v: number) => p.x0 + ((Math.log10(v) - Math.log10(p.xs[0])) / (Math.log10(p.xs[1]) - Math.log10(p.xs[0]))) * p.w;
const ly = (p: Panel, v: number) => p.y0 + p.h - ((Math.log10(v) - Math.log10(p.ys[0])) / (Math.log10(p.ys[1]) - Math.log10(p.ys[0]))) * p.h;

function ticks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) for (const m of [1, 2, 5]) {
    const v = m * 10 ** e;
    if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
  }
  return out;
}

function axes(p: Panel, xTicks: number[], xLabel: string, yLabel: string, title: string): string {
  let s = `<rect x="${p.x0}" y="${p.y0}" width="${p.w}" height="${p.h}" fill="#fff" stroke="#333"/>`;
  for (const t of ticks(p.ys[0], p.ys[1])) {
    const y = ly(p, t);
    s += `<line x1="${p.x0}" x2="${p.x0 + p.w}" y1="${y}" y2="${y}" stroke="#e5e5e5"/><text x="${p.x0 - 6}" y="${y + 4}" text-anchor="end" font-size="12">${t >= 1 ? t : t.toPrecision(1)}</text>`;
  }
  for (const t of xTicks) {
    const x = lx(p, t);
    s += `<line x1="${x}" x2="${x}" y1="${p.y0}" y2="${p.y0 + p.h}" stroke="#eee"/><text x="${x}" y="${p.y0 + p.h + 16}" text-anchor="middle" font-size="12">${t}</text>`;
  }
  s += `<text x="${p.x0 + p.w / 2}" y="${p.y0 + p.h + 36}" text-anchor="middle" font-size="13">${esc(xLabel)}</text>`;
  s += `<text transform="translate(${p.x0 - 48},${p.y0 + p.h / 2}) rotate(-90)" text-anchor="middle" font-size="13">${esc(yLabel)}</text>`;
  s += `<text x="${p.x0 + p.w / 2}" y="${p.y0 - 10}" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`;
  return s;
}

function series(p: Panel, pts: Array<[number, number]>, color: string, dash = '', marker = true): string {
  const ok = pts.filter(([x, y]) => x > 0 && y > 0 && Number.isFinite(y));
  if (!ok.length) return '';
  const d = ok.map(([x, y], i) => `${i ? 'L' : 'M'}${lx(p, x).toFixed(1)},${ly(p, y).toFixed(1)}`).join(' ');
  let s = `<path d="${d}" fill="none" stroke="${color}" stroke-width="2.2" ${dash ? `stroke-dasharray="${dash}"` : ''}/>`;
  if (marker) for (const [x, y] of ok) s += `<circle cx="${lx(p, x).toFixed(1)}" cy="${ly(p, y).toFixed(1)}" r="3.5" fill="${color}"/>`;
  return s;
}

function hline(p: Panel, y: number, color: string, label: string): string {
  if (!(y > 0)) return '';
  const yy = ly(p, y);
  return `<line x1="${p.x0}" x2="${p.x0 + p.w}" y1="${yy}" y2="${yy}" stroke="${color}" stroke-width="2" stroke-dasharray="7 4"/><text x="${p.x0 + p.w - 6}" y="${yy - 5}" text-anchor="end" font-size="12" fill="${color}">${esc(label)}</text>`;
}

function legend(x: number, y: number, items: Array<[string, string, string]>): string {
  return items
    .map(([label, color, dash], i) => `<line x1="${x}" x2="${x + 26}" y1="${y + i * 18}" y2="${y + i * 18}" stroke="${color}" stroke-width="2.2" ${dash ? `stroke-dasharray="${dash}"` : ''}/><text x="${x + 32}" y="${y + i * 18 + 4}" font-size="12">${esc(label)}</text>`)
    .join('');
}

export function plotSvg(d: PlotData): string {
  const allT = [...d.raw.map((r) => r[1]), ...(d.rawAlt ?? []).map((r) => r[1]), ...d.torch.map((r) => r[1]), ...(d.torchAlt ?? []).map((r) => r[1]), d.service, d.torchSingle ?? NaN].filter((v) => v > 0 && Number.isFinite(v));
  const left: Panel = { x0: 90, y0: 70, w: 440, h: 360, xs: [0.8, 160], ys: [10 ** Math.floor(Math.log10(Math.min(...allT) * 0.8)), 10 ** Math.ceil(Math.log10(Math.max(...allT) * 1.25))] };
  const lat = [...d.step, ...d.request].flatMap((r) => [r.p50, r.p99]).filter((v) => v > 0 && Number.isFinite(v));
  const right: Panel = { x0: 700, y0: 70, w: 440, h: 360, xs: [0.8, 80], ys: [10 ** Math.floor(Math.log10(Math.min(...lat) * 0.8)), 10 ** Math.ceil(Math.log10(Math.max(...lat) * 1.25))] };
  let s = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, Arial, sans-serif"><rect width="100%" height="100%" fill="#fafafa"/>`;
  s += `<text x="${W / 2}" y="28" text-anchor="middle" font-size="16" font-weight="bold">${esc(d.title)}</text>`;
  s += axes(left, [1, 2, 4, 8, 16, 32, 64, 128], 'batch size (images per network call)', 'images / s', 'Throughput vs batch size');
  s += series(left, d.raw, '#1f77b4');
  if (d.rawAlt) s += series(left, d.rawAlt, '#1f77b4', '6 4');
  s += series(left, d.torch, '#d62728');
  if (d.torchAlt?.length) s += series(left, d.torchAlt, '#d62728', '6 4');
  s += hline(left, d.service, '#2ca02c', `service at saturation ${d.service.toFixed(0)}/s`);
  if (d.torchSingle) s += hline(left, d.torchSingle, '#ff7f0e', `PyTorch one at a time ${d.torchSingle.toFixed(0)}/s`);
  s += legend(left.x0 + 12, left.y0 + 16, [
    [d.rawLabel, '#1f77b4', ''],
    ...(d.rawAlt ? ([[d.rawAltLabel ?? 'raw onnxruntime, other layout', '#1f77b4', '6 4']] as Array<[string, string, string]>) : []),
    [d.torchLabel ?? 'PyTorch reference sampler', '#d62728', ''],
    ...(d.torchAlt?.length ? ([[d.torchAltLabel ?? 'PyTorch, other layout', '#d62728', '6 4']] as Array<[string, string, string]>) : []),
  ]);
  s += axes(right, [1, 4, 16, 64], 'concurrent clients (mixed workload)', 'latency, ms', 'Latency vs load: step- vs request-level batching');
  const pts = (rows: PlotData['step'], k: 'p50' | 'p99') => rows.map((r) => [r.clients, r[k]] as [number, number]);
  s += series(right, pts(d.step, 'p50'), '#2ca02c');
  s += series(right, pts(d.step, 'p99'), '#2ca02c', '6 4');
  s += series(right, pts(d.request, 'p50'), '#9467bd');
  s += series(right, pts(d.request, 'p99'), '#9467bd', '6 4');
  s += legend(right.x0 + 12, right.y0 + 16, [
    ['step-level p50', '#2ca02c', ''],
    ['step-level p99', '#2ca02c', '6 4'],
    ['request-level p50', '#9467bd', ''],
    ['request-level p99', '#9467bd', '6 4'],
  ]);
  const last = (rows: PlotData['step']) => rows.at(-1);
  const st = last(d.step);
  const rq = last(d.request);
  if (st && rq) s += `<text x="${right.x0 + right.w / 2}" y="${H - 22}" text-anchor="middle" font-size="12">at ${st.clients} clients: step-level ${st.ips.toFixed(0)} images/s, request-level ${rq.ips.toFixed(0)} images/s</text>`;
  return s + '</svg>';
}

export async function renderPlot(path: string, d: PlotData): Promise<void> {
  await sharp(Buffer.from(plotSvg(d))).png().toFile(path);
}
