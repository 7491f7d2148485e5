// Small SVG charts without a charting library: a time series with its
// min–max range and water-quality class bands, and a bar chart by month.
import { svg } from './dom.js';

export const classColor = {
  I: '#8fd3fe',
  II: '#42a5f5',
  III: '#66bb6a',
  IV: '#fdd835',
  V: '#ffa726',
  '劣V': '#ef5350',
};
const classNames = ['I', 'II', 'III', 'IV', 'V'];

// classBands turns a parameter's limits for one water body into bands
// [{cls, lo, hi}] over [yMin, yMax].
export function classBands(limits, yMin, yMax) {
  if (!limits || !limits.classes) return [];
  const bands = [];
  const cs = limits.classes;
  if (limits.direction === 'at_most') {
    let lo = yMin;
    cs.forEach((c, i) => {
      const hi = c[1];
      if (hi == null) return;
      if (hi > lo) bands.push({ cls: classNames[i], lo, hi: Math.min(hi, yMax) });
      lo = Math.max(lo, hi);
    });
    if (lo < yMax) bands.push({ cls: '劣V', lo, hi: yMax });
  } else if (limits.direction === 'at_least') {
    let hi = yMax;
    cs.forEach((c, i) => {
      const lo = c[0];
      if (lo == null) return;
      if (lo < hi) bands.push({ cls: classNames[i], lo: Math.max(lo, yMin), hi });
      hi = Math.min(hi, lo);
    });
    if (hi > yMin) bands.push({ cls: '劣V', lo: yMin, hi });
  } else if (limits.direction === 'range') {
    const [lo, hi] = cs[0];
    if (yMin < lo) bands.push({ cls: '劣V', lo: yMin, hi: lo });
    bands.push({ cls: 'I', lo: Math.max(lo, yMin), hi: Math.min(hi, yMax) });
    if (yMax > hi) bands.push({ cls: '劣V', lo: hi, hi: yMax });
  }
  return bands.filter((b) => b.hi > b.lo);
}

function niceTicks(lo, hi, n) {
  const span = hi - lo || 1;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

// seriesChart draws buckets [{start, min, max, mean}] of one parameter.
export function seriesChart({ buckets, limits, width = 760, height = 300, fmtTime, fmtNum, unit = '' }) {
  const pad = { l: 56, r: 48, t: 12, b: 28 };
  const W = width - pad.l - pad.r;
  const H = height - pad.t - pad.b;
  const xs = buckets.map((b) => Date.parse(b.start));
  let yMin = Math.min(...buckets.map((b) => b.min));
  let yMax = Math.max(...buckets.map((b) => b.max));
  // Show the nearest class limits above and below the data.
  const edges = [];
  for (const c of (limits && limits.classes) || []) for (const v of c) if (v != null) edges.push(v);
  const above = edges.filter((e) => e >= yMax).sort((a, b) => a - b)[0];
  const below = edges.filter((e) => e <= yMin).sort((a, b) => b - a)[0];
  if (above != null) yMax = above;
  if (below != null) yMin = below;
  const span = yMax - yMin || Math.abs(yMax) || 1;
  yMin -= span * 0.08;
  yMax += span * 0.08;
  if (yMin < 0 && Math.min(...buckets.map((b) => b.min)) >= 0) yMin = 0;
  const x0 = xs[0];
  const x1 = xs.length > 1 ? xs[xs.length - 1] : x0 + 1;
  const X = (x) => pad.l + ((x - x0) / (x1 - x0 || 1)) * W;
  const Y = (y) => pad.t + H - ((y - yMin) / (yMax - yMin)) * H;

  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img' });
  for (const b of classBands(limits, yMin, yMax)) {
    root.append(
      svg('rect', { x: pad.l, width: W, y: Y(b.hi), height: Math.max(0, Y(b.lo) - Y(b.hi)), fill: classColor[b.cls], 'fill-opacity': 0.22, class: 'band', 'data-class': b.cls }),
      svg('text', { x: pad.l + W + 4, y: (Y(b.hi) + Y(b.lo)) / 2 + 4, class: 'bandlabel' }, b.cls),
    );
  }
  for (const v of niceTicks(yMin, yMax, 5)) {
    root.append(
      svg('line', { x1: pad.l, x2: pad.l + W, y1: Y(v), y2: Y(v), class: 'grid' }),
      svg('text', { x: pad.l - 6, y: Y(v) + 4, 'text-anchor': 'end', class: 'tick' }, fmtNum(v)),
    );
  }
  const nx = Math.min(6, xs.length);
  for (let i = 0; i < nx; i++) {
    const x = x0 + ((x1 - x0) * i) / Math.max(1, nx - 1);
    root.append(svg('text', { x: X(x), y: height - 8, 'text-anchor': 'middle', class: 'tick' }, fmtTime(x)));
  }
  if (xs.length) {
    const upper = buckets.map((b, i) => `${X(xs[i])},${Y(b.max)}`);
    const lower = buckets.map((b, i) => `${X(xs[i])},${Y(b.min)}`).reverse();
    root.append(svg('polygon', { points: [...upper, ...lower].join(' '), class: 'range' }));
    root.append(svg('polyline', { points: buckets.map((b, i) => `${X(xs[i])},${Y(b.mean)}`).join(' '), class: 'mean', 'data-points': buckets.length }));
  }
  root.append(svg('text', { x: 4, y: pad.t + 10, class: 'tick' }, unit));
  return root;
}

// barChart draws one bar per label; values are numbers.
export function barChart({ labels, values, width = 760, height = 240, fmtNum, color = '#1565c0' }) {
  const pad = { l: 56, r: 8, t: 12, b: 28 };
  const W = width - pad.l - pad.r;
  const H = height - pad.t - pad.b;
  const max = Math.max(1, ...values);
  const ticks = niceTicks(0, max, 4);
  const top = Math.max(max, ticks[ticks.length - 1]);
  const Y = (v) => pad.t + H - (v / top) * H;
  const bw = W / labels.length;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart bars', role: 'img' });
  for (const v of ticks) {
    root.append(svg('line', { x1: pad.l, x2: pad.l + W, y1: Y(v), y2: Y(v), class: 'grid' }), svg('text', { x: pad.l - 6, y: Y(v) + 4, 'text-anchor': 'end', class: 'tick' }, fmtNum(v)));
  }
  labels.forEach((l, i) => {
    const x = pad.l + i * bw;
    root.append(
      svg('rect', { x: x + bw * 0.15, width: bw * 0.7, y: Y(values[i]), height: Y(0) - Y(values[i]), fill: color, class: 'bar', 'data-value': values[i] }, svg('title', {}, `${l}: ${fmtNum(values[i])}`)),
      svg('text', { x: x + bw / 2, y: height - 8, 'text-anchor': 'middle', class: 'tick' }, l),
    );
  });
  return root;
}
