package app_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/custody"
	"github.com/baoshui/baoshui/server/enforcement"
)

// lawRig is a server with a district team, a town team under it and a
// second town team, and the accounts that act on cases, custody and
// campaigns.
type lawRig struct {
	url                          string
	root, office, sup, officer   *client
	otherOfficer, otherSup, anon *client
}

func newLawRig(t *testing.T) *lawRig {
	t.Helper()
	a := start(t, testConfig(t, t.TempDir()))
	anon := newClient(t, a.URL())
	root := anon.login("root", "root-password")
	for _, u := range []enforcement.Unit{
		{ID: "miyun", Name: "密云区保水大队", Tier: "district"},
		{ID: "town-gaoling", Name: "高岭镇", Tier: "town", Parent: "miyun"},
		{ID: "town-shicheng", Name: "石城镇", Tier: "town", Parent: "miyun"},
	} {
		if st := root.do("POST", "/api/v1/units", u, nil); st != 201 {
			t.Fatalf("unit %s: %d", u.ID, st)
		}
	}
	for _, u := range []struct{ name, role, unit string }{
		{"office", "office", "miyun"}, {"sup", "supervisor", "town-gaoling"}, {"officer", "officer", "town-gaoling"},
		{"other", "officer", "town-shicheng"}, {"other-sup", "supervisor", "town-shicheng"},
	} {
		body := map[string]string{"username": u.name, "password": "password-" + u.name, "role": u.role, "unit": u.unit}
		if st := root.do("POST", "/api/v1/users", body, nil); st != 201 {
			t.Fatalf("user %s: %d", u.name, st)
		}
	}
	return &lawRig{url: a.URL(), root: root, anon: anon,
		office: anon.login("office", "password-office"), sup: anon.login("sup", "password-sup"),
		officer: anon.login("officer", "password-officer"), otherOfficer: anon.login("other", "password-other"),
		otherSup: anon.login("other-sup", "password-other-sup")}
}

// totals are the office's totals of the days [from, to).
func (r *lawRig) totals(t *testing.T, from, to string) enforcement.Totals {
	t.Helper()
	var out struct{ Totals enforcement.Totals }
	post(t, r.office, "GET", "/api/v1/reports/totals?from="+from+"&to="+to, nil, 200, &out)
	return out.Totals
}

// post sends body and fails the test unless the answer has status want; it
// decodes the answer into out (when not nil) and returns the problem type.
func post(t *testing.T, c *client, method, path string, body any, want int, out any) string {
	t.Helper()
	st, b, _ := c.raw(method, path, body)
	if st != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, st, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	var p struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(b, &p)
	return p.Type
}

func confiscation(id, unit, campaign string, observed time.Time, items ...enforcement.Item) map[string]any {
	return map[string]any{"id": id, "kind": "confiscation", "observed_at": observed, "unit": unit, "campaign": campaign,
		"location": map[string]any{"type": "Point", "coordinates": []float64{116.95, 40.55}}, "items": items}
}

func expelled(id, unit, campaign string, observed time.Time, persons int) map[string]any {
	return map[string]any{"id": id, "kind": "expulsion", "observed_at": observed, "unit": unit, "campaign": campaign,
		"location": map[string]any{"type": "Point", "coordinates": []float64{116.95, 40.55}}, "persons": persons, "activity": "fishing"}
}

type custodyAnswer struct {
	Item    custody.Item `json:"item"`
	Rev     int          `json:"rev"`
	Allowed []string     `json:"allowed"`
}

type reconciliation struct {
	Reconciliation custody.Reconciliation `json:"reconciliation"`
	Custody        custody.Summary        `json:"custody"`
}

// TestCustodyOfConfiscatedItems takes the items of a confiscation record
// into custody over HTTP and follows them to storage, appraisal, return,
// destruction and auction, checking the role policy, illegal steps, retries,
// scope, and that custody reconciles with the enforcement totals.
func TestCustodyOfConfiscatedItems(t *testing.T) {
	r := newLawRig(t)
	day := time.Date(2020, 7, 4, 10, 0, 0, 0, enforcement.Shanghai)
	items := []enforcement.Item{{Name: "钓竿", Quantity: 3, UnitValueFen: 12000}, {Name: "渔网", Quantity: 1, UnitValueFen: 50000},
		{Name: "电瓶", Quantity: 2, UnitValueFen: 30000}}
	post(t, r.officer, "POST", "/api/v1/records", confiscation("conf-1", "town-gaoling", "", day, items...), 201, nil)

	var rec reconciliation
	recon := "/api/v1/custody/reconciliation?from=2020-07-01&to=2020-08-01"
	post(t, r.office, "GET", recon, nil, 200, &rec)
	if want := (custody.Reconciliation{TotalsItems: 6, TotalsValueFen: 146000, NotReceivedItems: 6, NotReceivedValueFen: 146000}); rec.Reconciliation != want {
		t.Errorf("before custody: %+v, want %+v", rec.Reconciliation, want)
	}

	// Another town's officer does not see the record; taking one line in
	// twice is safe.
	if typ := post(t, r.otherOfficer, "POST", "/api/v1/custody", map[string]any{"record_id": "conf-1"}, 404, nil); typ != "/problems/not-found" {
		t.Errorf("other town: %s", typ)
	}
	post(t, r.officer, "POST", "/api/v1/custody", map[string]any{"record_id": "conf-1", "lines": []int{7}}, 422, nil)
	var receipt struct {
		Received []custody.Item `json:"received"`
		Already  []string       `json:"already"`
	}
	post(t, r.officer, "POST", "/api/v1/custody", map[string]any{"record_id": "conf-1", "lines": []int{0}, "location": "高岭镇执法站"}, 201, &receipt)
	if len(receipt.Received) != 1 || receipt.Received[0].ID != "conf-1:000" || receipt.Received[0].Quantity != 3 {
		t.Fatalf("first receipt %+v", receipt)
	}
	post(t, r.officer, "POST", "/api/v1/custody", map[string]any{"record_id": "conf-1"}, 201, &receipt)
	if len(receipt.Received) != 2 || !slices.Equal(receipt.Already, []string{"conf-1:000"}) {
		t.Fatalf("second receipt %+v", receipt)
	}
	post(t, r.officer, "POST", "/api/v1/custody", map[string]any{"record_id": "conf-1"}, 200, &receipt)
	if len(receipt.Received) != 0 || len(receipt.Already) != 3 {
		t.Fatalf("retried receipt %+v", receipt)
	}
	post(t, r.office, "GET", recon, nil, 200, &rec)
	if !rec.Reconciliation.Balanced || rec.Reconciliation.CustodyItems != 6 || rec.Custody.ByState[custody.Received].Items != 6 {
		t.Errorf("after custody: %+v", rec)
	}

	doc := strings.Repeat("cd", 32)
	step := func(c *client, id string, base int, s map[string]any, want int) (custodyAnswer, string) {
		t.Helper()
		s["base_rev"] = base
		var out custodyAnswer
		if want != 200 {
			return out, post(t, c, "POST", "/api/v1/custody/"+id+"/steps", s, want, nil)
		}
		post(t, c, "POST", "/api/v1/custody/"+id+"/steps", s, want, &out)
		return out, ""
	}
	// Rods: stored, moved, valued by the supervisor (not the officer).
	rods, _ := step(r.officer, "conf-1:000", 1, map[string]any{"action": "store", "location": "区罚没物品库 A-01"}, 200)
	if _, typ := step(r.officer, "conf-1:000", rods.Rev, map[string]any{"action": "move", "location": "区罚没物品库 A-01"}, 409); typ != "/problems/illegal-transition" {
		t.Errorf("move to the same place: %s", typ)
	}
	step(r.officer, "conf-1:000", 1, map[string]any{"action": "move", "location": "B-02"}, 409) // stale base_rev
	if _, typ := step(r.officer, "conf-1:000", rods.Rev, map[string]any{"action": "value", "value_fen": 30000}, 403); typ != "/problems/forbidden" {
		t.Errorf("officer appraising: %s", typ)
	}
	rods, _ = step(r.sup, "conf-1:000", rods.Rev, map[string]any{"action": "value", "value_fen": 30000}, 200)
	if rods.Item.AppraisedValueFen != 30000 || rods.Item.State != custody.Stored || len(rods.Item.Events) != 3 {
		t.Errorf("rods after appraisal: %+v", rods.Item)
	}
	// Net: auction only from storage; returned with a receipt.
	var st, _ = step(r.office, "conf-1:001", 1, map[string]any{"action": "auction", "proceeds_fen": 1000, "documents": []string{doc}}, 409)
	_ = st
	step(r.sup, "conf-1:001", 1, map[string]any{"action": "return", "recipient": "张某"}, 422) // no receipt
	net, _ := step(r.sup, "conf-1:001", 1, map[string]any{"action": "return", "recipient": "张某", "documents": []string{doc}}, 200)
	if net.Item.State != custody.Returned || len(net.Allowed) != 0 {
		t.Errorf("net: %+v allowed %v", net.Item.State, net.Allowed)
	}
	// Batteries: stored, then auctioned by the office.
	bat, _ := step(r.officer, "conf-1:002", 1, map[string]any{"action": "store", "location": "A-02"}, 200)
	step(r.sup, "conf-1:002", bat.Rev, map[string]any{"action": "auction", "proceeds_fen": 45000, "documents": []string{doc}}, 403)
	bat, _ = step(r.office, "conf-1:002", bat.Rev, map[string]any{"action": "auction", "proceeds_fen": 45000, "documents": []string{doc}}, 200)
	if bat.Item.State != custody.Auctioned || bat.Item.ProceedsFen != 45000 {
		t.Errorf("batteries: %+v", bat.Item)
	}

	var list struct {
		Items   []custody.Item  `json:"items"`
		Summary custody.Summary `json:"summary"`
	}
	post(t, r.office, "GET", "/api/v1/custody?state=stored", nil, 200, &list)
	if len(list.Items) != 1 || list.Items[0].ID != "conf-1:000" || list.Summary.Total.Items != 3 {
		t.Errorf("stored: %+v", list)
	}
	post(t, r.otherSup, "GET", "/api/v1/custody", nil, 200, &list)
	if len(list.Items) != 0 {
		t.Errorf("another town's supervisor sees %d items", len(list.Items))
	}
	post(t, r.otherSup, "GET", "/api/v1/custody/conf-1:000", nil, 404, nil)
	post(t, r.office, "GET", "/api/v1/custody?state=lost", nil, 400, nil)

	// Whatever happened to the items, custody still accounts for all of
	// them against the totals.
	post(t, r.office, "GET", recon, nil, 200, &rec)
	if !rec.Reconciliation.Balanced || rec.Custody.ByState[custody.Auctioned].ProceedsFen != 45000 ||
		rec.Custody.ByState[custody.Returned].Items != 1 {
		t.Errorf("at the end: %+v", rec)
	}
	var full custodyAnswer
	post(t, r.office, "GET", "/api/v1/custody/conf-1:000", nil, 200, &full)
	if len(full.Item.Events) != 3 || full.Item.Events[2].Actor.ID != "sup" || full.Item.Events[0].Action != custody.ActionReceive {
		t.Errorf("history %+v", full.Item.Events)
	}
}

type campaignReport struct {
	Totals   enforcement.Totals `json:"totals"`
	Progress []struct {
		Figure                  string
		Target, Actual, Percent int64
		Met                     bool
	} `json:"progress"`
	Cases      struct{ Filed int } `json:"cases"`
	Operations int                 `json:"operations"`
}

type operationAnswer struct {
	Rev      int `json:"rev"`
	Agencies int `json:"agencies"`
	Figures  struct {
		Totals  enforcement.Totals `json:"totals"`
		Records int                `json:"records"`
	} `json:"figures"`
}

// TestCampaignsAndJointOperations defines a campaign with targets, tags
// records to it and checks its report, then records a joint operation of
// three agencies and checks that its records count once, in the operation
// and in the district totals.
func TestCampaignsAndJointOperations(t *testing.T) {
	r := newLawRig(t)
	bairi := map[string]any{"id": "bairi-2020", "name": "百日整治行动", "from": "2020-06-01", "to": "2020-09-08",
		"targets": map[string]int64{"persons_cleared": 20, "items_confiscated": 10}}
	post(t, r.officer, "POST", "/api/v1/campaigns", bairi, 403, nil)
	post(t, r.office, "POST", "/api/v1/campaigns", map[string]any{"id": "x", "name": "x", "from": "2020-06-01", "to": "2020-05-01"}, 422, nil)
	post(t, r.office, "POST", "/api/v1/campaigns", bairi, 201, nil)
	post(t, r.office, "POST", "/api/v1/campaigns", bairi, 409, nil)

	in := time.Date(2020, 7, 4, 6, 0, 0, 0, enforcement.Shanghai)
	out := time.Date(2020, 9, 9, 6, 0, 0, 0, enforcement.Shanghai) // the day after the campaign
	post(t, r.officer, "POST", "/api/v1/records", expelled("e-1", "town-gaoling", "bairi-2020", in, 12), 201, nil)
	post(t, r.officer, "POST", "/api/v1/records", expelled("e-2", "town-gaoling", "bairi-2020", in.Add(time.Hour), 5), 201, nil)
	post(t, r.officer, "POST", "/api/v1/records", expelled("e-3", "town-gaoling", "", in, 40), 201, nil)
	post(t, r.officer, "POST", "/api/v1/records", expelled("e-4", "town-gaoling", "bairi-2020", out, 9), 201, nil)
	post(t, r.officer, "POST", "/api/v1/records", confiscation("c-1", "town-gaoling", "bairi-2020", in,
		enforcement.Item{Name: "地笼", Quantity: 4, UnitValueFen: 2000}), 201, nil)

	var rep campaignReport
	post(t, r.officer, "GET", "/api/v1/campaigns/bairi-2020/report", nil, 200, &rep)
	if rep.Totals.PersonsCleared != 17 || rep.Totals.ItemsConfiscated != 4 {
		t.Errorf("campaign totals %+v, want 17 persons (not the untagged 40 nor the 9 after it ended) and 4 items", rep.Totals)
	}
	if len(rep.Progress) != 2 || rep.Progress[0].Figure != "persons_cleared" || rep.Progress[0].Percent != 85 || rep.Progress[0].Met ||
		rep.Progress[1].Actual != 4 || rep.Progress[1].Percent != 40 {
		t.Errorf("progress %+v", rep.Progress)
	}

	var before struct{ Totals enforcement.Totals }
	post(t, r.office, "GET", "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01", nil, 200, &before)

	start := in.Add(-time.Hour)
	op := map[string]any{"id": "op-1", "name": "联合清理非法垂钓", "campaign": "bairi-2020", "start": start, "end": start.Add(5 * time.Hour),
		"agencies": []string{"高岭镇综合执法队", "北京市公安局密云分局", "密云区水务局"}, "records": []string{"e-1", "e-2", "c-1"}}
	post(t, r.officer, "POST", "/api/v1/operations", op, 403, nil)
	bad := maps(op, "records", []string{"e-1", "e-1"})
	var p problem
	post(t, r.sup, "POST", "/api/v1/operations", bad, 422, &p)
	if got := fieldsOf(p); !slices.Equal(got, []string{"records[1]"}) {
		t.Errorf("a record listed twice: %v", got)
	}
	post(t, r.sup, "POST", "/api/v1/operations", maps(op, "records", []string{"e-1", "nope"}), 422, &p)
	if got := fieldsOf(p); !slices.Equal(got, []string{"records[1]"}) {
		t.Errorf("an unknown record: %v", got)
	}
	post(t, r.otherSup, "POST", "/api/v1/operations", maps(op, "unit", "town-gaoling"), 403, nil)
	var oa operationAnswer
	post(t, r.sup, "POST", "/api/v1/operations", op, 201, &oa)
	if oa.Agencies != 3 || oa.Figures.Records != 3 || oa.Figures.Totals.PersonsCleared != 17 || oa.Figures.Totals.ItemsConfiscated != 4 {
		t.Errorf("operation %+v: each record once, whatever the agencies", oa)
	}
	var after struct{ Totals enforcement.Totals }
	post(t, r.office, "GET", "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01", nil, 200, &after)
	if after.Totals.PersonsCleared != before.Totals.PersonsCleared || after.Totals.PersonsCleared != 66 {
		t.Errorf("district persons %d after the operation, %d before; want 66 both", after.Totals.PersonsCleared, before.Totals.PersonsCleared)
	}
	post(t, r.sup, "PUT", "/api/v1/operations/op-1", maps(maps(op, "base_rev", 1), "agencies", []string{"高岭镇综合执法队"}), 200, &oa)
	post(t, r.sup, "PUT", "/api/v1/operations/op-1", maps(op, "base_rev", 1), 409, nil)
	if oa.Rev != 2 || oa.Agencies != 1 || oa.Figures.Totals.PersonsCleared != 17 {
		t.Errorf("after the change: %+v", oa)
	}
	post(t, r.otherSup, "GET", "/api/v1/operations/op-1", nil, 404, nil)
	post(t, r.office, "GET", "/api/v1/campaigns/bairi-2020/report", nil, 200, &rep)
	if rep.Operations != 1 {
		t.Errorf("campaign lists %d operations", rep.Operations)
	}
}

// maps returns a copy of m with key set to v.
func maps(m map[string]any, key string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, x := range m {
		out[k] = x
	}
	out[key] = v
	return out
}

// TestPublicityLists walks a case to a decision and checks the double
// publicity list (JSON, CSV and Excel, identity number masked), the
// enforcement information list, who may read them, and that revoking the
// decision withdraws it from both.
func TestPublicityLists(t *testing.T) {
	r := newLawRig(t)
	doc := func(s string) string { return fmt.Sprintf("%064x", len(s)*7919+int(s[0])) }
	filed := time.Now().Add(-20 * 24 * time.Hour).Truncate(time.Second)
	var k caseAnswer
	post(t, r.officer, "POST", "/api/v1/cases", map[string]any{"id": "k-1", "violation": "fishing_first_zone", "facts": "在一级保护区内垂钓",
		"party": map[string]string{"name": "王某", "id_number": "110228199001011234"}, "circumstances": map[string]any{"circumstance": "ordinary"},
		"filed_at": filed, "documents": []string{doc("file")}}, 201, &k)
	walk := []struct {
		c    *client
		step map[string]any
	}{
		{r.officer, map[string]any{"action": "start_investigation", "at": filed.Add(time.Hour)}},
		{r.officer, map[string]any{"action": "serve_notice", "at": filed.Add(2 * 24 * time.Hour), "proposed_fine_fen": 50000, "documents": []string{doc("notice")}}},
		{r.sup, map[string]any{"action": "decide", "at": filed.Add(8 * 24 * time.Hour), "decided_fine_fen": 50000, "confiscation_fen": 8000, "documents": []string{doc("decision")}}},
	}
	for _, w := range walk {
		w.step["base_rev"] = k.Rev
		post(t, w.c, "POST", "/api/v1/cases/k-1/steps", w.step, 200, &k)
	}
	// A case left in investigation for 100 days is past its decision
	// deadline, and k-1, decided 12 days ago, was never served (7 days):
	// the overdue list, most overdue first, and the metrics say so.
	post(t, r.officer, "POST", "/api/v1/cases", map[string]any{"id": "k-old", "violation": "swimming_first_zone",
		"party": map[string]string{"name": "赵某"}, "filed_at": time.Now().Add(-100 * 24 * time.Hour).Truncate(time.Second)}, 201, nil)
	var overdue struct {
		Overdue []struct {
			ID    string          `json:"id"`
			Items []cases.DueItem `json:"items"`
		} `json:"overdue"`
	}
	post(t, r.office, "GET", "/api/v1/cases/overdue", nil, 200, &overdue)
	if len(overdue.Overdue) != 2 || overdue.Overdue[0].ID != "k-old" || overdue.Overdue[0].Items[0].Name != cases.DeadlineDecision ||
		overdue.Overdue[1].ID != "k-1" || overdue.Overdue[1].Items[0].Name != cases.DeadlineService {
		t.Errorf("overdue %+v", overdue)
	}
	_, metrics, _ := r.anon.raw("GET", "/metrics", nil)
	for _, m := range []string{`baoshui_cases{state="decided"} 1`, `baoshui_cases{state="filed"} 1`, `baoshui_cases_overdue{deadline="decision"} 1`,
		`baoshui_cases_overdue{deadline="service"} 1`, `baoshui_cases_overdue{deadline="defence"} 0`} {
		if !bytes.Contains(metrics, []byte(m+"\n")) {
			t.Errorf("/metrics lacks %q", m)
		}
	}

	post(t, r.officer, "GET", "/api/v1/publicity/penalties", nil, 403, nil)
	post(t, r.office, "GET", "/api/v1/publicity/penalties?format=pdf", nil, 400, nil)

	var pen struct {
		Penalties []cases.PenaltyRecord `json:"penalties"`
	}
	post(t, r.office, "GET", "/api/v1/publicity/penalties", nil, 200, &pen)
	if len(pen.Penalties) != 1 {
		t.Fatalf("penalties %+v", pen)
	}
	got := pen.Penalties[0]
	if got.DecisionNo != k.Case.CaseNo || got.PartyID != "110228********1234" || got.FineFen != 50000 || got.ConfiscationFen != 8000 ||
		got.PenaltyType != "罚款；没收非法财物" || got.Unit != "高岭镇" || got.Authority == "" {
		t.Errorf("penalty row %+v", got)
	}
	st, b, h := r.office.raw("GET", "/api/v1/publicity/penalties?format=csv", nil)
	if st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		t.Fatalf("csv: %d %s", st, h)
	}
	rows, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][0] != "行政处罚决定书文号" || rows[1][0] != k.Case.CaseNo ||
		!slices.Contains(rows[1], "500.00") || !slices.Contains(rows[1], "110228********1234") || slices.Contains(rows[1], "110228199001011234") {
		t.Errorf("csv rows %q (%v)", rows, err)
	}
	st, b, _ = r.office.raw("GET", "/api/v1/publicity/penalties?format=xlsx", nil)
	if st != 200 {
		t.Fatalf("xlsx: %d", st)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	xrows, err := f.GetRows(f.GetSheetList()[0])
	if err != nil || len(xrows) != 2 || xrows[1][0] != k.Case.CaseNo || !slices.Contains(xrows[1], "80.00") {
		t.Errorf("xlsx rows %q (%v)", xrows, err)
	}
	var info struct {
		Information []cases.InformationItem `json:"information"`
	}
	post(t, r.office, "GET", "/api/v1/publicity/information?from=2000-01-01", nil, 200, &info)
	if len(info.Information) != 1 || info.Information[0].DecidedBy != "sup" || info.Information[0].CaseNo != k.Case.CaseNo {
		t.Errorf("information %+v", info)
	}

	// Revoked on reconsideration: off both lists, the decision kept.
	post(t, r.sup, "POST", "/api/v1/cases/k-1/steps", map[string]any{"base_rev": k.Rev, "action": "revoke", "reason": "复议撤销",
		"documents": []string{doc("revoke")}}, 403, nil)
	post(t, r.office, "POST", "/api/v1/cases/k-1/steps", map[string]any{"base_rev": k.Rev, "action": "revoke", "reason": "复议撤销",
		"documents": []string{doc("revoke")}}, 200, &k)
	if k.Case.State != cases.StateWithdrawn || k.Case.RevokedAt.IsZero() || k.Case.DecidedFineFen != 50000 {
		t.Errorf("revoked case %+v", k.Case)
	}
	post(t, r.office, "GET", "/api/v1/publicity/penalties", nil, 200, &pen)
	post(t, r.office, "GET", "/api/v1/publicity/information", nil, 200, &info)
	if len(pen.Penalties) != 0 || len(info.Information) != 0 {
		t.Errorf("after revocation: %d penalties, %d information items", len(pen.Penalties), len(info.Information))
	}
}

// TestCaseDiscretionCatalogue runs the server with the illustrative
// catalogue: a proposed fine outside the band for the case's circumstances
// is refused without a written justification, accepted and flagged with
// one, and the case keeps the provision and band it was checked against,
// which the double publicity list then cites.
func TestCaseDiscretionCatalogue(t *testing.T) {
	a := start(t, testConfig(t, t.TempDir(), "-case-catalogue", repoPath(t, "testdata/cases/catalogue.json")))
	root := newClient(t, a.URL()).login("root", "root-password")
	if st := root.do("POST", "/api/v1/units", enforcement.Unit{ID: "miyun", Name: "密云区保水大队", Tier: "district"}, nil); st != 201 {
		t.Fatalf("unit: %d", st)
	}
	if st := root.do("POST", "/api/v1/users", map[string]string{"username": "office", "password": "password-office", "role": "office", "unit": "miyun"}, nil); st != 201 {
		t.Fatalf("user: %d", st)
	}
	office := newClient(t, a.URL()).login("office", "password-office")
	filed := time.Now().Add(-20 * 24 * time.Hour).Truncate(time.Second)
	var k caseAnswer
	post(t, office, "POST", "/api/v1/cases", map[string]any{"id": "k-1", "violation": "fishing_first_zone",
		"party": map[string]string{"name": "王某"}, "circumstances": map[string]any{"circumstance": "ordinary"}, "filed_at": filed}, 201, &k)
	post(t, office, "POST", "/api/v1/cases/k-1/steps", map[string]any{"base_rev": k.Rev, "action": "start_investigation", "at": filed.Add(time.Hour)}, 200, &k)
	notice := map[string]any{"base_rev": k.Rev, "action": "serve_notice", "at": filed.Add(48 * time.Hour), "proposed_fine_fen": 5000,
		"documents": []string{strings.Repeat("ef", 32)}}
	var p problem
	post(t, office, "POST", "/api/v1/cases/k-1/steps", notice, 422, &p)
	if got := fieldsOf(p); !slices.Equal(got, []string{"justification"}) {
		t.Errorf("a fine below the ordinary band without a justification: %v", got)
	}
	notice["justification"] = "当事人主动交出渔具并认错，依法从轻"
	post(t, office, "POST", "/api/v1/cases/k-1/steps", notice, 200, &k)
	last := k.Case.Steps[len(k.Case.Steps)-1]
	if k.Case.Band == nil || !k.Case.Band.OutsideBand || k.Case.Band.Band.MinFen != 20000 || last.Fields["band_flagged"] != "true" ||
		len(k.Case.Band.Basis) == 0 {
		t.Errorf("band snapshot %+v, step fields %v", k.Case.Band, last.Fields)
	}
}

// TestCaseFromFieldRecord files a case from the case record an officer
// captured in the field and follows it: the case takes the record's id,
// team, party and photos, and the record (which the totals count) follows
// the procedure — numbered, decided with its fine, revoked — so the case is
// counted once as filed and its fine only while the decision stands.
func TestCaseFromFieldRecord(t *testing.T) {
	r := newLawRig(t)
	observed := time.Now().Add(-20 * 24 * time.Hour).Truncate(time.Second)
	photo := strings.Repeat("5a", 32)
	rec := map[string]any{"id": "rec-case-1", "kind": "case", "observed_at": observed, "unit": "town-gaoling",
		"location": map[string]any{"type": "Point", "coordinates": []float64{116.95, 40.55}}, "officers": []string{"officer"},
		"violation": "在一级保护区内垂钓", "party": "钱某", "legal_basis": "《北京市密云水库保护条例》第二十八条", "filed_at": observed.Add(time.Hour), "note": "现场查获钓竿两根",
		"photos": []map[string]any{{"sha256": photo, "size": 1024, "mime": "image/jpeg"}}}
	post(t, r.officer, "POST", "/api/v1/records", rec, 201, nil)
	post(t, r.officer, "POST", "/api/v1/records", expelled("not-a-case", "town-gaoling", "", observed, 3), 201, nil)
	day := observed.In(enforcement.Shanghai).Format(time.DateOnly)
	end := time.Now().In(enforcement.Shanghai).AddDate(0, 0, 1).Format(time.DateOnly)
	totals := func() enforcement.Totals { t.Helper(); return r.totals(t, day, end) }
	if got := totals(); got.CasesFiled != 1 || got.FinesFen != 0 {
		t.Fatalf("before the procedure: %+v", got)
	}

	post(t, r.otherOfficer, "POST", "/api/v1/cases", map[string]any{"record_id": "rec-case-1"}, 422, nil)
	post(t, r.officer, "POST", "/api/v1/cases", map[string]any{"record_id": "not-a-case"}, 422, nil)
	post(t, r.officer, "POST", "/api/v1/cases", map[string]any{"record_id": "rec-case-1", "id": "other"}, 422, nil)
	var k caseAnswer
	post(t, r.officer, "POST", "/api/v1/cases", map[string]any{"record_id": "rec-case-1", "circumstances": map[string]any{"circumstance": "ordinary"}}, 201, &k)
	if k.Case.ID != "rec-case-1" || k.Case.Unit != "town-gaoling" || k.Case.Party.Name != "钱某" || k.Case.Facts != "现场查获钓竿两根" || k.Case.LegalBasis != "《北京市密云水库保护条例》第二十八条" ||
		!slices.Equal(k.Case.Steps[0].Documents, []string{photo}) || !k.Case.FiledAt.Equal(observed.Add(time.Hour)) {
		t.Errorf("case filed from the record: %+v", k.Case)
	}
	post(t, r.officer, "POST", "/api/v1/cases", map[string]any{"record_id": "rec-case-1"}, 409, nil)
	var stored enforcement.Record
	post(t, r.office, "GET", "/api/v1/records/rec-case-1", nil, 200, &stored)
	if stored.CaseNo != k.Case.CaseNo || stored.Status != "filed" {
		t.Errorf("the record after filing: case_no %q status %q, want %q filed", stored.CaseNo, stored.Status, k.Case.CaseNo)
	}

	doc := strings.Repeat("6b", 32)
	for _, w := range []struct {
		c    *client
		step map[string]any
	}{
		{r.officer, map[string]any{"action": "start_investigation", "at": observed.Add(2 * time.Hour)}},
		{r.officer, map[string]any{"action": "serve_notice", "at": observed.Add(48 * time.Hour), "proposed_fine_fen": 50000, "documents": []string{doc}}},
		{r.sup, map[string]any{"action": "decide", "at": observed.Add(7 * 24 * time.Hour), "decided_fine_fen": 50000, "documents": []string{doc}}},
	} {
		w.step["base_rev"] = k.Rev
		post(t, w.c, "POST", "/api/v1/cases/rec-case-1/steps", w.step, 200, &k)
	}
	stored = enforcement.Record{}
	post(t, r.office, "GET", "/api/v1/records/rec-case-1", nil, 200, &stored)
	if stored.Status != "decided" || stored.FineFen != 50000 || stored.DecidedAt == nil || !stored.DecidedAt.Equal(k.Case.DecidedAt) {
		t.Errorf("the record after the decision: %+v", stored)
	}
	if got := totals(); got.CasesFiled != 1 || got.FinesFen != 50000 {
		t.Errorf("after the decision: %+v, want the case once and its fine", got)
	}
	post(t, r.office, "POST", "/api/v1/cases/rec-case-1/steps", map[string]any{"base_rev": k.Rev, "action": "revoke",
		"reason": "复议撤销", "documents": []string{doc}}, 200, &k)
	stored = enforcement.Record{} // absent members must not keep the values of the last answer
	post(t, r.office, "GET", "/api/v1/records/rec-case-1", nil, 200, &stored)
	if stored.Status != "withdrawn" || stored.FineFen != 0 || stored.DecidedAt != nil {
		t.Errorf("the record after the revocation: %+v", stored)
	}
	if got := totals(); got.CasesFiled != 1 || got.FinesFen != 0 {
		t.Errorf("after the revocation: %+v, want the case once and no fine", got)
	}
}

// TestCaseFiledAtTheOffice files a case at the office with the place of the
// violation: the server stores its field record, so the totals count it
// like the cases captured in the field, and follow its decision.
func TestCaseFiledAtTheOffice(t *testing.T) {
	r := newLawRig(t)
	filed := time.Now().Add(-15 * 24 * time.Hour).Truncate(time.Second)
	day := filed.In(enforcement.Shanghai).Format(time.DateOnly)
	end := time.Now().In(enforcement.Shanghai).AddDate(0, 0, 1).Format(time.DateOnly)
	totals := func() enforcement.Totals { t.Helper(); return r.totals(t, day, end) }
	post(t, r.sup, "POST", "/api/v1/cases", map[string]any{"id": "desk-0", "violation": "游泳", "party": map[string]string{"name": "周某"},
		"filed_at": filed, "location": map[string]any{"type": "Point", "coordinates": []float64{200, 40}}}, 422, nil)
	var k caseAnswer
	post(t, r.sup, "POST", "/api/v1/cases", map[string]any{"id": "desk-1", "violation": "在一级保护区内游泳", "party": map[string]string{"name": "周某"},
		"filed_at": filed, "location": map[string]any{"type": "Point", "coordinates": []float64{116.95, 40.55}}}, 201, &k)
	var rec enforcement.Record
	post(t, r.office, "GET", "/api/v1/records/desk-1", nil, 200, &rec)
	if rec.Kind != enforcement.KindCase || rec.CaseNo != k.Case.CaseNo || rec.Unit != "town-gaoling" || rec.CreatedBy != "sup" || rec.Status != "filed" {
		t.Errorf("the case's record %+v", rec)
	}
	if got := totals(); got.CasesFiled != 1 || got.FinesFen != 0 {
		t.Errorf("after filing: %+v", got)
	}
	doc := strings.Repeat("7c", 32)
	for _, step := range []map[string]any{
		{"action": "start_investigation", "at": filed.Add(time.Hour)},
		{"action": "serve_notice", "at": filed.Add(48 * time.Hour), "proposed_fine_fen": 20000, "documents": []string{doc}},
		{"action": "decide", "at": filed.Add(6 * 24 * time.Hour), "decided_fine_fen": 20000, "documents": []string{doc}},
	} {
		step["base_rev"] = k.Rev
		post(t, r.sup, "POST", "/api/v1/cases/desk-1/steps", step, 200, &k)
	}
	if got := totals(); got.CasesFiled != 1 || got.FinesFen != 20000 {
		t.Errorf("after the decision: %+v", got)
	}
}
