// Package console serves the office console: the web application bundled
// from web/ by `make console` into dist/app and embedded in the binary with
// go:embed. A binary built without the bundle serves dist/placeholder.html,
// which says how to build it, so `go build` alone always succeeds.
package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

//go:embed dist
var dist embed.FS

// Options configure what the console shows beyond our own vector layers.
type Options struct {
	// TileURL is a raster tile URL template ({z}, {x}, {y}, optionally {s})
	// drawn beneath the zone layers, e.g. the national Tianditu service
	// (WGS-84 compatible). Empty, the default, draws no tiles: the console
	// never reaches the internet unless told to.
	TileURL string
	// TileAttribution is shown in the map's corner when TileURL is set.
	TileAttribution string
	// TileSubdomains are the values of {s}, e.g. "01234567".
	TileSubdomains string
}

// Config is what /console/config.json tells the application.
type Config struct {
	TileURL         string `json:"tile_url,omitempty"`
	TileAttribution string `json:"tile_attribution,omitempty"`
	TileSubdomains  string `json:"tile_subdomains,omitempty"`
	// Built is false for the placeholder.
	Built bool `json:"built"`
}

// Console is the HTTP handler of the console's pages and assets.
type Console struct {
	assets  fs.FS
	index   []byte
	config  []byte
	csp     string
	built   bool
	modTime time.Time
}

// New returns the console, or an error naming a bad option.
func New(o Options) (*Console, error) { return newFrom(dist, o) }

// newFrom serves the files of fsys: dist/app when it holds a bundle, else
// dist/placeholder.html.
func newFrom(fsys fs.FS, o Options) (*Console, error) {
	c := &Console{modTime: time.Now()}
	imgSrc := "'self' data: blob:"
	if o.TileURL != "" {
		origin, err := tileOrigin(o.TileURL)
		if err != nil {
			return nil, err
		}
		imgSrc += " " + origin
	}
	// Leaflet positions its panes with inline styles; scripts stay 'self'.
	c.csp = "default-src 'self'; img-src " + imgSrc + "; style-src 'self' 'unsafe-inline'; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	app, err := fs.Sub(fsys, "dist/app")
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if b, err := fs.ReadFile(app, "index.html"); err == nil {
		c.index, c.assets, c.built = b, app, true
	} else if c.index, err = fs.ReadFile(fsys, "dist/placeholder.html"); err != nil {
		return nil, fmt.Errorf("console: the placeholder page is missing: %w", err)
	}
	c.config, _ = json.Marshal(Config{TileURL: o.TileURL, TileAttribution: o.TileAttribution,
		TileSubdomains: o.TileSubdomains, Built: c.built})
	return c, nil
}

// CheckTileURL reports whether tmpl is a tile URL template the console can
// draw and its Content-Security-Policy can name: http(s), a host, and {z},
// {x} and {y}.
func CheckTileURL(tmpl string) error {
	_, err := tileOrigin(tmpl)
	return err
}

// tileOrigin returns the scheme and host of a tile URL template, which the
// page's Content-Security-Policy must allow images from. A {s} subdomain
// becomes a CSP wildcard over the rest of the host.
func tileOrigin(tmpl string) (string, error) {
	bad := fmt.Errorf("the tile URL %q is not an http(s) URL template with a host, {z}, {x} and {y}", tmpl)
	scheme, rest, ok := strings.Cut(tmpl, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return "", bad
	}
	host, _, _ := strings.Cut(rest, "/")
	for _, v := range []string{"{z}", "{x}", "{y}"} {
		if !strings.Contains(rest, v) {
			return "", bad
		}
	}
	if strings.Contains(host, "{s}") {
		_, tail, ok := strings.Cut(host, ".")
		if !ok || strings.Contains(tail, "{") {
			return "", bad
		}
		host = "*." + tail
	}
	if host == "" || strings.ContainsAny(host, "{} ;'\"") {
		return "", bad
	}
	if _, err := url.Parse(scheme + "://" + strings.TrimPrefix(host, "*.")); err != nil {
		return "", bad
	}
	return scheme + "://" + host, nil
}

// Built reports whether the binary holds the bundled application rather than
// the placeholder.
func (c *Console) Built() bool { return c.built }

// ServeHTTP serves "/" (the application's page), "/console/config.json" and
// the bundle's files under "/assets/". Asset names carry a content hash, so
// they are cached for a year; the page itself is always revalidated.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	switch p := r.URL.Path; {
	case p == "/" || p == "/index.html":
		h.Set("Content-Security-Policy", c.csp)
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Type", "text/html; charset=utf-8")
		http.ServeContent(w, r, "index.html", c.modTime, bytes.NewReader(c.index))
	case p == "/console/config.json":
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Type", "application/json")
		http.ServeContent(w, r, "config.json", c.modTime, bytes.NewReader(c.config))
	case strings.HasPrefix(p, "/assets/") && c.built:
		name := path.Clean(strings.TrimPrefix(p, "/"))
		b, err := fs.ReadFile(c.assets, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		http.ServeContent(w, r, name, c.modTime, bytes.NewReader(b))
	default:
		http.NotFound(w, r)
	}
}
