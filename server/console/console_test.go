package console

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func TestTileOrigin(t *testing.T) {
	for _, c := range []struct {
		name, url, want string
		bad             bool
	}{
		{name: "none", url: "", want: ""},
		{name: "tianditu with subdomains", url: "https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=KEY&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}", want: "https://*.tianditu.gov.cn"},
		{name: "plain host and port", url: "http://tiles.local:8081/{z}/{x}/{y}.png", want: "http://tiles.local:8081"},
		{name: "not http", url: "ftp://tiles.local/{z}/{x}/{y}.png", bad: true},
		{name: "no placeholders", url: "https://tiles.local/map.png", bad: true},
		{name: "no host", url: "https:///{z}/{x}/{y}.png", bad: true},
		{name: "subdomain only", url: "https://{s}/{z}/{x}/{y}.png", bad: true},
		{name: "CSP injection", url: "https://a.b;script-src *'/{z}/{x}/{y}", bad: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			con, err := New(Options{TileURL: c.url})
			if c.bad {
				if err == nil {
					t.Fatalf("New accepted %q", c.url)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`img-src ([^;]*);`).FindStringSubmatch(con.csp)
			if m == nil {
				t.Fatalf("no img-src in %q", con.csp)
			}
			want := "'self' data: blob:"
			if c.want != "" {
				want += " " + c.want
			}
			if m[1] != want {
				t.Errorf("img-src %q, want %q", m[1], want)
			}
		})
	}
}

func TestServe(t *testing.T) {
	con, err := New(Options{TileURL: "https://t{s}.example.cn/{z}/{x}/{y}.png", TileSubdomains: "0123"})
	if err != nil {
		t.Fatal(err)
	}
	get := func(method, path string) *http.Response {
		rec := httptest.NewRecorder()
		con.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec.Result()
	}
	page := get("GET", "/")
	body, _ := io.ReadAll(page.Body)
	if page.StatusCode != 200 || !strings.Contains(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", page.StatusCode, page.Header.Get("Content-Type"))
	}
	csp := page.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "https://*.example.cn", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "script-src") && strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows unsafe scripts: %q", csp)
	}
	if page.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("the page is cached: %q", page.Header.Get("Cache-Control"))
	}

	var cfg Config
	r := get("GET", "/console/config.json")
	if err := json.NewDecoder(r.Body).Decode(&cfg); err != nil || r.StatusCode != 200 {
		t.Fatalf("config: %d %v", r.StatusCode, err)
	}
	if cfg.Built != con.Built() || cfg.TileURL == "" || cfg.TileSubdomains != "0123" {
		t.Errorf("config %+v (built %v)", cfg, con.Built())
	}

	if con.Built() {
		// Every file the page names is served, cached for good.
		refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(string(body), -1)
		if len(refs) < 2 {
			t.Fatalf("the page names %d assets", len(refs))
		}
		for _, ref := range refs {
			r := get("GET", ref[1])
			if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
				t.Errorf("%s: %d %q", ref[1], r.StatusCode, r.Header.Get("Cache-Control"))
			}
		}
	} else if !strings.Contains(string(body), "make console") {
		t.Errorf("the placeholder does not say how to build the console: %s", body)
	}

	for _, c := range []struct {
		name, method, path string
		want               int
	}{
		{"unknown asset", "GET", "/assets/nope.js", 404},
		{"escape attempt", "GET", "/assets/../../console.go", 404},
		{"unknown path", "GET", "/elsewhere", 404},
		{"post", "POST", "/", 405},
		{"head", "HEAD", "/", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			if r := get(c.method, c.path); r.StatusCode != c.want {
				t.Errorf("%s %s: %d, want %d", c.method, c.path, r.StatusCode, c.want)
			}
		})
	}
}

// TestBuiltOrPlaceholder serves a bundle when there is one and the
// placeholder otherwise, whatever this binary embeds.
func TestBuiltOrPlaceholder(t *testing.T) {
	placeholder := &fstest.MapFile{Data: []byte("<p>run make console</p>")}
	for _, c := range []struct {
		name      string
		fsys      fstest.MapFS
		built     bool
		page      string
		assetCode int
	}{
		{"placeholder only", fstest.MapFS{"dist/placeholder.html": placeholder}, false, "make console", 404},
		{"bundle", fstest.MapFS{"dist/placeholder.html": placeholder,
			"dist/app/index.html":       {Data: []byte(`<script src="/assets/app-X.js"></script>`)},
			"dist/app/assets/app-X.js":  {Data: []byte("console.log(1)")},
			"dist/app/assets/app-X.css": {Data: []byte("body{}")},
			"dist/app/size.json":        {Data: []byte("{}")},
		}, true, "/assets/app-X.js", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			con, err := newFrom(c.fsys, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if con.Built() != c.built {
				t.Errorf("Built() = %v", con.Built())
			}
			rec := httptest.NewRecorder()
			con.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if !strings.Contains(rec.Body.String(), c.page) {
				t.Errorf("page %q lacks %q", rec.Body.String(), c.page)
			}
			rec = httptest.NewRecorder()
			con.ServeHTTP(rec, httptest.NewRequest("GET", "/assets/app-X.js", nil))
			if rec.Code != c.assetCode {
				t.Errorf("asset: %d, want %d", rec.Code, c.assetCode)
			}
			rec = httptest.NewRecorder()
			con.ServeHTTP(rec, httptest.NewRequest("GET", "/size.json", nil))
			if rec.Code != 404 {
				t.Errorf("a file outside /assets/ is served: %d", rec.Code)
			}
		})
	}
	if _, err := newFrom(fstest.MapFS{}, Options{}); err == nil {
		t.Error("no placeholder and no bundle: New succeeded")
	}
}
