// supercluster-bench.mjs times Mapbox's supercluster on a file of points, so
// that geo.ClusterIndex can be compared with it on the same data in the same
// run (TestClusterVersusSupercluster in geo/cluster_compare_test.go).
//
// Usage:
//
//     node --expose-gc supercluster-bench.mjs POINTS ZOOM W,S,E,N \
//         [RADIUS [EXTENT [MAXZOOM [MINPOINTS]]]] [--query=ZOOM@W,S,E,N ...] [--reps=N]
//
// POINTS is a binary file of little-endian float64 pairs (longitude,
// latitude), N = size/16 points. RADIUS, EXTENT, MAXZOOM and MINPOINTS
// default to 40, 512, 16 and 2, supercluster's own defaults. ZOOM and W,S,E,N
// are the query timed after loading; every --query adds one more, run against
// the same index. Each query is run --reps times (default 5).
//
// It prints one JSON line:
//
//     {"points":N, "load_ms":.., "query_ms":.., "clusters":.., "point_sum":..,
//      "heap_mb":.., "array_buffers_mb":.., "retained_mb":.., "queries":[..], ...}
//
// where load_ms times `new Supercluster(options).load(features)` once, and
// query_ms, clusters and point_sum describe the first query: query_ms is the
// median over the repetitions (query_first_ms the first, cold run),
// clusters the number of features getClusters returned (clusters and single
// points), and point_sum the sum of their point_count, 1 for a single point.
// "queries" lists the same for every query. heap_mb is the growth of
// process.memoryUsage().heapUsed over the load, measured after a forced
// garbage collection on both sides when node runs with --expose-gc (else
// "gc":false and the figure is noisy). supercluster's KD-trees live in
// ArrayBuffers outside the V8 heap: array_buffers_mb is their growth and
// retained_mb = heap_mb + array_buffers_mb. MB are 10^6 bytes.

import { readFileSync } from 'node:fs';
import Supercluster from 'supercluster';

function usage(msg) {
  process.stderr.write(`supercluster-bench.mjs: ${msg}\n` +
    'usage: node --expose-gc supercluster-bench.mjs POINTS ZOOM W,S,E,N ' +
    '[RADIUS [EXTENT [MAXZOOM [MINPOINTS]]]] [--query=ZOOM@W,S,E,N ...] [--reps=N]\n');
  process.exit(2);
}

function parseNumber(s, what) {
  const v = Number(s);
  if (s === undefined || s === '' || !Number.isFinite(v)) usage(`${what}: not a number: ${s}`);
  return v;
}

function parseBBox(s) {
  const parts = String(s).split(',');
  if (parts.length !== 4) usage(`bbox must be W,S,E,N: ${s}`);
  return parts.map((p) => parseNumber(p, 'bbox'));
}

function parseArgs(argv) {
  const positional = [];
  const queries = [];
  let reps = 5;
  for (const a of argv) {
    if (a.startsWith('--query=')) {
      const v = a.slice('--query='.length);
      const at = v.indexOf('@');
      if (at < 0) usage(`--query must be ZOOM@W,S,E,N: ${v}`);
      queries.push({ zoom: parseNumber(v.slice(0, at), 'query zoom'), bbox: parseBBox(v.slice(at + 1)) });
    } else if (a.startsWith('--reps=')) {
      reps = parseNumber(a.slice('--reps='.length), 'reps');
      if (!(reps >= 1)) usage('--reps must be at least 1');
    } else if (a.startsWith('--')) {
      usage(`unknown flag ${a}`);
    } else {
      positional.push(a);
    }
  }
  if (positional.length < 3 || positional.length > 7) usage('wrong number of arguments');
  const [path, zoom, bbox, radius, extent, maxZoom, minPoints] = positional;
  queries.unshift({ zoom: parseNumber(zoom, 'zoom'), bbox: parseBBox(bbox) });
  return {
    path,
    queries,
    reps,
    options: {
      radius: radius === undefined ? 40 : parseNumber(radius, 'radius'),
      extent: extent === undefined ? 512 : parseNumber(extent, 'extent'),
      maxZoom: maxZoom === undefined ? 16 : parseNumber(maxZoom, 'maxZoom'),
      minPoints: minPoints === undefined ? 2 : parseNumber(minPoints, 'minPoints'),
    },
  };
}

/** Reads the points file into GeoJSON Point features. */
function readFeatures(path) {
  const buf = readFileSync(path);
  if (buf.length % 16 !== 0) throw new Error(`${path}: size ${buf.length} is not a multiple of 16`);
  const n = buf.length / 16;
  const features = new Array(n);
  for (let i = 0; i < n; i++) {
    features[i] = {
      type: 'Feature',
      properties: {},
      geometry: { type: 'Point', coordinates: [buf.readDoubleLE(16 * i), buf.readDoubleLE(16 * i + 8)] },
    };
  }
  return features;
}

/** Returns the version of the supercluster package in node_modules. */
function superclusterVersion() {
  try {
    const url = new URL('./node_modules/supercluster/package.json', import.meta.url);
    return JSON.parse(readFileSync(url, 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

const hasGC = typeof globalThis.gc === 'function';

function memory() {
  if (hasGC) {
    globalThis.gc();
    globalThis.gc();
  }
  return process.memoryUsage();
}

const ms = (t0, t1) => Number(t1 - t0) / 1e6;
const mb = (bytes) => bytes / 1e6;
const round = (v, digits = 3) => Number(v.toFixed(digits));

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const features = readFeatures(args.path);

  const before = memory();
  const t0 = process.hrtime.bigint();
  const index = new Supercluster(args.options).load(features);
  const t1 = process.hrtime.bigint();
  const after = memory();

  const results = args.queries.map(({ zoom, bbox }) => {
    const times = [];
    let clusters = 0;
    let pointSum = 0;
    let realClusters = 0;
    for (let r = 0; r < args.reps; r++) {
      const q0 = process.hrtime.bigint();
      const got = index.getClusters(bbox, zoom);
      const q1 = process.hrtime.bigint();
      times.push(ms(q0, q1));
      if (r === 0) {
        clusters = got.length;
        for (const f of got) {
          if (f.properties && f.properties.cluster) {
            pointSum += f.properties.point_count;
            realClusters++;
          } else {
            pointSum += 1;
          }
        }
      }
    }
    return {
      zoom,
      bbox,
      query_ms: round(median(times)),
      query_first_ms: round(times[0]),
      clusters,
      multi_point_clusters: realClusters,
      point_sum: pointSum,
    };
  });

  const heap = after.heapUsed - before.heapUsed;
  const arrayBuffers = after.arrayBuffers - before.arrayBuffers;
  const first = results[0];
  const out = {
    points: features.length,
    load_ms: round(ms(t0, t1)),
    query_ms: first.query_ms,
    clusters: first.clusters,
    point_sum: first.point_sum,
    heap_mb: round(mb(heap), 1),
    array_buffers_mb: round(mb(arrayBuffers), 1),
    retained_mb: round(mb(heap + arrayBuffers), 1),
    features_heap_mb: round(mb(before.heapUsed), 1),
    gc: hasGC,
    reps: args.reps,
    options: args.options,
    queries: results,
    node: process.version,
    supercluster: superclusterVersion(),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

try {
  main();
} catch (e) {
  process.stderr.write(`supercluster-bench.mjs: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
}
