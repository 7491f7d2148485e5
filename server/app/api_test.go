package app_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/app"
	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/enforcement"
)

// fixture is a running server with a small unit tree and one account per role.
type fixture struct {
	base                                         string
	dir                                          string
	anon, admin, office, supA, offA, offA2, offB *client
	device                                       *client
	app                                          *app.App
}

// newFixture starts a server (extra: more configuration flags) with units,
// users and signed-in clients.
func newFixture(t *testing.T, extra ...string) *fixture {
	t.Helper()
	dir := t.TempDir()
	a := start(t, testConfig(t, dir, extra...))
	f := &fixture{base: a.URL(), dir: dir, anon: newClient(t, a.URL()), app: a}
	f.admin = f.anon.login("root", "root-password")
	for _, u := range []enforcement.Unit{
		{ID: "miyun", Name: "密云区保水大队", Tier: "district"},
		{ID: "town-a", Name: "甲镇", Tier: "town", Parent: "miyun"},
		{ID: "town-b", Name: "乙镇", Tier: "town", Parent: "miyun"},
		{ID: "village-a1", Name: "甲一村", Tier: "village", Parent: "town-a"},
	} {
		if st := f.admin.do("POST", "/api/v1/units", u, nil); st != 201 {
			t.Fatalf("unit %s: %d", u.ID, st)
		}
	}
	users := []struct{ name, role, unit string }{
		{"office", "office", "miyun"}, {"sup-a", "supervisor", "town-a"}, {"off-a", "officer", "town-a"},
		{"off-a2", "officer", "town-a"}, {"off-b", "officer", "town-b"}, {"dev-1", "device", "town-a"},
	}
	for _, u := range users {
		body := map[string]string{"username": u.name, "password": "password-" + u.name, "role": u.role, "unit": u.unit}
		if st := f.admin.do("POST", "/api/v1/users", body, nil); st != 201 {
			t.Fatalf("user %s: %d", u.name, st)
		}
	}
	f.office = f.anon.login("office", "password-office")
	f.supA = f.anon.login("sup-a", "password-sup-a")
	f.offA = f.anon.login("off-a", "password-off-a")
	f.offA2 = f.anon.login("off-a2", "password-off-a2")
	f.offB = f.anon.login("off-b", "password-off-b")
	f.device = &client{t: t, base: a.URL(), http: f.anon.http}
	return f
}

func rec(id, unit string, persons int) string {
	return fmt.Sprintf(`{"id":%q,"kind":"expulsion","observed_at":"2020-07-04T15:20:00+08:00","location":{"type":"Point","coordinates":[116.95,40.52]},"unit":%q,"persons":%d,"activity":"swimming"}`, id, unit, persons)
}

type problem struct {
	Type   string                   `json:"type"`
	Status int                      `json:"status"`
	Errors []enforcement.FieldError `json:"errors"`
}

// fieldsOf lists the offending fields a problem names, sorted.
func fieldsOf(p problem) []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	sort.Strings(out)
	return out
}

func TestRecordsAPI(t *testing.T) {
	f := newFixture(t)
	if st := f.offA.do("POST", "/api/v1/records", rec("r-a", "town-a", 3), nil); st != 201 {
		t.Fatalf("create: %d", st)
	}
	if st := f.offB.do("POST", "/api/v1/records", rec("r-b", "town-b", 2), nil); st != 201 {
		t.Fatalf("create: %d", st)
	}
	if st := f.offA2.do("POST", "/api/v1/records", rec("r-a1", "village-a1", 1), nil); st != 403 {
		t.Fatalf("officer of town-a creating for village-a1: %d, want 403", st)
	}
	if st := f.supA.do("POST", "/api/v1/records", rec("r-a1", "village-a1", 1), nil); st != 201 {
		t.Fatalf("supervisor creating in subtree: %d", st)
	}
	big := strings.Repeat(" ", 5<<20)
	cases := []struct {
		name       string
		c          *client
		method     string
		path       string
		body       any
		wantStatus int
		wantType   string
		wantFields []string
	}{
		{"same id same body is a retry", f.offA, "POST", "/api/v1/records", rec("r-a", "town-a", 3), 200, "", nil},
		{"same id other body", f.offA, "POST", "/api/v1/records", rec("r-a", "town-a", 4), 409, "/problems/conflict", nil},
		{"malformed json", f.offA, "POST", "/api/v1/records", `{"id":`, 422, "/problems/validation", []string{""}},
		{"not an object", f.offA, "POST", "/api/v1/records", `[1,2]`, 422, "/problems/validation", []string{""}},
		{"every offending field", f.offA, "POST", "/api/v1/records",
			`{"id":"x:y","kind":"expulsion","persons":-1,"foo":1,"unit":"town-a","observed_at":"2020-01-01T00:00:00Z","location":{"type":"Point","coordinates":[200,95]}}`,
			422, "/problems/validation", []string{"activity", "foo", "id", "location.coordinates", "location.coordinates", "persons"}},
		{"wrong types", f.offA, "POST", "/api/v1/records",
			`{"id":"w1","kind":"vehicle","vehicles":"three","unit":"town-a","observed_at":"yesterday","location":{"type":"Point","coordinates":[116.9,40.5]}}`,
			422, "/problems/validation", []string{"observed_at", "vehicles"}},
		{"unknown kind", f.offA, "POST", "/api/v1/records",
			`{"id":"k1","kind":"picnic","unit":"town-a","observed_at":"2020-01-01T00:00:00Z","location":{"type":"Point","coordinates":[116.9,40.5]}}`,
			422, "/problems/validation", []string{"kind"}},
		{"absurd count", f.offA, "POST", "/api/v1/records", rec("c1", "town-a", 100000), 422, "/problems/validation", []string{"persons"}},
		{"unknown unit", f.office, "POST", "/api/v1/records", rec("u1", "town-z", 1), 422, "/problems/validation", []string{"unit"}},
		{"body too large", f.offA, "POST", "/api/v1/records", big, 413, "/problems/body-too-large", nil},
		{"form content type", f.offA, "POST", "/api/v1/auth/login", nil, 415, "", nil},
		{"no token", f.anon, "GET", "/api/v1/records", nil, 401, "/problems/unauthenticated", nil},
		{"forged token", &client{t: t, base: f.base, token: "eyJzdWIiOiJvZmZpY2UiLCJyb2xlIjoib2ZmaWNlIn0.AAAA", http: f.anon.http}, "GET", "/api/v1/records", nil, 401, "/problems/unauthenticated", nil},
		{"device account has no data access", f.device, "GET", "/api/v1/records", nil, 401, "/problems/unauthenticated", nil},
		{"officer reads own team's record", f.offA2, "GET", "/api/v1/records/r-a", nil, 200, "", nil},
		{"officer reads another town's record", f.offA, "GET", "/api/v1/records/r-b", nil, 404, "/problems/not-found", nil},
		{"officer reads a village record of its town", f.offA, "GET", "/api/v1/records/r-a1", nil, 404, "/problems/not-found", nil},
		{"supervisor reads subtree", f.supA, "GET", "/api/v1/records/r-a1", nil, 200, "", nil},
		{"supervisor reads outside subtree", f.supA, "GET", "/api/v1/records/r-b", nil, 404, "/problems/not-found", nil},
		{"office reads anything", f.office, "GET", "/api/v1/records/r-b", nil, 200, "", nil},
		{"admin holds no record data", f.admin, "GET", "/api/v1/records/r-b", nil, 403, "/problems/forbidden", nil},
		{"officer creates users", f.offA, "POST", "/api/v1/users", map[string]string{"username": "x1", "password": "12345678", "role": "admin"}, 403, "/problems/forbidden", nil},
		{"teammate voids a record not theirs", f.offA2, "POST", "/api/v1/records/r-a/void", map[string]any{"base_rev": 1, "reason": "x"}, 403, "/problems/forbidden", nil},
		{"void without reason", f.offA, "POST", "/api/v1/records/r-a/void", map[string]any{"base_rev": 1}, 422, "/problems/validation", []string{"reason"}},
		{"correction with unknown wrapper field", f.offA, "POST", "/api/v1/records/r-a/corrections", `{"base_rev":1,"rec":{}}`, 400, "/problems/malformed-request", []string{"rec"}},
		{"bad list query", f.office, "GET", "/api/v1/records?kind=x&limit=0&bbox=1,2&from=2020-13-01", nil, 400, "/problems/bad-query", []string{"bbox", "from", "kind", "limit"}},
		{"bad totals query", f.office, "GET", "/api/v1/reports/totals?from=2020-01-01", nil, 400, "/problems/bad-query", []string{"to"}},
		{"bad cursor", f.office, "GET", "/api/v1/records?cursor=@@", nil, 400, "/problems/bad-query", nil},
		{"unknown route", f.office, "GET", "/api/v1/nothing", nil, 404, "/problems/not-found", nil},
		{"wrong method", f.office, "DELETE", "/api/v1/records", nil, 405, "/problems/method-not-allowed", nil},
		{"bad login", f.anon, "POST", "/api/v1/auth/login", map[string]string{"username": "off-a", "password": "nope-nope"}, 401, "/problems/bad-credentials", nil},
		{"login unknown field", f.anon, "POST", "/api/v1/auth/login", map[string]string{"user": "off-a"}, 400, "/problems/malformed-request", []string{"user"}},
		{"bad refresh token", f.anon, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": "nope"}, 401, "/problems/bad-credentials", nil},
		{"user with bad fields", f.admin, "POST", "/api/v1/users", map[string]string{"username": "A!", "password": "short", "role": "king", "unit": "nowhere"}, 422, "/problems/validation", []string{"password", "role", "unit", "username"}},
		{"duplicate user", f.admin, "POST", "/api/v1/users", map[string]string{"username": "off-a", "password": "12345678", "role": "officer", "unit": "town-a"}, 409, "/problems/already-exists", nil},
		{"unit under a village", f.admin, "POST", "/api/v1/units", map[string]string{"id": "v2", "name": "x", "tier": "village", "parent": "village-a1"}, 422, "/problems/validation", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := *tc.c
			c.t = t
			var st int
			var b []byte
			var h http.Header
			if tc.name == "form content type" {
				req, _ := http.NewRequest("POST", f.base+tc.path, strings.NewReader("username=a"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := c.http.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				st, h = resp.StatusCode, resp.Header
			} else {
				st, b, h = c.raw(tc.method, tc.path, tc.body)
			}
			if st != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", st, tc.wantStatus, b)
			}
			if st < 400 {
				return
			}
			if ct := h.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
			if tc.wantType == "" || len(b) == 0 {
				return
			}
			var p problem
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			if p.Type != tc.wantType || p.Status != st {
				t.Errorf("problem %+v, want type %s", p, tc.wantType)
			}
			if tc.wantFields != nil && fmt.Sprint(fieldsOf(p)) != fmt.Sprint(tc.wantFields) {
				t.Errorf("fields %v, want %v (%s)", fieldsOf(p), tc.wantFields, b)
			}
		})
	}
	// Nothing above changed the totals: 3 + 2 + 1 persons.
	var rep struct {
		Totals enforcement.Totals `json:"totals"`
	}
	f.office.do("GET", "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01", nil, &rep)
	if rep.Totals.PersonsCleared != 6 {
		t.Errorf("persons cleared %d after the bad requests, want 6", rep.Totals.PersonsCleared)
	}
}

func TestCorrectVoidHistoryAndListOverHTTP(t *testing.T) {
	f := newFixture(t)
	f.offA.do("POST", "/api/v1/records", rec("r1", "town-a", 3), nil)
	// GCJ-02 input is stored as WGS-84 with the original kept.
	gcj := `{"id":"r2","kind":"vehicle","crs":"gcj02","observed_at":"2020-08-01T10:00:00+08:00","location":{"type":"Point","coordinates":[116.38404722455657,39.91334545536069]},"unit":"town-a","vehicles":2}`
	var r2 enforcement.Record
	if st := f.offA.do("POST", "/api/v1/records", gcj, &r2); st != 201 {
		t.Fatalf("gcj02 create: %d", st)
	}
	if r2.OriginalLocation == nil || r2.OriginalLocation.CRS != "gcj02" ||
		absf(r2.Location.Coordinates[0]-116.377817) > 1e-7 || absf(r2.Location.Coordinates[1]-39.911954) > 1e-7 {
		t.Errorf("gcj02 location stored as %+v (original %+v), want WGS-84 116.377817,39.911954", r2.Location, r2.OriginalLocation)
	}
	var cur enforcement.Record
	f.offA.do("GET", "/api/v1/records/r1", nil, &cur)
	var body map[string]any
	_ = json.Unmarshal([]byte(rec("r1", "town-a", 5)), &body)
	var fixed enforcement.Record
	if st := f.offA.do("POST", "/api/v1/records/r1/corrections", map[string]any{"base_rev": cur.Rev, "record": body}, &fixed); st != 201 || fixed.Rev != 2 {
		t.Fatalf("correct: %d %+v", st, fixed)
	}
	var p struct {
		Status  int                 `json:"status"`
		Current *enforcement.Record `json:"current"`
	}
	if st := f.supA.do("POST", "/api/v1/records/r1/corrections", map[string]any{"base_rev": 1, "record": body}, &p); st != 409 || p.Current == nil || p.Current.Rev != 2 {
		t.Errorf("stale correction: %d %+v", st, p)
	}
	var hist struct {
		Revisions []enforcement.Record `json:"revisions"`
	}
	if st := f.offA2.do("GET", "/api/v1/records/r1/history", nil, &hist); st != 200 || len(hist.Revisions) != 2 || hist.Revisions[0].Persons != 3 {
		t.Errorf("history: %d %+v", st, hist)
	}
	if st := f.supA.do("POST", "/api/v1/records/r1/void", map[string]any{"base_rev": 2, "reason": "duplicate entry"}, nil); st != 201 {
		t.Errorf("supervisor void: %d", st)
	}
	var page struct {
		Records    []enforcement.Record `json:"records"`
		NextCursor string               `json:"next_cursor"`
	}
	f.office.do("GET", "/api/v1/records?unit=town-a", nil, &page)
	if len(page.Records) != 1 || page.Records[0].ID != "r2" {
		t.Errorf("list without voided: %+v", page.Records)
	}
	f.office.do("GET", "/api/v1/records?unit=town-a&voided=true&limit=1", nil, &page)
	if len(page.Records) != 1 || page.NextCursor == "" {
		t.Fatalf("first page: %+v", page)
	}
	cursor := page.NextCursor
	page.Records, page.NextCursor = nil, ""
	f.office.do("GET", "/api/v1/records?unit=town-a&voided=true&limit=1&cursor="+cursor, nil, &page)
	if len(page.Records) != 1 || page.NextCursor != "" {
		t.Errorf("second page: %+v", page)
	}
	page.Records = nil
	f.office.do("GET", "/api/v1/records?kind=vehicle&bbox=116,39,117,40&from=2020-08-01&to=2020-08-02", nil, &page)
	if len(page.Records) != 1 {
		t.Errorf("filtered list: %+v", page.Records)
	}
	var rep struct {
		Totals enforcement.Totals `json:"totals"`
	}
	f.office.do("GET", "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01", nil, &rep)
	if rep.Totals.PersonsCleared != 0 || rep.Totals.VehiclesCleared != 2 {
		t.Errorf("totals after correction and void: %+v", rep.Totals)
	}
	var ver struct {
		OK      bool  `json:"ok"`
		Entries int64 `json:"entries"`
	}
	if st := f.office.do("GET", "/api/v1/audit/verify", nil, &ver); st != 200 || !ver.OK {
		t.Errorf("audit verify: %d %+v", st, ver)
	}
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	f.anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "off-a", "password": "password-off-a"}, &tok)
	var next struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if st := f.anon.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": tok.RefreshToken}, &next); st != 200 || next.AccessToken == "" {
		t.Fatalf("refresh: %d", st)
	}
	if st := f.anon.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": tok.RefreshToken}, nil); st != 401 {
		t.Errorf("reusing a rotated refresh token: %d, want 401", st)
	}
	if st := f.anon.do("POST", "/api/v1/auth/logout", map[string]string{"refresh_token": next.RefreshToken}, nil); st != 204 {
		t.Errorf("logout: %d", st)
	}
	if st := f.anon.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": next.RefreshToken}, nil); st != 401 {
		t.Errorf("refresh after logout: %d, want 401", st)
	}
	// Tokens signed with the server's own key (read from the data
	// directory): an expired one and a live one whose claims were edited.
	hexKey, err := os.ReadFile(filepath.Join(f.dir, "token.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(strings.TrimSpace(string(hexKey)))
	expired, _ := auth.NewSigner(key, -time.Minute)
	old, _ := expired.Issue(auth.Principal{Username: "off-a", Role: auth.RoleOfficer, Unit: "town-a"})
	var p problem
	c := &client{t: t, base: f.base, token: old, http: f.anon.http}
	if st := c.do("GET", "/api/v1/me", nil, &p); st != 401 || p.Type != "/problems/token-expired" {
		t.Errorf("expired token: %d %+v", st, p)
	}
	live, _ := auth.NewSigner(key, time.Minute)
	good, _ := live.Issue(auth.Principal{Username: "off-a", Role: auth.RoleOfficer, Unit: "town-a"})
	payload, sig, _ := strings.Cut(good, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(payload)
	forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(claims), `"officer"`, `"office"`, 1))) + "." + sig
	c = &client{t: t, base: f.base, token: forged, http: f.anon.http}
	if st := c.do("GET", "/api/v1/records/r1", nil, &p); st != 401 || p.Type != "/problems/unauthenticated" {
		t.Errorf("token with edited role: %d %+v", st, p)
	}
	c = &client{t: t, base: f.base, token: good, http: f.anon.http}
	if st := c.do("GET", "/api/v1/me", nil, nil); st != 200 {
		t.Errorf("a live token of the server's key: %d", st)
	}
}

func absf(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestDevices(t *testing.T) {
	f := newFixture(t)
	type list struct {
		Devices []auth.Device `json:"devices"`
	}
	st, b, _ := f.offA.raw("GET", "/api/v1/devices", nil)
	if st != 200 || strings.TrimSpace(string(b)) != `{"devices":[]}` {
		t.Fatalf("no devices yet: %d %s, want an empty list", st, b)
	}
	if st := f.offA.do("POST", "/api/v1/devices", map[string]string{"id": "phone-a-1", "name": "华为 P40"}, nil); st != 201 {
		t.Fatalf("register: %d", st)
	}
	if st := f.offA.do("POST", "/api/v1/devices", map[string]string{"id": "phone-a-1", "name": "again"}, nil); st != 200 {
		t.Errorf("the owner registers the same id again: %d, want 200", st)
	}
	if st := f.offA2.do("POST", "/api/v1/devices", map[string]string{"id": "phone-a-1", "name": "mine now"}, nil); st != 409 {
		t.Errorf("another officer registers the same id: %d, want 409", st)
	}
	for _, tc := range []struct {
		name string
		c    *client
		want int
	}{{"owner", f.offA, 1}, {"another officer", f.offA2, 0}, {"admin", f.admin, 1}} {
		var l list
		if st := tc.c.do("GET", "/api/v1/devices", nil, &l); st != 200 || len(l.Devices) != tc.want {
			t.Errorf("%s: %d, %d devices, want %d", tc.name, st, len(l.Devices), tc.want)
		}
	}
	if st := f.office.do("GET", "/api/v1/devices", nil, nil); st != 403 {
		t.Errorf("office: %d, want 403", st)
	}
}
