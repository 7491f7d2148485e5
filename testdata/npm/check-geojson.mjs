// check-geojson.mjs validates GeoJSON documents with @placemarkio/check-geojson,
// an RFC 7946 checker independent of our Go code. The Go tests use it through
// checkGeoJSON in server/api/geojsoncheck_test.go.
//
// Input (stdin): a JSON object mapping a document name to the document's raw
// GeoJSON text, as a string:
//
//     {"incidents.geojson": "{\"type\":\"FeatureCollection\",\"features\":[]}"}
//
// Output (stdout): a JSON object mapping every input name to the list of
// issues found, each a message followed by its position in the document; an
// empty list means the document is valid:
//
//     {"incidents.geojson": []}
//
// The exit status is 0 whenever the check could run, whatever the documents
// hold; it is non-zero only when this script itself fails (unreadable input,
// missing package), with the reason on stderr.
//
// Usage: node testdata/npm/check-geojson.mjs < docs.json

import { getIssues } from '@placemarkio/check-geojson';

/** Reads all of stdin as UTF-8 text. */
async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Returns the 1-based line and column of the UTF-16 offset in text, the unit
 * check-geojson reports positions in.
 */
function lineColumn(text, offset) {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(offset, 0), text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** Returns the issue messages for one document, positions included. */
function issuesOf(text) {
  if (typeof text !== 'string') {
    return [`the document must be given as a JSON string, got ${text === null ? 'null' : typeof text}`];
  }
  return getIssues(text).map((issue) => {
    if (typeof issue.from !== 'number') return issue.message;
    const { line, column } = lineColumn(text, issue.from);
    return `${issue.message} (line ${line}, column ${column}, offset ${issue.from})`;
  });
}

async function main() {
  const input = await readStdin();
  let docs;
  try {
    docs = JSON.parse(input);
  } catch (e) {
    throw new Error(`stdin is not JSON: ${e.message}`);
  }
  if (docs === null || typeof docs !== 'object' || Array.isArray(docs)) {
    throw new Error('stdin must be a JSON object mapping document names to GeoJSON text');
  }
  const out = {};
  for (const [name, text] of Object.entries(docs)) out[name] = issuesOf(text);
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`check-geojson.mjs: ${e && e.stack ? e.stack : e}\n`);
  process.exit(2);
});
