package api

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/baoshui/baoshui/server/auth"
)

// operational routes are registered outside the route table.
var operational = map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true}

func documented(t *testing.T) (map[string]map[string]any, map[string]any) {
	t.Helper()
	var doc struct {
		OpenAPI    string                    `json:"openapi"`
		Paths      map[string]map[string]any `json:"paths"`
		Components map[string]any            `json:"components"`
	}
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	return doc.Paths, doc.Components
}

// openapiPath turns gin's /records/:id into OpenAPI's /records/{id}.
func openapiPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func TestOpenAPIDocumentsEveryRouteAndNothingElse(t *testing.T) {
	paths, _ := documented(t)
	served := map[string]bool{}
	public := map[string]bool{}
	for _, r := range routes() {
		key := r.method + " " + openapiPath(r.path)
		served[key] = true
		public[key] = r.public
	}
	for k := range operational {
		served[k], public[k] = true, true
	}
	docd := map[string]map[string]any{}
	for p, ops := range paths {
		for m, o := range ops {
			op, _ := o.(map[string]any)
			docd[strings.ToUpper(m)+" "+p] = op
		}
	}
	var keys []string
	for k := range served {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Run("served "+k, func(t *testing.T) {
			op, ok := docd[k]
			if !ok {
				t.Fatalf("%s is served but not documented", k)
			}
			if op["operationId"] == nil || op["responses"] == nil {
				t.Errorf("%s lacks operationId or responses", k)
			}
			sec, _ := op["security"].([]any)
			if public[k] && len(sec) != 0 {
				t.Errorf("%s is public but documented with security %v", k, sec)
			}
			if !public[k] && len(sec) == 0 {
				t.Errorf("%s needs a bearer token but documents no security", k)
			}
		})
	}
	for k := range docd {
		if !served[k] {
			t.Errorf("%s is documented but not served", k)
		}
	}
}

func TestOpenAPIReferencesResolve(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatal(err)
	}
	comps, _ := doc["components"].(map[string]any)
	n := 0
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				n++
				parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
				if !strings.HasPrefix(ref, "#/components/") || len(parts) != 2 {
					t.Errorf("unexpected $ref %q", ref)
					return
				}
				section, _ := comps[parts[0]].(map[string]any)
				if _, ok := section[parts[1]]; !ok {
					t.Errorf("$ref %q does not resolve", ref)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
	if n == 0 {
		t.Fatal("no $ref found: the walk is broken")
	}
}

// TestEveryRouteNamesAPolicyAction ties the route table to the policy table
// test in package auth: each protected route asks the policy for one of the
// actions that test covers for every role.
func TestEveryRouteNamesAPolicyAction(t *testing.T) {
	known := map[auth.Action]bool{}
	for _, a := range auth.Actions {
		known[a] = true
	}
	for _, r := range routes() {
		if r.public {
			if r.action != "" {
				t.Errorf("%s %s is public but names action %q", r.method, r.path, r.action)
			}
			continue
		}
		if !known[r.action] {
			t.Errorf("%s %s asks for action %q, which the policy table does not know", r.method, r.path, r.action)
		}
	}
}
