// Bundles the console into ../dist/app, which the Go binary embeds:
// index.html, one JavaScript and one CSS file with content hashes in their
// names, and Leaflet's images. Run by `make console` after `npm ci`.
import * as esbuild from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, '..', 'dist', 'app');

await rm(out, { recursive: true, force: true });
await mkdir(path.join(out, 'assets'), { recursive: true });

const result = await esbuild.build({
  entryPoints: { app: path.join(here, 'src', 'main.js') },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  outdir: path.join(out, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  loader: { '.png': 'file', '.svg': 'file' },
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((f) => path.relative(out, f));
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
const html = (await readFile(path.join(here, 'index.html'), 'utf8'))
  .replace('%CSS%', '/' + css)
  .replace('%JS%', '/' + js);
await writeFile(path.join(out, 'index.html'), html);

let raw = 0;
let gz = 0;
for (const f of [...outputs, 'index.html']) {
  const b = await readFile(path.join(out, f));
  raw += b.length;
  gz += gzipSync(b, { level: 9 }).length;
}
const size = { files: outputs.length + 1, bytes: raw, gzip_bytes: gz };
await writeFile(path.join(out, 'size.json'), JSON.stringify(size) + '\n');
console.log(`console bundle: ${size.files} files, ${(raw / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzipped -> ${path.relative(process.cwd(), out)}`);
