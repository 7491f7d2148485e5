package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/geo/zonegen"
	"github.com/baoshui/baoshui/server/internal/geojsoncheck"
)

// mapFixture is the role fixture with records spread over the reservoir:
// expulsions and vehicles by town-a and town-b, and patrols with tracks.
type mapFixture struct {
	*fixture
	byUnit map[string]int // incidents created per unit
	total  int
}

func newMapFixture(t *testing.T) *mapFixture {
	t.Helper()
	f := &mapFixture{fixture: newFixture(t), byUnit: map[string]int{}}
	rng := rand.New(rand.NewPCG(11, 12))
	at := time.Date(2020, 7, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	for i := 0; i < 60; i++ {
		unit := []string{"town-a", "town-b"}[i%2]
		lon, lat := 116.85+rng.Float64()*0.2, 40.47+rng.Float64()*0.12
		when := at.Add(time.Duration(i) * 7 * time.Hour).Format(time.RFC3339)
		var body string
		switch i % 3 {
		case 0:
			body = fmt.Sprintf(`{"id":"m%03d","kind":"expulsion","observed_at":%q,"location":{"type":"Point","coordinates":[%.6f,%.6f]},"unit":%q,"officers":["off-a"],"persons":2,"activity":"fishing"}`, i, when, lon, lat, unit)
		case 1:
			body = fmt.Sprintf(`{"id":"m%03d","kind":"vehicle","observed_at":%q,"location":{"type":"Point","coordinates":[%.6f,%.6f]},"unit":%q,"officers":["off-b"],"vehicles":1}`, i, when, lon, lat, unit)
		default:
			var coords, times []string
			t0 := at.Add(time.Duration(i) * 7 * time.Hour)
			for k := 0; k < 20; k++ {
				coords = append(coords, fmt.Sprintf("[%.6f,%.6f]", lon+float64(k)*0.001, lat+float64(k%3)*0.0005))
				times = append(times, fmt.Sprintf("%q", t0.Add(time.Duration(k)*time.Minute).Format(time.RFC3339)))
			}
			body = fmt.Sprintf(`{"id":"m%03d","kind":"patrol","observed_at":%q,"location":{"type":"Point","coordinates":[%.6f,%.6f]},"unit":%q,"officers":["off-a","off-a2"],"started_at":%q,"ended_at":%q,"track":{"type":"LineString","coordinates":[%s]},"track_times":[%s]}`,
				i, when, lon, lat, unit, when, t0.Add(19*time.Minute).Format(time.RFC3339), strings.Join(coords, ","), strings.Join(times, ","))
		}
		if st, b, _ := f.office.raw("POST", "/api/v1/records", body); st != 201 {
			t.Fatalf("record %d: %d %s", i, st, b)
		}
		if i%3 != 2 {
			f.byUnit[unit]++
			f.total++
		}
	}
	return f
}

type featureCollection struct {
	Type     string `json:"type"`
	Features []struct {
		ID         string          `json:"id"`
		BBox       []float64       `json:"bbox"`
		Geometry   json.RawMessage `json:"geometry"`
		Properties map[string]any  `json:"properties"`
	} `json:"features"`
	NumberMatched  int       `json:"numberMatched"`
	NumberReturned int       `json:"numberReturned"`
	Clustered      bool      `json:"clustered"`
	Outside        int       `json:"outside"`
	Links          []ogcLink `json:"links"`
}

type ogcLink struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

// getGeo fetches a GeoJSON answer, checks its media type and keeps the
// bytes in docs for the RFC 7946 check.
func getGeo(t *testing.T, c *client, path string, docs map[string][]byte) featureCollection {
	t.Helper()
	st, b, h := c.raw("GET", path, nil)
	if st != 200 {
		t.Fatalf("GET %s: %d %s", path, st, b)
	}
	if ct := h.Get("Content-Type"); ct != "application/geo+json" {
		t.Fatalf("GET %s: Content-Type %q, want application/geo+json", path, ct)
	}
	var fc featureCollection
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if docs != nil {
		docs["GET "+path] = b
	}
	return fc
}

func countSum(t *testing.T, fc featureCollection) int {
	t.Helper()
	n := 0
	for _, f := range fc.Features {
		if f.Properties["cluster"] == true {
			n += int(f.Properties["count"].(float64))
		} else {
			if f.Properties["href"] == nil || f.Properties["kind"] == nil || f.Properties["observed_at"] == nil {
				t.Fatalf("single incident without popup properties: %v", f.Properties)
			}
			n++
		}
	}
	return n
}

func TestMapIncidentsOverHTTP(t *testing.T) {
	f := newMapFixture(t)
	docs := map[string][]byte{}
	const box = "116.7,40.4,117.2,40.7"
	for _, zoom := range []int{8, 10, 13, 16, 18} {
		fc := getGeo(t, f.office, fmt.Sprintf("/api/v1/map/incidents?bbox=%s&zoom=%d", box, zoom), docs)
		if fc.NumberMatched != f.total || countSum(t, fc) != f.total {
			t.Errorf("zoom %d: matched %d, counts %d; created %d", zoom, fc.NumberMatched, countSum(t, fc), f.total)
		}
		if zoom == 18 && (fc.Clustered || len(fc.Features) != f.total) {
			t.Errorf("zoom 18: clustered %v with %d features; want every incident single", fc.Clustered, len(fc.Features))
		}
		if zoom == 8 && len(fc.Features) >= f.total {
			t.Errorf("zoom 8: %d features for %d incidents; want clusters", len(fc.Features), f.total)
		}
	}
	// An officer sees their own team only; kinds filter; period filter.
	fc := getGeo(t, f.offB, "/api/v1/map/incidents?bbox="+box+"&zoom=18", docs)
	if fc.NumberMatched != f.byUnit["town-b"] {
		t.Errorf("officer of town-b sees %d, want %d", fc.NumberMatched, f.byUnit["town-b"])
	}
	for _, ft := range fc.Features {
		if ft.Properties["unit"] != "town-b" {
			t.Errorf("officer of town-b sees %v", ft.Properties)
		}
	}
	fc = getGeo(t, f.office, "/api/v1/map/incidents?bbox="+box+"&zoom=18&kind=vehicle", docs)
	if fc.NumberMatched != f.total/2 {
		t.Errorf("vehicles: %d, want %d", fc.NumberMatched, f.total/2)
	}
	// A world-sized box without a zoom is answered with a few clusters.
	fc = getGeo(t, f.office, "/api/v1/map/incidents?bbox=-180,-90,180,90", docs)
	if !fc.Clustered || len(fc.Features) > 10 || countSum(t, fc) != f.total {
		t.Errorf("world box: clustered %v, %d features, counts %d", fc.Clustered, len(fc.Features), countSum(t, fc))
	}
	// Heat: every matched incident is in a cell or counted outside.
	heat := getGeo(t, f.office, "/api/v1/map/heat?bbox="+box, docs)
	inCells := 0
	for _, ft := range heat.Features {
		inCells += int(ft.Properties["count"].(float64))
	}
	if inCells+heat.Outside != f.total || len(heat.Features) == 0 {
		t.Errorf("heat: %d in %d cells + %d outside, want %d", inCells, len(heat.Features), heat.Outside, f.total)
	}
	geojsoncheck.Check(t, docs)
}

func TestMapBadInput(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, path, field string
		status            int
	}{
		{"bbox out of range", "/api/v1/map/incidents?bbox=116,40,190,41", "bbox", 400},
		{"bbox inverted", "/api/v1/map/incidents?bbox=117,40,116,41", "bbox", 400},
		{"bbox three numbers", "/api/v1/map/incidents?bbox=116,40,117", "bbox", 400},
		{"bbox not numbers", "/api/v1/map/incidents?bbox=a,b,c,d", "bbox", 400},
		{"zoom too high", "/api/v1/map/incidents?zoom=23", "zoom", 400},
		{"zoom negative", "/api/v1/map/incidents?zoom=-1", "zoom", 400},
		{"zoom not a number", "/api/v1/map/incidents?zoom=ten", "zoom", 400},
		{"unknown kind", "/api/v1/map/incidents?kind=expulsion,fire", "kind", 400},
		{"unknown zone", "/api/v1/map/incidents?zone=third", "zone", 400},
		{"unknown town", "/api/v1/map/incidents?town=atlantis", "town", 400},
		{"unknown unit", "/api/v1/map/incidents?unit=nowhere", "unit", 400},
		{"from after to", "/api/v1/map/incidents?from=2020-08-01&to=2020-07-01", "to", 400},
		{"bad datetime", "/api/v1/collections/incidents/items?datetime=yesterday", "datetime", 400},
		{"limit too high", "/api/v1/collections/incidents/items?limit=100000", "limit", 400},
		{"patrol limit", "/api/v1/collections/patrols/items?limit=500", "limit", 400},
		{"bad cursor", "/api/v1/collections/incidents/items?cursor=%25%25", "", 400},
		{"unknown heat cell", "/api/v1/map/heat?cell=cell-r99c99", "cell", 400},
		{"unknown zones layer filter", "/api/v1/collections/zones/items?layer=roads", "layer", 400},
		{"effort without dates", "/api/v1/reports/patrol-effort", "from", 400},
		{"unknown collection", "/api/v1/collections/roads/items", "", 404},
		{"unknown layer", "/api/v1/zones/roads", "", 404},
		{"old version that is not", "/api/v1/zones/grid?version=9", "version", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, b, h := f.office.raw("GET", tc.path, nil)
			if st != tc.status || h.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %s %s; want %d problem+json", st, h.Get("Content-Type"), b, tc.status)
			}
			var p problem
			_ = json.Unmarshal(b, &p)
			if tc.field != "" && !strings.Contains(strings.Join(fieldsOf(p), ","), tc.field) {
				t.Errorf("problem %s names %v, want %s", b, fieldsOf(p), tc.field)
			}
		})
	}
	// No token: 401, never a map.
	if st := f.anon.do("GET", "/api/v1/map/incidents", nil, nil); st != 401 {
		t.Errorf("anonymous map: %d", st)
	}
}

func TestCollectionsOverHTTP(t *testing.T) {
	f := newMapFixture(t)
	docs := map[string][]byte{}
	var cols struct {
		Collections []struct {
			ID string `json:"id"`
		} `json:"collections"`
	}
	if st := f.office.do("GET", "/api/v1/collections", nil, &cols); st != 200 || len(cols.Collections) != 3 {
		t.Fatalf("collections: %d %+v", st, cols)
	}
	// Page through the incidents by next links: every incident once.
	seen := map[string]bool{}
	next := "/api/v1/collections/incidents/items?limit=7&bbox=116.7,40.4,117.2,40.7"
	for pages := 0; next != ""; pages++ {
		if pages > 20 {
			t.Fatal("too many pages")
		}
		fc := getGeo(t, f.office, next, docs)
		if fc.NumberMatched != f.total || fc.NumberReturned != len(fc.Features) {
			t.Fatalf("matched %d returned %d (%d features); want %d matched", fc.NumberMatched, fc.NumberReturned, len(fc.Features), f.total)
		}
		for _, ft := range fc.Features {
			if seen[ft.ID] {
				t.Fatalf("%s twice", ft.ID)
			}
			seen[ft.ID] = true
		}
		next = ""
		for _, l := range fc.Links {
			if l.Rel == "next" {
				next = l.Href
			}
		}
	}
	if len(seen) != f.total {
		t.Errorf("pages held %d incidents, want %d", len(seen), f.total)
	}
	// Patrols: tracks as LineStrings, simplified at a low zoom.
	fc := getGeo(t, f.office, "/api/v1/collections/patrols/items?zoom=12", docs)
	if fc.NumberMatched != 20 || len(fc.Features) != 20 {
		t.Fatalf("patrols: matched %d, %d features; want 20", fc.NumberMatched, len(fc.Features))
	}
	for _, ft := range fc.Features {
		var g struct {
			Type        string       `json:"type"`
			Coordinates [][2]float64 `json:"coordinates"`
		}
		_ = json.Unmarshal(ft.Geometry, &g)
		if g.Type != "LineString" || len(g.Coordinates) < 2 || len(g.Coordinates) >= 20 {
			t.Errorf("patrol %s: %s with %d positions; want a simplified LineString", ft.ID, g.Type, len(g.Coordinates))
		}
	}
	full := getGeo(t, f.office, "/api/v1/collections/patrols/items?limit=1", docs)
	if n := strings.Count(string(full.Features[0].Geometry), "],["); n != 19 {
		t.Errorf("unsimplified patrol has %d positions, want 20", n+1)
	}
	// Zones: every feature of the three layers, filtered by layer.
	zfc := getGeo(t, f.office, "/api/v1/collections/zones/items?limit=1000", docs)
	grid := getGeo(t, f.office, "/api/v1/collections/zones/items?layer=grid&limit=1000", docs)
	if zfc.NumberMatched != 3+7+len(grid.Features) || len(grid.Features) < 100 {
		t.Errorf("zones: %d features, grid %d", zfc.NumberMatched, len(grid.Features))
	}
	// Patrol effort: the patrols of town-a, by team and officer.
	var eff struct {
		Teams []struct {
			Unit       string  `json:"unit"`
			Patrols    int     `json:"patrols"`
			DistanceKM float64 `json:"distance_km"`
			Hours      float64 `json:"hours"`
		} `json:"teams"`
		Officers []struct {
			Officer string `json:"officer"`
			Patrols int    `json:"patrols"`
		} `json:"officers"`
	}
	if st := f.supA.do("GET", "/api/v1/reports/patrol-effort?from=2020-01-01&to=2021-01-01", nil, &eff); st != 200 {
		t.Fatalf("effort: %d", st)
	}
	if len(eff.Teams) != 1 || eff.Teams[0].Unit != "town-a" || eff.Teams[0].Patrols != 10 || eff.Teams[0].DistanceKM < 1 || eff.Teams[0].Hours < 3 {
		t.Errorf("town-a's supervisor sees effort %+v; want town-a only, 10 patrols", eff.Teams)
	}
	if len(eff.Officers) != 2 || eff.Officers[0].Patrols != 10 {
		t.Errorf("officers %+v, want off-a and off-a2 with 10 each", eff.Officers)
	}
	geojsoncheck.Check(t, docs)
}

func TestZonesReplacedOverHTTP(t *testing.T) {
	f := newMapFixture(t)
	docs := map[string][]byte{}
	demo, err := zonegen.Generate()
	if err != nil {
		t.Fatal(err)
	}
	st, b, h := f.office.raw("GET", "/api/v1/zones/grid", nil)
	if st != 200 || !bytes.Equal(b, demo["grid.geojson"]) || h.Get("X-Zones-Layer-Version") != "1" {
		t.Fatalf("grid: %d, version %q, %d bytes", st, h.Get("X-Zones-Layer-Version"), len(b))
	}
	docs["zones/protection"] = demo["protection.geojson"]
	// Only an admin replaces a layer.
	towns := demo["towns.geojson"]
	if st := f.office.do("PUT", "/api/v1/zones/towns", towns, nil); st != 403 {
		t.Errorf("office PUT: %d, want 403", st)
	}
	// A broken layer is refused naming the feature, ring and fault.
	broken := `{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"id":"c1"},"geometry":{"type":"Polygon","coordinates":[[[116.9,40.5],[117.0,40.5],[117.0,40.6],[116.9,40.6]]]}},
		{"type":"Feature","properties":{"id":"c2"},"geometry":{"type":"Polygon","coordinates":[[[116.9,40.5],[117.0,40.6],[117.0,40.5],[116.9,40.6],[116.9,40.5]]]}}]}`
	st, b, _ = f.admin.raw("PUT", "/api/v1/zones/grid", broken)
	var zp struct {
		Type         string `json:"type"`
		ZoneProblems []struct {
			Feature int    `json:"feature"`
			Ring    int    `json:"ring"`
			Fault   string `json:"fault"`
		} `json:"zone_problems"`
	}
	_ = json.Unmarshal(b, &zp)
	if st != 422 || zp.Type != "/problems/invalid-zones" || len(zp.ZoneProblems) != 2 ||
		!strings.Contains(zp.ZoneProblems[0].Fault, "not closed") || zp.ZoneProblems[1].Feature != 1 ||
		!strings.Contains(zp.ZoneProblems[1].Fault, "self-intersection") {
		t.Fatalf("broken grid: %d %s", st, b)
	}
	for _, tc := range []struct {
		name, layer, body string
		status            int
	}{
		{"unknown layer", "roads", string(towns), 404},
		{"not JSON", "towns", "{", 422},
		{"empty body", "towns", "", 422},
	} {
		if st, b, _ := f.admin.raw("PUT", "/api/v1/zones/"+tc.layer, tc.body); st != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, st, b, tc.status)
		}
	}
	// Move every town id: the records are reclassified to the new ids.
	moved := bytes.ReplaceAll(towns, []byte(`"id":"town-`), []byte(`"id":"area-`))
	var v struct {
		Version int64 `json:"version"`
	}
	if st := f.admin.do("PUT", "/api/v1/zones/towns", moved, &v); st != 201 || v.Version != 2 {
		t.Fatalf("PUT towns: %d version %d", st, v.Version)
	}
	var vs struct {
		Versions []struct {
			Version   int64  `json:"version"`
			CreatedBy string `json:"created_by"`
		} `json:"versions"`
	}
	if st := f.office.do("GET", "/api/v1/zones/towns/versions", nil, &vs); st != 200 || len(vs.Versions) != 2 || vs.Versions[1].CreatedBy != "root" {
		t.Fatalf("versions: %d %+v", st, vs)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var job struct {
			State      string `json:"state"`
			Generation int64  `json:"generation"`
			Done       int64  `json:"done"`
			Total      int64  `json:"total"`
		}
		f.office.do("GET", "/api/v1/zones/reclassification", nil, &job)
		if job.State == "idle" && job.Generation == 4 {
			if job.Done != job.Total || job.Total != 60 {
				t.Errorf("job finished with %d of %d done, want 60", job.Done, job.Total)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reclassification: %+v", job)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var rec struct {
		Place struct {
			ZonesVersion int64  `json:"zones_version"`
			Town         string `json:"town"`
		} `json:"place"`
	}
	if st := f.office.do("GET", "/api/v1/records/m000", nil, &rec); st != 200 || rec.Place.ZonesVersion != 4 || !strings.HasPrefix(rec.Place.Town, "area-") {
		t.Fatalf("record after the change: %d %+v", st, rec)
	}
	fc := getGeo(t, f.office, "/api/v1/map/incidents?zoom=18&town="+url.QueryEscape(rec.Place.Town), docs)
	if fc.NumberMatched == 0 {
		t.Error("no incident in the record's new town")
	}
	if st := f.office.do("GET", "/api/v1/map/incidents?town=town-gaoling", nil, nil); st != 400 {
		t.Errorf("old town id after the change: %d, want 400", st)
	}
	geojsoncheck.Check(t, docs)
}
