package app_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

type pushResult struct {
	Seq      int64           `json:"seq"`
	Status   string          `json:"status"`
	RecordID string          `json:"record_id"`
	Rev      int64           `json:"rev"`
	Problem  json.RawMessage `json:"problem"`
	Current  json.RawMessage `json:"current"`
	Replayed bool            `json:"replayed"`
}

type pushResponse struct {
	Results      []pushResult `json:"results"`
	NextSeq      int64        `json:"next_seq"`
	ClockSuspect bool         `json:"clock_suspect"`
}

func mutation(seq int64, op, body string) string {
	switch op {
	case "void":
		return fmt.Sprintf(`{"seq":%d,"op":"void",%s}`, seq, body)
	case "correct":
		return fmt.Sprintf(`{"seq":%d,"op":"correct",%s}`, seq, body)
	}
	return fmt.Sprintf(`{"seq":%d,"op":"create","record":%s}`, seq, body)
}

func pushBody(device, deviceTime string, muts ...string) string {
	return fmt.Sprintf(`{"device_id":%q,"schema_version":1,"device_time":%q,"mutations":[%s]}`, device, deviceTime, strings.Join(muts, ","))
}

func summary(r pushResponse) string {
	var parts []string
	for _, x := range r.Results {
		s := fmt.Sprintf("%d:%s", x.Seq, x.Status)
		if x.Replayed {
			s += "(replayed)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestSyncPushOverHTTP(t *testing.T) {
	f := newFixture(t)
	if st := f.offA.do("POST", "/api/v1/devices", map[string]string{"id": "phone-a", "name": "a"}, nil); st != 201 {
		t.Fatalf("register: %d", st)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	batch := pushBody("phone-a", now, mutation(1, "create", rec("p1", "town-a", 2)), mutation(2, "create", rec("p2", "town-a", 3)),
		mutation(3, "create", `{"id":"p3","kind":"expulsion"}`), mutation(4, "create", rec("p4", "town-b", 1)),
		mutation(5, "create", rec("p5", "town-a", 4)))
	var resp pushResponse
	if st := f.offA.do("POST", "/api/v1/sync/push", batch, &resp); st != 200 {
		t.Fatalf("push: %d", st)
	}
	// 3 breaks the rules and 4 is another team's: both rejected, and
	// neither blocks 5.
	if got := summary(resp); got != "1:applied 2:applied 3:rejected 4:rejected 5:applied" || resp.NextSeq != 6 {
		t.Fatalf("push: %s next %d", got, resp.NextSeq)
	}
	var p3, p4 problem
	_ = json.Unmarshal(resp.Results[2].Problem, &p3)
	_ = json.Unmarshal(resp.Results[3].Problem, &p4)
	if p3.Type != "/problems/validation" || len(p3.Errors) == 0 || p4.Type != "/problems/forbidden" {
		t.Errorf("problems: %s / %s", resp.Results[2].Problem, resp.Results[3].Problem)
	}
	// The response was lost: the same push again changes nothing.
	var again pushResponse
	if st := f.offA.do("POST", "/api/v1/sync/push", batch, &again); st != 200 || !strings.Contains(summary(again), "5:applied(replayed)") {
		t.Fatalf("replay: %d %s", st, summary(again))
	}
	var totals struct {
		Totals struct {
			PersonsCleared int64 `json:"persons_cleared"`
		} `json:"totals"`
	}
	f.office.do("GET", "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01", nil, &totals)
	if totals.Totals.PersonsCleared != 2+3+4 {
		t.Errorf("persons cleared %d after a push and its replay, want 9", totals.Totals.PersonsCleared)
	}
	// A gap: nothing applied, 409 with the seq to send.
	st, b, _ := f.offA.raw("POST", "/api/v1/sync/push", pushBody("phone-a", now, mutation(8, "create", rec("p8", "town-a", 1))))
	var gap struct {
		Type        string `json:"type"`
		ExpectedSeq int64  `json:"expected_seq"`
	}
	_ = json.Unmarshal(b, &gap)
	if st != 409 || gap.Type != "/problems/seq-gap" || gap.ExpectedSeq != 6 {
		t.Errorf("gap: %d %s", st, b)
	}
	// Another officer's token replaying the device: 403.
	if st := f.offA2.do("POST", "/api/v1/sync/push", batch, nil); st != 403 {
		t.Errorf("another officer's token: %d, want 403", st)
	}
	// A correction and a void on the same base: the second is a conflict.
	race := pushBody("phone-a", now,
		mutation(6, "correct", `"base_rev":1,"record":`+rec("p1", "town-a", 5)),
		mutation(7, "void", `"record_id":"p1","base_rev":1,"reason":"entered twice"`))
	var rr pushResponse
	if st := f.offA.do("POST", "/api/v1/sync/push", race, &rr); st != 200 || summary(rr) != "6:applied 7:conflict" || len(rr.Results[1].Current) == 0 {
		t.Errorf("correct then a stale void: %d %s", st, summary(rr))
	}
	// A device clock in 1970: applied, and the record is flagged.
	var old pushResponse
	if st := f.offA.do("POST", "/api/v1/sync/push", pushBody("phone-a", "1970-01-01T00:00:00Z", mutation(8, "create", strings.Replace(rec("p8", "town-a", 1), `"kind"`, `"gnss_at":"2020-07-04T07:20:00.5Z","kind"`, 1))), &old); st != 200 || !old.ClockSuspect {
		t.Fatalf("1970 clock: %d %+v", st, old)
	}
	var r8 struct {
		GNSSAt string `json:"gnss_at"`
		Sync   struct {
			DeviceID     string `json:"device_id"`
			Seq          int64  `json:"seq"`
			ClockSuspect bool   `json:"clock_suspect"`
		} `json:"sync"`
	}
	if st := f.offA.do("GET", "/api/v1/records/p8", nil, &r8); st != 200 || r8.Sync.DeviceID != "phone-a" || r8.Sync.Seq != 8 || !r8.Sync.ClockSuspect || r8.GNSSAt != "2020-07-04T07:20:00.5Z" {
		t.Errorf("record p8: %d %+v", st, r8)
	}
	// Malformed pushes: 400, nothing consumed.
	for name, body := range map[string]string{
		"another schema":  strings.Replace(pushBody("phone-a", now, mutation(9, "create", rec("p9", "town-a", 1))), `"schema_version":1`, `"schema_version":7`, 1),
		"seqs not in row": pushBody("phone-a", now, mutation(9, "create", rec("p9", "town-a", 1)), mutation(11, "create", rec("p11", "town-a", 1))),
		"not JSON":        `{"device_id":`,
		"unknown field":   `{"device_id":"phone-a","schema_version":1,"mutations":[],"extra":1}`,
	} {
		if st, b, _ := f.offA.raw("POST", "/api/v1/sync/push", body); st != 400 {
			t.Errorf("%s: %d %s, want 400", name, st, b)
		}
	}
	big := pushBody("phone-a", now, mutation(9, "create", `{"id":"p9","kind":"expulsion","note":"`+strings.Repeat("x", 5<<20)+`"}`))
	if st, _, _ := f.offA.raw("POST", "/api/v1/sync/push", big); st != 413 {
		t.Errorf("oversized push: %d, want 413", st)
	}
	var next pushResponse
	if st := f.offA.do("POST", "/api/v1/sync/push", pushBody("phone-a", now, mutation(9, "create", rec("p9", "town-a", 1))), &next); st != 200 || summary(next) != "9:applied" {
		t.Errorf("after the malformed pushes seq 9 is still expected: %d %s", st, summary(next))
	}
}

func TestSyncPullOverHTTP(t *testing.T) {
	f := newFixture(t)
	for i, c := range []*client{f.offA, f.offB, f.offA, f.offB, f.offA} {
		unit := map[*client]string{f.offA: "town-a", f.offB: "town-b"}[c]
		if st := c.do("POST", "/api/v1/records", rec(fmt.Sprintf("q%d", i), unit, i+1), nil); st != 201 {
			t.Fatalf("record %d: %d", i, st)
		}
	}
	type pull struct {
		Changes []struct {
			ID        string `json:"id"`
			Unit      string `json:"unit"`
			Rev       int64  `json:"rev"`
			Voided    bool   `json:"voided"`
			ServerSeq int64  `json:"server_seq"`
		} `json:"changes"`
		NextCursor string `json:"next_cursor"`
		HasMore    bool   `json:"has_more"`
		Reference  struct {
			Units           []json.RawMessage `json:"units"`
			ZonesGeneration int64             `json:"zones_generation"`
		} `json:"reference"`
	}
	var p1, p2, p3 pull
	if st := f.offA.do("GET", "/api/v1/sync/pull?limit=2", nil, &p1); st != 200 || len(p1.Changes) != 2 || !p1.HasMore || len(p1.Reference.Units) != 4 || p1.Reference.ZonesGeneration != 3 {
		t.Fatalf("first page: %d %+v", st, p1)
	}
	if st := f.offA.do("GET", "/api/v1/sync/pull?limit=2&cursor="+p1.NextCursor, nil, &p2); st != 200 || len(p2.Changes) != 1 || p2.HasMore {
		t.Fatalf("second page: %d %+v", st, p2)
	}
	for _, c := range append(p1.Changes, p2.Changes...) {
		if c.Unit != "town-a" {
			t.Errorf("town-a's officer pulled %+v", c)
		}
	}
	// A void arrives as a tombstone after the cursor.
	if st := f.offA.do("POST", "/api/v1/records/q0/void", map[string]any{"base_rev": 1, "reason": "twice"}, nil); st != 201 {
		t.Fatalf("void: %d", st)
	}
	if st := f.offA.do("GET", "/api/v1/sync/pull?cursor="+p2.NextCursor, nil, &p3); st != 200 || len(p3.Changes) != 1 || p3.Changes[0].ID != "q0" || !p3.Changes[0].Voided || p3.Changes[0].ServerSeq <= p2.Changes[0].ServerSeq {
		t.Fatalf("after the void: %d %+v", st, p3)
	}
	for name, path := range map[string]string{"bad cursor": "/api/v1/sync/pull?cursor=%25%25", "limit 0": "/api/v1/sync/pull?limit=0", "limit huge": "/api/v1/sync/pull?limit=5000"} {
		if st := f.offA.do("GET", path, nil, nil); st != 400 {
			t.Errorf("%s: %d, want 400", name, st)
		}
	}
}

// TestSyncCaseDecisionStaysOnTheServer: a phone may file a case and add to
// it, but not change its decision nor void it.
func TestSyncCaseDecisionStaysOnTheServer(t *testing.T) {
	f := newFixture(t)
	if st := f.offA.do("POST", "/api/v1/devices", map[string]string{"id": "phone-c", "name": "c"}, nil); st != 201 {
		t.Fatalf("register: %d", st)
	}
	kase := func(extra string) string {
		return `{"id":"case-1","kind":"case","observed_at":"2020-07-04T15:20:00+08:00","location":{"type":"Point","coordinates":[116.95,40.52]},` +
			`"unit":"town-a","case_no":"密保罚〔2020〕第0001号","violation":"在一级保护区内游泳","legal_basis":"《北京市密云水库保护条例》",` +
			`"party":"张某","filed_at":"2020-07-04T16:00:00+08:00"` + extra + `}`
	}
	now := time.Now().UTC().Format(time.RFC3339)
	var resp pushResponse
	push := pushBody("phone-c", now,
		mutation(1, "create", kase(``)),
		mutation(2, "correct", `"base_rev":1,"record":`+kase(`,"note":"当事人已签字"`)),
		mutation(3, "correct", `"base_rev":2,"record":`+kase(`,"note":"当事人已签字","status":"decided","decided_at":"2020-07-10T10:00:00+08:00","fine_fen":50000`)),
		mutation(4, "void", `"record_id":"case-1","base_rev":2,"reason":"mistake"`))
	if st := f.offA.do("POST", "/api/v1/sync/push", push, &resp); st != 200 {
		t.Fatalf("push: %d", st)
	}
	if got := summary(resp); got != "1:applied 2:applied 3:rejected 4:rejected" {
		t.Fatalf("push: %s", got)
	}
	for _, r := range resp.Results[2:] {
		var p problem
		_ = json.Unmarshal(r.Problem, &p)
		if p.Type != "/problems/forbidden" {
			t.Errorf("seq %d: %s, want /problems/forbidden", r.Seq, r.Problem)
		}
	}
	var c struct {
		Rev    int64  `json:"rev"`
		Status string `json:"status"`
		Note   string `json:"note"`
		Voided bool   `json:"voided"`
	}
	if st := f.office.do("GET", "/api/v1/records/case-1", nil, &c); st != 200 || c.Rev != 2 || c.Status != "filed" || c.Note == "" || c.Voided {
		t.Errorf("the case after the push: %d %+v", st, c)
	}
}
