package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/baoshui/baoshui/server/auth"
)

// operationalRoutes are served outside routes() (see New) and are public.
var operationalRoutes = []route{
	{method: http.MethodGet, path: "/healthz", public: true},
	{method: http.MethodGet, path: "/readyz", public: true},
	{method: http.MethodGet, path: "/metrics", public: true},
}

// httpMethods are the path item keys that are operations.
var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true,
	"options": true, "head": true, "patch": true, "trace": true}

var ginParam = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)`)

// openapiPath converts a gin route pattern to an OpenAPI path template.
func openapiPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

// opKey names an operation: "get /api/v1/me".
func opKey(method, path string) string { return strings.ToLower(method) + " " + path }

// servedOps are the operations the server serves, keyed by opKey, with
// whether each is public.
func servedOps() map[string]bool {
	ops := map[string]bool{}
	for _, rt := range append(routes(), operationalRoutes...) {
		ops[opKey(rt.method, openapiPath(rt.path))] = rt.public
	}
	return ops
}

func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	return doc
}

// documentedOps returns every operation object in the document by opKey.
func documentedOps(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatalf("paths is %T, want an object", doc["paths"])
	}
	ops := map[string]map[string]any{}
	for p, item := range paths {
		pi, ok := item.(map[string]any)
		if !ok {
			t.Errorf("path %s is %T, want an object", p, item)
			continue
		}
		for m, o := range pi {
			if !httpMethods[m] {
				continue
			}
			op, ok := o.(map[string]any)
			if !ok {
				t.Errorf("%s %s is %T, want an object", m, p, o)
				continue
			}
			ops[opKey(m, p)] = op
		}
	}
	return ops
}

// resolvePointer follows a local JSON pointer ("#/components/schemas/X").
func resolvePointer(doc map[string]any, ref string) (any, bool) {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var cur any = doc
	for _, tok := range strings.Split(ptr, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// walkRefs calls fn with the location and value of every "$ref" in v.
func walkRefs(v any, at string, fn func(at, ref string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "$ref" {
				s, _ := e.(string)
				fn(at, s)
				continue
			}
			walkRefs(e, at+"/"+k, fn)
		}
	case []any:
		for _, e := range x {
			walkRefs(e, at+"/[]", fn)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIDocument(t *testing.T) {
	doc := loadOpenAPI(t)
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"version is 3.1.x", func(t *testing.T) {
			v, _ := doc["openapi"].(string)
			if !strings.HasPrefix(v, "3.1.") {
				t.Errorf("openapi = %q, want 3.1.x", v)
			}
		}},
		{"info has title and version", func(t *testing.T) {
			info, _ := doc["info"].(map[string]any)
			if info["title"] == nil || info["version"] == nil {
				t.Errorf("info = %v, want title and version", info)
			}
		}},
		{"components hold the shared schemas", func(t *testing.T) {
			for _, name := range []string{"Record", "Point", "LineString", "Item", "Photo", "Totals", "TotalsReport",
				"Page", "Unit", "User", "NewUser", "Device", "Tokens", "LoginRequest", "RefreshRequest",
				"CorrectionRequest", "VoidRequest", "AuditReport", "Problem"} {
				if _, ok := resolvePointer(doc, "#/components/schemas/"+name); !ok {
					t.Errorf("components.schemas.%s is missing", name)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

// TestOpenAPIRoutesDocumented fails when a served route has no operation.
func TestOpenAPIRoutesDocumented(t *testing.T) {
	documented := documentedOps(t, loadOpenAPI(t))
	served := servedOps()
	if len(served) != len(routes())+len(operationalRoutes) {
		t.Fatalf("routes() has duplicate method+path pairs")
	}
	for _, key := range sortedKeys(served) {
		t.Run(key, func(t *testing.T) {
			if _, ok := documented[key]; !ok {
				t.Errorf("%s is served but not documented in openapi.json", key)
			}
		})
	}
}

// TestOpenAPIDocumentedRoutesServed fails when the document describes an
// operation the server does not serve.
func TestOpenAPIDocumentedRoutesServed(t *testing.T) {
	documented := documentedOps(t, loadOpenAPI(t))
	served := servedOps()
	for _, key := range sortedKeys(documented) {
		t.Run(key, func(t *testing.T) {
			if _, ok := served[key]; !ok {
				t.Errorf("%s is documented but not in routes() nor operational", key)
			}
		})
	}
}

// TestOpenAPIRefsResolve checks that every $ref points at a components entry.
func TestOpenAPIRefsResolve(t *testing.T) {
	doc := loadOpenAPI(t)
	n := 0
	walkRefs(doc, "#", func(at, ref string) {
		n++
		if !strings.HasPrefix(ref, "#/components/") || strings.Count(ref, "/") != 3 {
			t.Errorf("%s: $ref %q is not #/components/<kind>/<name>", at, ref)
			return
		}
		if _, ok := resolvePointer(doc, ref); !ok {
			t.Errorf("%s: $ref %q does not resolve", at, ref)
		}
	})
	if n == 0 {
		t.Error("no $ref found: the document should share schemas and responses through components")
	}
}

// TestOpenAPISecurity checks that protected operations declare bearerAuth
// and public ones declare none.
func TestOpenAPISecurity(t *testing.T) {
	doc := loadOpenAPI(t)
	schemes, _ := resolvePointer(doc, "#/components/securitySchemes")
	sm, _ := schemes.(map[string]any)
	_, globalSecurity := doc["security"]
	documented := documentedOps(t, doc)
	served := servedOps()
	for _, key := range sortedKeys(served) {
		public := served[key]
		op, ok := documented[key]
		if !ok {
			continue // reported by TestOpenAPIRoutesDocumented
		}
		t.Run(key, func(t *testing.T) {
			raw, declared := op["security"]
			reqs, isList := raw.([]any)
			if declared && !isList {
				t.Fatalf("security is %T, want a list", raw)
			}
			if public {
				if globalSecurity && !declared {
					t.Errorf("public operation inherits the global security; declare \"security\": []")
				}
				if len(reqs) > 0 {
					t.Errorf("public operation declares security %v, want none", reqs)
				}
				return
			}
			if len(reqs) == 0 {
				t.Fatalf("protected operation declares no security")
			}
			for _, r := range reqs {
				req, _ := r.(map[string]any)
				if len(req) == 0 {
					t.Errorf("protected operation allows anonymous access (an empty requirement)")
				}
				for name := range req {
					if _, ok := sm[name]; !ok {
						t.Errorf("security scheme %q is not in components.securitySchemes", name)
					}
				}
				if _, ok := req["bearerAuth"]; !ok {
					t.Errorf("security requirement %v lacks bearerAuth", req)
				}
			}
		})
	}
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// TestOpenAPIOperations checks what every operation must carry: a unique
// operationId, a summary, tags, responses, declared path parameters, and
// problem responses as application/problem+json.
func TestOpenAPIOperations(t *testing.T) {
	doc := loadOpenAPI(t)
	documented := documentedOps(t, doc)
	ids := map[string]string{}
	deref := func(v any) map[string]any {
		m, _ := v.(map[string]any)
		if ref, ok := m["$ref"].(string); ok {
			r, _ := resolvePointer(doc, ref)
			m, _ = r.(map[string]any)
		}
		return m
	}
	for _, key := range sortedKeys(documented) {
		op := documented[key]
		t.Run(key, func(t *testing.T) {
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Error("no operationId")
			} else if other, dup := ids[id]; dup {
				t.Errorf("operationId %q is also used by %s", id, other)
			}
			ids[id] = key
			if s, _ := op["summary"].(string); s == "" {
				t.Error("no summary")
			}
			if tags, _ := op["tags"].([]any); len(tags) == 0 {
				t.Error("no tags")
			}
			params := map[string]bool{}
			list, _ := op["parameters"].([]any)
			for _, p := range list {
				pm := deref(p)
				if pm["in"] == "path" {
					name, _ := pm["name"].(string)
					params[name] = true
					if pm["required"] != true {
						t.Errorf("path parameter %v is not required", pm["name"])
					}
				}
			}
			_, path, _ := strings.Cut(key, " ")
			for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
				if !params[m[1]] {
					t.Errorf("path parameter {%s} is not declared", m[1])
				}
			}
			responses, _ := op["responses"].(map[string]any)
			if len(responses) == 0 {
				t.Fatal("no responses")
			}
			success := false
			for code, r := range responses {
				if strings.HasPrefix(code, "2") {
					success = true
				}
				if code < "400" || code == "default" {
					continue
				}
				content, _ := deref(r)["content"].(map[string]any)
				if _, ok := content["application/problem+json"]; !ok {
					t.Errorf("response %s is not application/problem+json", code)
				}
			}
			if !success {
				t.Error("no 2xx response")
			}
		})
	}
}

// TestEveryRouteNamesAPolicyAction ties the route table to the policy table
// test in package auth: each protected route asks the policy for one of the
// actions that test covers for every role, and public routes name none.
func TestEveryRouteNamesAPolicyAction(t *testing.T) {
	known := map[auth.Action]bool{}
	for _, a := range auth.Actions {
		known[a] = true
	}
	for _, r := range routes() {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			if r.public {
				if r.action != "" {
					t.Errorf("public route names action %q", r.action)
				}
				return
			}
			if !known[r.action] {
				t.Errorf("asks for action %q, which the policy table does not know", r.action)
			}
		})
	}
}
