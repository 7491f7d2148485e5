package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"

	"github.com/baoshui/baoshui/geo"
	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
	"github.com/baoshui/baoshui/server/zones"
)

// This file serves the map: zone layers (read and replaced), clustered
// incidents, per-cell heat, patrol effort, and OGC API – Features style
// collections. Every GeoJSON answer is application/geo+json, RFC 7946.

const geoJSONType = "application/geo+json"

// MaxZoom is the highest zoom a map query accepts.
const MaxZoom = 22

// fields collects the query parameters a request got wrong.
type fields []enforcement.FieldError

func (f *fields) bad(name, detail string) {
	*f = append(*f, enforcement.FieldError{Field: name, Detail: detail})
}

// answer responds 400 naming every bad parameter; it reports whether it did.
func (f fields) answer(c *gin.Context) bool {
	if len(f) == 0 {
		return false
	}
	p := newProblem(c, pBadQuery, "see errors")
	p.Errors = f
	respond(c, p)
	return true
}

// mapFilter parses the filter parameters the map endpoints share: bbox,
// from, to (or an OGC datetime), kind, zone, town, cell, unit, campaign.
func (s *server) mapFilter(c *gin.Context, fs *fields) records.MapFilter {
	p := principal(c)
	f := records.MapFilter{Zone: c.Query("zone"), Town: c.Query("town"), Cell: c.Query("cell"),
		Unit: c.Query("unit"), Campaign: c.Query("campaign"),
		VisibleUnit: func(unit string) bool {
			return auth.Allow(p, auth.ActRecordRead, &auth.Object{Unit: unit}, s.Accounts.Units)
		},
	}
	if v := c.Query("bbox"); v != "" {
		b, err := parseBBox(v)
		if err != nil {
			fs.bad("bbox", err.Error())
		}
		f.BBox = b
	}
	f.From, f.To = parsePeriod(c, fs.bad)
	if v := c.Query("datetime"); v != "" {
		from, to, err := parseDatetime(v)
		if err != nil {
			fs.bad("datetime", err.Error())
		}
		f.From, f.To = from, to
	}
	if f.From != 0 && f.To != 0 && f.To <= f.From {
		fs.bad("to", "must be after from (half-open)")
	}
	if v := c.Query("kind"); v != "" {
		for _, k := range strings.Split(v, ",") {
			kind := enforcement.Kind(strings.TrimSpace(k))
			if !kind.Valid() {
				fs.bad("kind", "each of a comma-separated list must be one of patrol, expulsion, grazing, vehicle, confiscation, case")
				break
			}
			f.Kinds = append(f.Kinds, kind)
		}
	}
	if f.Unit != "" {
		if _, ok := s.Accounts.Units.Get(f.Unit); !ok {
			fs.bad("unit", "unknown unit")
		}
	}
	set := s.Zones.Current()
	for _, q := range []struct{ name, layer, val string }{{"zone", "protection", f.Zone}, {"town", "towns", f.Town}, {"cell", "grid", f.Cell}} {
		if q.val == "" {
			continue
		}
		if z, _, ok := set.Layer(q.layer); !ok || !layerHas(z, q.val) {
			fs.bad(q.name, fmt.Sprintf("no %s feature has id %q", q.layer, q.val))
		}
	}
	return f
}

func layerHas(z *geo.ZoneSet, id string) bool {
	for i := 0; i < z.Len(); i++ {
		if m, _ := z.Feature(i); m.ID == id {
			return true
		}
	}
	return false
}

// parseDatetime parses an OGC API datetime: an instant, or an interval
// "start/end" where either side may be ".." (open). It returns Unix ms,
// 0 for an open side; an instant is the millisecond it names.
func parseDatetime(v string) (int64, int64, error) {
	const msg = "must be an RFC 3339 instant or date, or an interval start/end with .. for an open end"
	parse := func(s string) (int64, error) {
		if s == ".." || s == "" {
			return 0, nil
		}
		t, err := parseInstantOrDay(s)
		if err != nil {
			return 0, errors.New(msg)
		}
		return t.UnixMilli(), nil
	}
	a, b, interval := strings.Cut(v, "/")
	if !interval {
		t, err := parse(a)
		if err != nil || t == 0 {
			return 0, 0, errors.New(msg)
		}
		return t, t + 1, nil
	}
	from, err := parse(a)
	if err != nil {
		return 0, 0, err
	}
	to, err := parse(b)
	if err != nil {
		return 0, 0, err
	}
	if to != 0 {
		to++ // OGC intervals are closed
	}
	return from, to, nil
}

// parseZoom returns the zoom parameter, or def when there is none.
func parseZoom(c *gin.Context, fs *fields, def int) int {
	v := c.Query("zoom")
	if v == "" {
		return def
	}
	z, err := strconv.Atoi(v)
	if err != nil || z < 0 || z > MaxZoom {
		fs.bad("zoom", fmt.Sprintf("must be an integer 0 to %d", MaxZoom))
	}
	return z
}

// zoomFor returns the zoom at which bbox fills about 1024 pixels.
func zoomFor(b *[4]float64) int {
	if b == nil {
		return 2
	}
	w := max(b[2]-b[0], (b[3]-b[1])*1.5, 1e-9)
	z := int(math.Floor(math.Log2(1024 * 360 / (256 * w))))
	return min(max(z, 0), MaxZoom)
}

// The GeoJSON the map endpoints write.
type (
	geoFeature struct {
		Type       string    `json:"type"`
		ID         string    `json:"id,omitempty"`
		BBox       []float64 `json:"bbox,omitempty"`
		Geometry   any       `json:"geometry"`
		Properties any       `json:"properties"`
	}
	// incidentProps are a single incident's properties: what a popup shows,
	// and where to read the whole record.
	incidentProps struct {
		*records.Incident
		Href string `json:"href"`
	}
	geoPoint struct {
		Type        string     `json:"type"`
		Coordinates [2]float64 `json:"coordinates"`
	}
	geoLine struct {
		Type        string       `json:"type"`
		Coordinates [][2]float64 `json:"coordinates"`
	}
	geoPolygon struct {
		Type        string         `json:"type"`
		Coordinates [][][2]float64 `json:"coordinates"`
	}
	geoMultiPolygon struct {
		Type        string           `json:"type"`
		Coordinates [][][][2]float64 `json:"coordinates"`
	}
)

// round6 keeps 1e-6 degrees (about 0.1 m), finer than any GNSS fix and
// short enough for a map; the cluster centres computed in fixed point have
// no more digits worth sending.
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

func point(lon, lat float64) geoPoint {
	return geoPoint{Type: "Point", Coordinates: [2]float64{round6(lon), round6(lat)}}
}

func rings(p orb.Polygon) [][][2]float64 {
	out := make([][][2]float64, len(p))
	for i, r := range p {
		out[i] = make([][2]float64, len(r))
		for j, q := range r {
			out[i][j] = [2]float64(q)
		}
	}
	return out
}

// zoneGeometry renders a zone's geometry (orb.Polygon or orb.MultiPolygon).
func zoneGeometry(g orb.Geometry) any {
	switch g := g.(type) {
	case orb.Polygon:
		return geoPolygon{Type: "Polygon", Coordinates: rings(g)}
	case orb.MultiPolygon:
		mp := geoMultiPolygon{Type: "MultiPolygon"}
		for _, p := range g {
			mp.Coordinates = append(mp.Coordinates, rings(p))
		}
		return mp
	}
	return nil
}

// incidentFeature renders an incident with what a popup needs.
func incidentFeature(in *records.Incident) geoFeature {
	return geoFeature{Type: "Feature", ID: in.ID, Geometry: point(in.Lon, in.Lat),
		Properties: incidentProps{Incident: in, Href: "/api/v1/records/" + url.PathEscape(in.ID)}}
}

func writeGeoJSON(c *gin.Context, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fail(c, err)
		return
	}
	c.Data(status, geoJSONType, b)
}

func (s *server) mapIncidents(c *gin.Context) {
	var fs fields
	f := s.mapFilter(c, &fs)
	zoom := parseZoom(c, &fs, zoomFor(f.BBox))
	if fs.answer(c) {
		return
	}
	ans := s.Records.MapIncidents(f, zoom)
	out := struct {
		Type      string       `json:"type"`
		Features  []geoFeature `json:"features"`
		Zoom      int          `json:"zoom"`
		Matched   int          `json:"numberMatched"`
		Returned  int          `json:"numberReturned"`
		Clustered bool         `json:"clustered"`
	}{Type: "FeatureCollection", Features: make([]geoFeature, 0, len(ans.Items)), Zoom: ans.Zoom, Matched: ans.Matched,
		Returned: len(ans.Items), Clustered: ans.Clustered}
	for i := range ans.Items {
		it := &ans.Items[i]
		if it.Incident != nil {
			out.Features = append(out.Features, incidentFeature(it.Incident))
			continue
		}
		bb := []float64{round6(it.BBox[0]), round6(it.BBox[1]), round6(it.BBox[2]), round6(it.BBox[3])}
		// The centre lies in the members' box; rounding must not move it out.
		lon := min(max(round6(it.Lon), bb[0]), bb[2])
		lat := min(max(round6(it.Lat), bb[1]), bb[3])
		out.Features = append(out.Features, geoFeature{Type: "Feature", ID: "cluster/" + it.Key, BBox: bb,
			Geometry: geoPoint{Type: "Point", Coordinates: [2]float64{lon, lat}},
			Properties: map[string]any{"cluster": true, "count": it.Count, "kinds": it.Kinds,
				"expansion_zoom": min(ans.Zoom+1, MaxZoom)}})
	}
	writeGeoJSON(c, http.StatusOK, out)
}

func (s *server) mapHeat(c *gin.Context) {
	var fs fields
	cellParam := c.Query("cell")
	c.Request.URL.RawQuery = withoutParam(c.Request.URL.Query(), "cell")
	f := s.mapFilter(c, &fs)
	grid, _, _ := s.Zones.Current().Layer("grid")
	var only map[string]bool
	if cellParam != "" {
		only = map[string]bool{}
		for _, id := range strings.Split(cellParam, ",") {
			id = strings.TrimSpace(id)
			if !layerHas(grid, id) {
				fs.bad("cell", fmt.Sprintf("no grid cell has id %q", id))
				break
			}
			only[id] = true
		}
	}
	if fs.answer(c) {
		return
	}
	counts, outside := s.Records.Heat(f)
	out := struct {
		Type     string       `json:"type"`
		Features []geoFeature `json:"features"`
		Outside  int          `json:"outside"`
		Max      int          `json:"max"`
	}{Type: "FeatureCollection", Features: []geoFeature{}, Outside: outside}
	for i := 0; i < grid.Len(); i++ {
		m, g := grid.Feature(i)
		if only != nil && !only[m.ID] {
			continue
		}
		if b := f.BBox; b != nil && !g.Bound().Intersects(orb.Bound{Min: orb.Point{b[0], b[1]}, Max: orb.Point{b[2], b[3]}}) {
			continue
		}
		n, kinds := 0, map[enforcement.Kind]int{}
		if cc := counts[m.ID]; cc != nil {
			n, kinds = cc.Count, cc.Kinds
		}
		out.Max = max(out.Max, n)
		out.Features = append(out.Features, geoFeature{Type: "Feature", ID: m.ID, Geometry: zoneGeometry(g),
			Properties: map[string]any{"cell": m.ID, "count": n, "kinds": kinds}})
	}
	writeGeoJSON(c, http.StatusOK, out)
}

// withoutParam returns q encoded without the parameter name.
func withoutParam(q url.Values, name string) string {
	q.Del(name)
	return q.Encode()
}

func (s *server) patrolEffort(c *gin.Context) {
	var fs fields
	day := func(name string) enforcement.Day {
		d, err := enforcement.ParseDay(c.Query(name))
		if err != nil {
			fs.bad(name, "required: YYYY-MM-DD (Asia/Shanghai)")
		}
		return d
	}
	q := records.EffortQuery{From: day("from"), To: day("to"), Unit: c.Query("unit")}
	if len(fs) == 0 && (q.To <= q.From || q.To-q.From > 366*20) {
		fs.bad("to", "must be after from (half-open), at most 20 years later")
	}
	if q.Unit != "" {
		if _, ok := s.Accounts.Units.Get(q.Unit); !ok {
			fs.bad("unit", "unknown unit")
		}
	}
	if fs.answer(c) {
		return
	}
	p := principal(c)
	vis := s.unitVisible(p)
	if q.Unit != "" && !vis(q.Unit) && !s.Accounts.Units.Within(auth.ScopeRoot(p), q.Unit) {
		fail(c, fmt.Errorf("patrol effort of unit %s: %w", q.Unit, enforcement.ErrForbidden))
		return
	}
	q.VisibleUnit = vis
	c.JSON(http.StatusOK, s.Records.PatrolEffort(q))
}

// Zones.

type layerInfo struct {
	zones.Version
	Href string `json:"href"`
}

func (s *server) listZones(c *gin.Context) {
	set := s.Zones.Current()
	out := struct {
		Generation int64                    `json:"generation"`
		Layers     []layerInfo              `json:"layers"`
		Job        records.ReclassifyStatus `json:"reclassification"`
	}{Generation: set.Generation, Job: s.Records.Reclassification()}
	for _, name := range zones.Layers {
		_, v, _ := set.Layer(name)
		out.Layers = append(out.Layers, layerInfo{Version: v, Href: "/api/v1/zones/" + name})
	}
	c.JSON(http.StatusOK, out)
}

func (s *server) getZoneLayer(c *gin.Context) {
	layer := c.Param("layer")
	h, err := s.Zones.History(layer)
	if err != nil {
		fail(c, err)
		return
	}
	v := h[len(h)-1]
	if q := c.Query("version"); q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil || n < 1 || n > int64(len(h)) {
			fields{{Field: "version", Detail: fmt.Sprintf("must be a stored version, 1 to %d", len(h))}}.answer(c)
			return
		}
		v = h[n-1]
	}
	c.Header("ETag", `"`+v.SHA256+`"`)
	c.Header("X-Zones-Layer-Version", strconv.FormatInt(v.Version, 10))
	c.Data(http.StatusOK, geoJSONType, v.GeoJSON)
}

func (s *server) zoneVersions(c *gin.Context) {
	h, err := s.Zones.History(c.Param("layer"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"layer": c.Param("layer"), "versions": h})
}

func (s *server) putZoneLayer(c *gin.Context) {
	body, ok := readBody(c)
	if !ok {
		return
	}
	v, err := s.Zones.Put(c, c.Param("layer"), body, principal(c).Username)
	var zerr *geo.ZoneError
	switch {
	case errors.As(err, &zerr):
		p := newProblem(c, pZones, zerr.Error())
		p.ZoneProblems = zerr.Problems
		p.Omitted = zerr.Omitted
		c.Set(ctxErr, err)
		respond(c, p)
		return
	case errors.Is(err, zones.ErrTooLarge):
		abort(c, pTooLarge, err.Error())
		return
	case err != nil:
		fail(c, err)
		return
	}
	if err := s.Records.Audit(c, audit.Entry{Actor: principal(c).Username, Action: "zones.put", Object: "zones:" + v.Layer,
		Rev: v.Version, After: v.SHA256}); err != nil {
		// The layer is stored and in force; the chain keeps the entry pending.
		s.Logger.Warn("audit of a zones change not yet stored", "layer", v.Layer, "version", v.Version, "err", err)
	}
	c.Header("Location", "/api/v1/zones/"+v.Layer+"?version="+strconv.FormatInt(v.Version, 10))
	c.JSON(http.StatusCreated, v)
}

func (s *server) reclassification(c *gin.Context) {
	c.JSON(http.StatusOK, s.Records.Reclassification())
}

// OGC API – Features style collections.

type ogcLink struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

type ogcCollection struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	ItemType    string    `json:"itemType"`
	CRS         []string  `json:"crs"`
	Extent      any       `json:"extent,omitempty"`
	Links       []ogcLink `json:"links"`
}

const crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

var collectionIDs = []string{"incidents", "patrols", "zones"}

func (s *server) collection(id string) (ogcCollection, bool) {
	desc := map[string][2]string{
		"incidents": {"Incidents", "Enforcement records (expulsions, grazing, vehicles, confiscations, cases) as points, newest first; filters: bbox, datetime, kind, zone, town, cell, unit, campaign."},
		"patrols":   {"Patrols", "Patrol tracks as LineStrings (simplified for the zoom parameter when given), newest first; bbox selects tracks whose box meets it."},
		"zones":     {"Zones", "The zone layers in force: protection zones, towns and warden grid cells; the layer parameter selects one."},
	}[id]
	if desc[0] == "" {
		return ogcCollection{}, false
	}
	b := s.Zones.Current()
	var bound orb.Bound
	for i, name := range zones.Layers {
		z, _, _ := b.Layer(name)
		if i == 0 {
			bound = z.Bound()
		} else {
			bound = bound.Union(z.Bound())
		}
	}
	base := "/api/v1/collections/" + id
	return ogcCollection{ID: id, Title: desc[0], Description: desc[1], ItemType: "feature", CRS: []string{crs84},
		Extent: map[string]any{"spatial": map[string]any{"bbox": [][4]float64{{bound.Min[0], bound.Min[1], bound.Max[0], bound.Max[1]}}, "crs": crs84}},
		Links: []ogcLink{{Href: base, Rel: "self", Type: "application/json"},
			{Href: base + "/items", Rel: "items", Type: geoJSONType, Title: desc[0]}}}, true
}

func (s *server) listCollections(c *gin.Context) {
	out := struct {
		Links       []ogcLink       `json:"links"`
		Collections []ogcCollection `json:"collections"`
	}{Links: []ogcLink{{Href: "/api/v1/collections", Rel: "self", Type: "application/json"}}}
	for _, id := range collectionIDs {
		col, _ := s.collection(id)
		out.Collections = append(out.Collections, col)
	}
	c.JSON(http.StatusOK, out)
}

func (s *server) getCollection(c *gin.Context) {
	col, ok := s.collection(c.Param("id"))
	if !ok {
		fail(c, fmt.Errorf("collection %q: %w", c.Param("id"), enforcement.ErrNotFound))
		return
	}
	c.JSON(http.StatusOK, col)
}

// ogcItems is the FeatureCollection an items request answers.
type ogcItems struct {
	Type           string       `json:"type"`
	Features       []geoFeature `json:"features"`
	NumberMatched  int          `json:"numberMatched"`
	NumberReturned int          `json:"numberReturned"`
	TimeStamp      string       `json:"timeStamp"`
	Links          []ogcLink    `json:"links"`
}

func (s *server) collectionItems(c *gin.Context) {
	id := c.Param("id")
	if _, ok := s.collection(id); !ok {
		fail(c, fmt.Errorf("collection %q: %w", id, enforcement.ErrNotFound))
		return
	}
	var fs fields
	maxLimit := map[string]int{"incidents": 1000, "patrols": 200, "zones": 1000}[id]
	limit := min(100, maxLimit)
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			fs.bad("limit", fmt.Sprintf("must be 1 to %d", maxLimit))
		}
		limit = n
	}
	var items ogcItems
	var next string
	switch id {
	case "zones":
		items, next = s.zoneItems(c, &fs, limit)
	default:
		f := s.mapFilter(c, &fs)
		zoom := parseZoom(c, &fs, -1)
		if fs.answer(c) {
			return
		}
		var page records.FeaturePage
		var err error
		if id == "incidents" {
			page, err = s.Records.IncidentPage(f, c.Query("cursor"), limit)
		} else {
			page, err = s.Records.PatrolPage(c, f, c.Query("cursor"), limit)
		}
		if err != nil {
			fail(c, err)
			return
		}
		items.Features = make([]geoFeature, 0, len(page.Incidents)+len(page.Patrols))
		for i := range page.Incidents {
			items.Features = append(items.Features, incidentFeature(&page.Incidents[i]))
		}
		for i := range page.Patrols {
			items.Features = append(items.Features, patrolFeature(&page.Patrols[i], zoom))
		}
		items.NumberMatched, next = page.Matched, page.Next
	}
	if fs.answer(c) {
		return
	}
	items.Type = "FeatureCollection"
	items.NumberReturned = len(items.Features)
	items.TimeStamp = s.Now().UTC().Format(time.RFC3339)
	self := *c.Request.URL
	items.Links = []ogcLink{{Href: self.RequestURI(), Rel: "self", Type: geoJSONType}}
	if next != "" {
		q := self.Query()
		q.Set("cursor", next)
		self.RawQuery = q.Encode()
		items.Links = append(items.Links, ogcLink{Href: self.RequestURI(), Rel: "next", Type: geoJSONType})
	}
	writeGeoJSON(c, http.StatusOK, items)
}

// zoneItems pages the features of the zone layers in force; the cursor is
// the index of the next feature over the layers in order.
func (s *server) zoneItems(c *gin.Context, fs *fields, limit int) (ogcItems, string) {
	set := s.Zones.Current()
	layers := zones.Layers
	if v := c.Query("layer"); v != "" {
		if !slices.Contains(zones.Layers, v) {
			fs.bad("layer", "must be one of "+strings.Join(zones.Layers, ", "))
		}
		layers = []string{v}
	}
	var bbox *[4]float64
	if v := c.Query("bbox"); v != "" {
		b, err := parseBBox(v)
		if err != nil {
			fs.bad("bbox", err.Error())
		}
		bbox = b
	}
	start := 0
	if v := c.Query("cursor"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fs.bad("cursor", "malformed cursor")
		}
		start = n
	}
	if len(*fs) > 0 {
		return ogcItems{}, ""
	}
	var items ogcItems
	items.Features = []geoFeature{}
	k, next := 0, ""
	for _, name := range layers {
		z, v, ok := set.Layer(name)
		if !ok {
			continue
		}
		for i := 0; i < z.Len(); i++ {
			m, g := z.Feature(i)
			if bbox != nil && !g.Bound().Intersects(orb.Bound{Min: orb.Point{bbox[0], bbox[1]}, Max: orb.Point{bbox[2], bbox[3]}}) {
				continue
			}
			k++
			if k-1 < start {
				continue
			}
			if len(items.Features) == limit {
				if next == "" {
					next = strconv.Itoa(k - 1)
				}
				continue
			}
			props := map[string]any{}
			for key, val := range m.Properties {
				props[key] = val
			}
			props["layer"], props["layer_version"] = name, v.Version
			items.Features = append(items.Features, geoFeature{Type: "Feature", ID: name + "/" + m.ID, Geometry: zoneGeometry(g), Properties: props})
		}
	}
	items.NumberMatched = k
	return items, next
}

// patrolFeature renders a patrol's track, simplified to a pixel at zoom
// when zoom ≥ 0. A track of one fix is a Point.
func patrolFeature(r *enforcement.Record, zoom int) geoFeature {
	props := map[string]any{"kind": r.Kind, "rev": r.Rev, "unit": r.Unit, "officers": r.Officers,
		"observed_at": r.ObservedAt, "started_at": r.StartedAt, "ended_at": r.EndedAt,
		"effort": r.Effort, "href": "/api/v1/records/" + url.PathEscape(r.ID)}
	if r.Place != nil {
		props["cells"] = r.Place.Cells
		props["town"] = r.Place.Town
	}
	ls := make(orb.LineString, len(r.Track.Coordinates))
	for i, p := range r.Track.Coordinates {
		ls[i] = orb.Point(p)
	}
	if zoom >= 0 && len(ls) > 2 {
		lat := ls.Bound().Center()[1]
		metresPerPixel := 156543.03392 * math.Cos(lat*math.Pi/180) / math.Exp2(float64(zoom))
		ls = geo.Simplify(ls, metresPerPixel)
		props["simplified_to_m"] = math.Round(metresPerPixel*100) / 100
	}
	props["positions"] = len(ls)
	var g any
	if len(ls) == 1 || (len(ls) == 2 && ls[0] == ls[1]) {
		g = point(ls[0][0], ls[0][1])
	} else {
		line := geoLine{Type: "LineString", Coordinates: make([][2]float64, len(ls))}
		for i, p := range ls {
			line.Coordinates[i] = [2]float64(p)
		}
		g = line
	}
	return geoFeature{Type: "Feature", ID: r.ID, Geometry: g, Properties: props}
}
