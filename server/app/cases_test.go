package app_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
)

// caseAnswer is what the case endpoints answer.
type caseAnswer struct {
	Case    cases.Case `json:"case"`
	Rev     int        `json:"rev"`
	Allowed []string   `json:"allowed"`
}

type caseProblem struct {
	Type    string   `json:"type"`
	Status  int      `json:"status"`
	Detail  string   `json:"detail"`
	Allowed []string `json:"allowed"`
}

// TestCaseLifecycle files two cases over HTTP and walks the first from
// filing to closed as the procedure requires, checking the numbers, the
// role policy, illegal and stale steps, the masking of identity numbers, a
// restart on the same data directory and the audit chain.
func TestCaseLifecycle(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	a := start(t, cfg)
	root := newClient(t, a.URL()).login("root", "root-password")
	if st := root.do("POST", "/api/v1/units", enforcement.Unit{ID: "miyun", Name: "密云区保水大队", Tier: "district"}, nil); st != 201 {
		t.Fatalf("unit: %d", st)
	}
	for _, u := range []struct{ name, role string }{{"office", "office"}, {"officer", "officer"}, {"sup", "supervisor"}} {
		body := map[string]string{"username": u.name, "password": "password-" + u.name, "role": u.role, "unit": "miyun"}
		if st := root.do("POST", "/api/v1/users", body, nil); st != 201 {
			t.Fatalf("user %s: %d", u.name, st)
		}
	}
	anon := newClient(t, a.URL())
	office := anon.login("office", "password-office")
	officer := anon.login("officer", "password-officer")

	doc := strings.Repeat("ab", 32)
	filedAt := time.Now().Add(-10 * 24 * time.Hour).Truncate(time.Second)
	year := filedAt.In(enforcement.Shanghai).Year()
	file := func(c *client, id string) caseAnswer {
		t.Helper()
		body := map[string]any{"id": id, "violation": "swimming", "facts": "swimming in the first-grade zone",
			"party":         map[string]string{"name": "张三", "id_number": "110228199001011234"},
			"circumstances": map[string]any{"circumstance": "ordinary"}, "filed_at": filedAt, "documents": []string{doc}}
		var got caseAnswer
		if st, b, _ := c.raw("POST", "/api/v1/cases", body); st != 201 {
			t.Fatalf("file %s: %d %s", id, st, b)
		} else if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := file(office, "case-1")
	if want := fmt.Sprintf("密保罚〔%d〕第0001号", year); first.Case.CaseNo != want || first.Rev != 1 || first.Case.State != cases.StateFiled {
		t.Fatalf("first case: %s rev %d %s, want %s rev 1 filed", first.Case.CaseNo, first.Rev, first.Case.State, want)
	}
	if first.Case.Party.IDNumber != "110228199001011234" {
		t.Errorf("the office sees the id number as %q", first.Case.Party.IDNumber)
	}
	second := file(officer, "case-2")
	if want := fmt.Sprintf("密保罚〔%d〕第0002号", year); second.Case.CaseNo != want {
		t.Errorf("second case: %s, want %s", second.Case.CaseNo, want)
	}
	if second.Case.Party.IDNumber != "110228********1234" {
		t.Errorf("the officer sees the id number as %q, want it masked", second.Case.Party.IDNumber)
	}

	// Requests that fail, before and between the steps.
	for _, tc := range []struct {
		name         string
		c            *client
		method, path string
		body         any
		want         int
		wantType     string
	}{
		{"id taken", office, "POST", "/api/v1/cases", map[string]any{"id": "case-1", "violation": "x", "party": map[string]string{"name": "x"}, "filed_at": filedAt}, 409, "/problems/already-exists"},
		{"bad filing", office, "POST", "/api/v1/cases", map[string]any{"id": "case-3", "violation": "", "party": map[string]string{"name": ""}, "filed_at": filedAt}, 422, "/problems/validation"},
		{"unknown member", office, "POST", "/api/v1/cases", map[string]any{"id": "case-3", "colour": "blue"}, 400, "/problems/malformed-request"},
		{"unknown case", office, "GET", "/api/v1/cases/nope", nil, 404, "/problems/not-found"},
		{"step on an unknown case", office, "POST", "/api/v1/cases/nope/steps", map[string]any{"base_rev": 1, "action": "close"}, 404, "/problems/not-found"},
		{"step without base_rev", office, "POST", "/api/v1/cases/case-1/steps", map[string]any{"action": "close"}, 422, "/problems/validation"},
		{"bad state filter", office, "GET", "/api/v1/cases?state=burning", nil, 400, "/problems/bad-query"},
		{"anonymous", anon, "GET", "/api/v1/cases", nil, 401, "/problems/unauthenticated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p caseProblem
			if st := tc.c.do(tc.method, tc.path, tc.body, &p); st != tc.want || p.Type != tc.wantType {
				t.Errorf("%d %s, want %d %s", st, p.Type, tc.want, tc.wantType)
			}
		})
	}

	rev := 1
	step := func(c *client, body map[string]any) caseAnswer {
		t.Helper()
		body["base_rev"] = rev
		var got caseAnswer
		if st, b, _ := c.raw("POST", "/api/v1/cases/case-1/steps", body); st != 200 {
			t.Fatalf("step %v: %d %s", body["action"], st, b)
		} else if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Rev != rev+1 {
			t.Fatalf("step %v: rev %d, want %d", body["action"], got.Rev, rev+1)
		}
		rev = got.Rev
		return got
	}
	day := func(n int) time.Time { return time.Now().Add(time.Duration(n) * 24 * time.Hour).Truncate(time.Second) }
	step(officer, map[string]any{"action": "start_investigation", "at": day(-9)})
	got := step(officer, map[string]any{"action": "serve_notice", "at": day(-8), "proposed_fine_fen": 500_00, "documents": []string{doc}})
	if got.Case.State != cases.StateNoticeServed {
		t.Fatalf("after the notice: %s", got.Case.State)
	}

	// An illegal step names what the state allows.
	var p caseProblem
	if st := office.do("POST", "/api/v1/cases/case-1/steps", map[string]any{"base_rev": rev, "action": "close"}, &p); st != 409 ||
		p.Type != "/problems/illegal-transition" || !reflect.DeepEqual(p.Allowed, cases.Allowed(cases.StateNoticeServed)) {
		t.Errorf("close from notice_served: %d %+v", st, p)
	}
	// An officer may not decide.
	p = caseProblem{}
	if st := officer.do("POST", "/api/v1/cases/case-1/steps", map[string]any{"base_rev": rev, "action": "decide",
		"decided_fine_fen": 500_00, "documents": []string{doc}}, &p); st != 403 || p.Type != "/problems/forbidden" {
		t.Errorf("officer decides: %d %+v", st, p)
	}
	// A step prepared on an older revision.
	p = caseProblem{}
	if st := office.do("POST", "/api/v1/cases/case-1/steps", map[string]any{"base_rev": rev - 1, "action": "decide",
		"decided_fine_fen": 500_00, "documents": []string{doc}}, &p); st != 409 || p.Type != "/problems/conflict" {
		t.Errorf("stale base_rev: %d %+v", st, p)
	}
	// A step without what the action requires.
	p = caseProblem{}
	if st := office.do("POST", "/api/v1/cases/case-1/steps", map[string]any{"base_rev": rev, "action": "decide"}, &p); st != 422 || p.Type != "/problems/validation" {
		t.Errorf("decide without a fine: %d %+v", st, p)
	}

	step(office, map[string]any{"action": "decide", "decided_fine_fen": 500_00, "documents": []string{doc}})
	step(officer, map[string]any{"action": "serve_decision", "documents": []string{doc}})
	step(officer, map[string]any{"action": "record_payment"})
	got = step(office, map[string]any{"action": "close"})
	if got.Case.State != cases.StateClosed || rev != 7 || len(got.Case.Steps) != 7 || got.Case.DecidedFineFen != 500_00 {
		t.Fatalf("closed: %s rev %d, %d steps, fine %d", got.Case.State, rev, len(got.Case.Steps), got.Case.DecidedFineFen)
	}
	if !slices.Equal(got.Allowed, []string{"revoke"}) {
		t.Errorf("a closed case allows %v, want only revoke", got.Allowed)
	}

	var list struct {
		Cases []struct {
			ID    string      `json:"id"`
			State cases.State `json:"state"`
			Rev   int         `json:"rev"`
			Party cases.Party `json:"party"`
		} `json:"cases"`
	}
	if st := officer.do("GET", "/api/v1/cases?state=closed", nil, &list); st != 200 || len(list.Cases) != 1 ||
		list.Cases[0].ID != "case-1" || list.Cases[0].Rev != 7 || list.Cases[0].Party.IDNumber != "110228********1234" {
		t.Errorf("closed cases: %d %+v", st, list)
	}
	var od struct {
		Overdue []json.RawMessage `json:"overdue"`
	}
	if st, b, _ := officer.raw("GET", "/api/v1/cases/overdue", nil); st != 200 {
		t.Errorf("overdue: %d %s", st, b)
	} else if err := json.Unmarshal(b, &od); err != nil || od.Overdue == nil || len(od.Overdue) != 0 {
		t.Errorf("overdue: %s", b)
	}

	// A restart on the same data directory reads the same cases.
	before := map[string][]byte{}
	for _, id := range []string{"case-1", "case-2"} {
		st, b, _ := office.raw("GET", "/api/v1/cases/"+id, nil)
		if st != 200 {
			t.Fatalf("GET %s: %d %s", id, st, b)
		}
		before[id] = b
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := start(t, cfg)
	office = newClient(t, b.URL()).login("office", "password-office")
	for id, want := range before {
		st, got, _ := office.raw("GET", "/api/v1/cases/"+id, nil)
		if st != 200 || !bytes.Equal(got, want) {
			t.Errorf("%s after a restart: %d\n got %s\nwant %s", id, st, got, want)
		}
	}
	// The sequence goes on after the restart.
	third := file(office, "case-3")
	if want := fmt.Sprintf("密保罚〔%d〕第0003号", year); third.Case.CaseNo != want {
		t.Errorf("third case: %s, want %s", third.Case.CaseNo, want)
	}

	var ver records.AuditReport
	if st := office.do("GET", "/api/v1/audit/verify", nil, &ver); st != 200 || !ver.OK {
		t.Errorf("audit verify: %d %+v", st, ver)
	}
	var audited []string
	err := b.Store.ScanAudit(context.Background(), func(e audit.Entry) error {
		if strings.HasPrefix(e.Object, "case:") {
			audited = append(audited, e.Action+" "+e.Object+" "+strconv.FormatInt(e.Rev, 10))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"case.file case:case-1 1", "case.file case:case-2 1", "case.start_investigation case:case-1 2",
		"case.serve_notice case:case-1 3", "case.decide case:case-1 4", "case.serve_decision case:case-1 5",
		"case.record_payment case:case-1 6", "case.close case:case-1 7", "case.file case:case-3 1"}
	if !reflect.DeepEqual(audited, want) {
		t.Errorf("case audit entries\n got %q\nwant %q", audited, want)
	}
}

// TestCaseScope checks that a case belongs to a team and is seen as that
// team's records are: an officer of another town neither lists nor opens
// it (404, as for a case that does not exist) nor may step it, nor file a
// case for a team outside their scope; the office sees every case.
func TestCaseScope(t *testing.T) {
	a := start(t, testConfig(t, t.TempDir()))
	root := newClient(t, a.URL()).login("root", "root-password")
	for _, u := range []enforcement.Unit{{ID: "miyun", Name: "密云区保水大队", Tier: "district"},
		{ID: "town-a", Name: "甲镇", Tier: "town", Parent: "miyun"}, {ID: "town-b", Name: "乙镇", Tier: "town", Parent: "miyun"}} {
		if st := root.do("POST", "/api/v1/units", u, nil); st != 201 {
			t.Fatalf("unit %s: %d", u.ID, st)
		}
	}
	for _, u := range []struct{ name, role, unit string }{{"office", "office", "miyun"}, {"officer-a", "officer", "town-a"},
		{"officer-b", "officer", "town-b"}} {
		body := map[string]string{"username": u.name, "password": "password-" + u.name, "role": u.role, "unit": u.unit}
		if st := root.do("POST", "/api/v1/users", body, nil); st != 201 {
			t.Fatalf("user %s: %d", u.name, st)
		}
	}
	anon := newClient(t, a.URL())
	office, offA, offB := anon.login("office", "password-office"), anon.login("officer-a", "password-officer-a"),
		anon.login("officer-b", "password-officer-b")
	body := func(id, unit string) map[string]any {
		b := map[string]any{"id": id, "violation": "swimming", "party": map[string]string{"name": "李四"},
			"filed_at": time.Now().Add(-time.Hour).Truncate(time.Second)}
		if unit != "" {
			b["unit"] = unit
		}
		return b
	}
	var got caseAnswer
	if st := offA.do("POST", "/api/v1/cases", body("case-a", ""), &got); st != 201 || got.Case.Unit != "town-a" {
		t.Fatalf("officer-a files: %d, unit %q (want town-a, the officer's team)", st, got.Case.Unit)
	}
	if st := offA.do("POST", "/api/v1/cases", body("case-x", "town-b"), nil); st != 403 {
		t.Fatalf("officer-a files for town-b: %d, want 403", st)
	}
	if st := office.do("POST", "/api/v1/cases", body("case-y", "nowhere"), nil); st != 422 {
		t.Fatalf("a case for an unknown unit: %d, want 422", st)
	}
	var p caseProblem
	if st := offB.do("GET", "/api/v1/cases/case-a", nil, &p); st != 404 {
		t.Fatalf("officer-b opens town-a's case: %d %+v, want 404", st, p)
	}
	if st := offB.do("POST", "/api/v1/cases/case-a/steps", map[string]any{"base_rev": 1, "action": "start_investigation"}, nil); st != 404 {
		t.Fatalf("officer-b steps town-a's case: %d, want 404", st)
	}
	count := func(c *client) int {
		var l struct{ Cases []json.RawMessage }
		c.do("GET", "/api/v1/cases", nil, &l)
		return len(l.Cases)
	}
	if n, m, o := count(offA), count(offB), count(office); n != 1 || m != 0 || o != 1 {
		t.Fatalf("cases listed: officer-a %d, officer-b %d, office %d; want 1, 0, 1", n, m, o)
	}
	if st := office.do("GET", "/api/v1/cases/case-a", nil, &got); st != 200 || got.Case.ID != "case-a" {
		t.Fatalf("the office opens it: %d", st)
	}
}

// TestCaseDossier exports a case file with a document its filing attached,
// checks it with sha256sum (a tool we did not write) as the README says,
// and checks that an altered document fails the check, which names it.
func TestCaseDossier(t *testing.T) {
	sumTool, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Skip("sha256sum is not installed")
	}
	a := start(t, testConfig(t, t.TempDir()))
	root := newClient(t, a.URL()).login("root", "root-password")
	if st := root.do("POST", "/api/v1/units", enforcement.Unit{ID: "miyun", Name: "密云区保水大队", Tier: "district"}, nil); st != 201 {
		t.Fatalf("unit: %d", st)
	}
	if st := root.do("POST", "/api/v1/users", map[string]string{"username": "office", "password": "password-office", "role": "office", "unit": "miyun"}, nil); st != 201 {
		t.Fatalf("user: %d", st)
	}
	office := newClient(t, a.URL()).login("office", "password-office")
	photo := bytes.Repeat([]byte("evidence photo "), 5000)
	sum := sha256.Sum256(photo)
	sha := hex.EncodeToString(sum[:])
	if st, b, _, err := office.upload(sha, 0, int64(len(photo)), bytes.NewReader(photo), int64(len(photo)), false); err != nil || st != 201 {
		t.Fatalf("upload: %d %s %v", st, b, err)
	}
	missing := strings.Repeat("cd", 32)
	body := map[string]any{"id": "case-d", "violation": "swimming", "party": map[string]string{"name": "王五", "id_number": "110228199001011234"},
		"filed_at": time.Now().Add(-time.Hour).Truncate(time.Second), "documents": []string{sha, missing}}
	if st := office.do("POST", "/api/v1/cases", body, nil); st != 201 {
		t.Fatalf("file: %d", st)
	}
	st, zipped, h := office.raw("GET", "/api/v1/cases/case-d/dossier", nil)
	if st != 200 || h.Get("Content-Type") != "application/zip" {
		t.Fatalf("dossier: %d %s", st, h)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f.Name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"case.json", "steps/01-file.json", "documents/" + sha, "MISSING.txt", "MANIFEST.sha256"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("archive holds %v, want %v", names, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "MISSING.txt")); !bytes.Contains(b, []byte(missing)) {
		t.Fatalf("MISSING.txt: %s", b)
	}
	check := func() (string, error) {
		cmd := exec.Command(sumTool, "-c", "MANIFEST.sha256")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := check(); err != nil {
		t.Fatalf("sha256sum -c on the dossier: %v\n%s", err, out)
	}
	// Alter the document: the check fails and names it.
	if err := os.WriteFile(filepath.Join(dir, "documents", sha), append(photo[:len(photo)-1:len(photo)-1], 'X'), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := check(); err == nil || !strings.Contains(out, "documents/"+sha+": FAILED") {
		t.Fatalf("sha256sum -c after altering the document: %v\n%s", err, out)
	}
}
