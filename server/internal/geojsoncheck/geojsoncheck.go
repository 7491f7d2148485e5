// Package geojsoncheck is test support: it checks GeoJSON with an
// independent RFC 7946 validator, @placemarkio/check-geojson from npm, run by
// node from testdata/npm (see testdata/npm/README.md). Install it with
// `make npm`, that is `npm ci --prefix testdata/npm`; without it the checks
// are skipped, unless BAOSHUI_REQUIRE_NODE=1 makes that a failure.
package geojsoncheck

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Dir returns the repository's testdata/npm directory, found by walking up
// from the working directory to the go.mod of the module.
func Dir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "npm")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod in %s or above", wd)
		}
		dir = parent
	}
}

// Tool returns the node binary and testdata/npm, skipping the
// test (or failing it under BAOSHUI_REQUIRE_NODE=1) when node or the
// installed check-geojson package is missing.
func Tool(t testing.TB) (node, dir string) {
	t.Helper()
	dir = Dir(t)
	var why string
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@placemarkio", "check-geojson", "package.json")); err != nil {
		why = "testdata/npm/node_modules/@placemarkio/check-geojson is not installed: run `make npm` (npm ci --prefix testdata/npm)"
	} else if node, err = exec.LookPath("node"); err != nil {
		why = "node is not on PATH: install Node.js (v18 or later), then run `make npm`"
	}
	if why != "" {
		if os.Getenv("BAOSHUI_REQUIRE_NODE") == "1" {
			t.Fatal(why + " (BAOSHUI_REQUIRE_NODE=1)")
		}
		t.Skip(why)
	}
	return node, dir
}

// Run runs testdata/npm/check-geojson.mjs on docs (name → raw
// GeoJSON text) and returns the issues it finds per name; an empty list means
// the document is valid. A document that is not valid UTF-8 (which RFC 8259
// requires and JSON encoding would silently repair) gets that issue without
// being sent. It fails the test if the script cannot run or its answer does
// not cover every document.
func Run(t testing.TB, docs map[string][]byte) map[string][]string {
	t.Helper()
	node, dir := Tool(t)
	issues := make(map[string][]string, len(docs))
	in := make(map[string]string, len(docs))
	for name, doc := range docs {
		if !utf8.Valid(doc) {
			issues[name] = []string{"the document is not valid UTF-8"}
			continue
		}
		in[name] = string(doc)
	}
	stdin, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "check-geojson.mjs"))
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node check-geojson.mjs: %v\nstderr:\n%s", err, stderr.String())
	}
	var out map[string][]string
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("check-geojson.mjs output is not a JSON object of issue lists: %v\n%s", err, stdout.String())
	}
	for name := range in {
		got, ok := out[name]
		if !ok {
			t.Fatalf("check-geojson.mjs gave no answer for %q", name)
		}
		issues[name] = got
	}
	return issues
}

// Check validates every document of docs (name → GeoJSON exactly as
// the server emitted it) against RFC 7946 with @placemarkio/check-geojson, an
// implementation independent of ours, and reports each invalid one with
// t.Errorf: its name, its issues with their positions, and its first 300
// bytes. It skips the test when node or testdata/npm/node_modules is missing
// (run `make npm`), unless BAOSHUI_REQUIRE_NODE=1, which makes that fatal.
func Check(t testing.TB, docs map[string][]byte) {
	t.Helper()
	issues := Run(t, docs)
	names := make([]string, 0, len(issues))
	for name := range issues {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if len(issues[name]) == 0 {
			continue
		}
		doc := docs[name]
		head, more := doc, ""
		if len(head) > 300 {
			head, more = head[:300], " …"
		}
		t.Errorf("GeoJSON %q is invalid (RFC 7946, @placemarkio/check-geojson):\n  - %s\ndocument (%d bytes): %s%s",
			name, strings.Join(issues[name], "\n  - "), len(doc), head, more)
	}
}
