package casesvc_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/casesvc"
	"github.com/baoshui/baoshui/server/enforcement"
)

// memStore is an in-memory Store: revisions by "{id}:{rev}", a duplicate
// is enforcement.ErrExists as the real store answers.
type memStore struct {
	mu   sync.Mutex
	revs map[string]stored
	fail error
}

type stored struct {
	c   cases.Case
	rev int
}

func newMemStore() *memStore { return &memStore{revs: map[string]stored{}} }

func (m *memStore) InsertCaseRevision(_ context.Context, c cases.Case, rev int, _ string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	k := fmt.Sprintf("%s:%d", c.ID, rev)
	if _, ok := m.revs[k]; ok {
		return fmt.Errorf("insert %s: %w", k, enforcement.ErrExists)
	}
	m.revs[k] = stored{c: c, rev: rev}
	return nil
}

func (m *memStore) GetCaseRevision(_ context.Context, id string, rev int) (cases.Case, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.revs[fmt.Sprintf("%s:%d", id, rev)]
	if !ok {
		return cases.Case{}, fmt.Errorf("case %s:%d: %w", id, rev, enforcement.ErrNotFound)
	}
	return s.c, nil
}

func (m *memStore) ScanCaseRevisions(_ context.Context, fn func(rev int, c cases.Case) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.revs {
		if err := fn(s.rev, s.c); err != nil {
			return err
		}
	}
	return nil
}

type auditLog struct {
	mu      sync.Mutex
	entries []audit.Entry
}

func (a *auditLog) Audit(_ context.Context, e audit.Entry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, e)
	return nil
}

var (
	now     = time.Date(2024, 3, 10, 10, 0, 0, 0, enforcement.Shanghai)
	doc     = strings.Repeat("a", 64)
	office  = cases.Actor{ID: "olga", Role: cases.RoleOffice}
	officer = cases.Actor{ID: "alice", Role: cases.RoleOfficer}
)

func fen(v int64) *int64 { return &v }

func filing(id string, filedAt time.Time) cases.Filing {
	return cases.Filing{ID: id, Violation: "swimming", Party: cases.Party{Name: "张三", IDNumber: "110228199001011234"},
		Facts: "swimming in the first-grade zone", FiledAt: filedAt, Documents: []string{doc}}
}

type rig struct {
	st  *memStore
	seq *cases.MemorySequencer
	aud *auditLog
	svc *casesvc.Service
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{st: newMemStore(), seq: &cases.MemorySequencer{}, aud: &auditLog{}}
	r.svc = r.open(t)
	return r
}

func (r *rig) open(t *testing.T) *casesvc.Service {
	t.Helper()
	svc, err := casesvc.Open(context.Background(), r.st, r.seq, cases.DefaultRules(),
		casesvc.Options{Now: func() time.Time { return now }, Auditor: r.aud})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestFileIssuesNumbers(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		f       cases.Filing
		actor   cases.Actor
		wantNo  string
		wantErr error
	}{
		{"first of 2024", filing("c1", now.Add(-time.Hour)), officer, "密保罚〔2024〕第0001号", nil},
		{"bad id", filing("c:2", now), officer, "", enforcement.ErrInvalid},
		{"no party name uses no number", func() cases.Filing { f := filing("c2", now); f.Party.Name = ""; return f }(), officer, "", enforcement.ErrInvalid},
		{"filed in the future", filing("c2", now.Add(time.Hour)), officer, "", enforcement.ErrInvalid},
		{"unknown role", filing("c2", now), cases.Actor{ID: "x", Role: "device"}, "", enforcement.ErrForbidden},
		{"second of 2024", filing("c2", now), office, "密保罚〔2024〕第0002号", nil},
		{"the year is Shanghai's", filing("c3", time.Date(2023, 12, 31, 16, 30, 0, 0, time.UTC)), office, "密保罚〔2024〕第0003号", nil},
		{"first of 2023", filing("c4", time.Date(2023, 12, 31, 15, 30, 0, 0, time.UTC)), office, "密保罚〔2023〕第0001号", nil},
		{"id taken", filing("c1", now), office, "", enforcement.ErrExists},
		{"a given number", func() cases.Filing { f := filing("c5", now); f.CaseNo = "密保罚〔2019〕第0042号"; return f }(), office, "密保罚〔2019〕第0042号", nil},
		{"a given number in use", func() cases.Filing { f := filing("c6", now); f.CaseNo = "密保罚〔2019〕第0042号"; return f }(), office, "", enforcement.ErrInvalid},
		{"a malformed number", func() cases.Filing { f := filing("c6", now); f.CaseNo = "42"; return f }(), office, "", enforcement.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rev, err := r.svc.File(ctx, tc.actor, tc.f)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.CaseNo != tc.wantNo || rev != 1 || c.State != cases.StateFiled {
				t.Errorf("got %s rev %d %s, want %s rev 1 filed", c.CaseNo, rev, c.State, tc.wantNo)
			}
		})
	}
	if got := r.svc.Count(); got != 5 {
		t.Errorf("Count = %d, want 5", got)
	}
	if len(r.aud.entries) != 5 || r.aud.entries[0].Action != "case.file" || r.aud.entries[0].Object != "case:c1" ||
		r.aud.entries[0].Rev != 1 || r.aud.entries[0].Actor != "alice" || r.aud.entries[0].After == "" {
		t.Errorf("audit entries %+v", r.aud.entries)
	}
}

func TestStepWalksToClosed(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	c, rev, err := r.svc.File(ctx, officer, filing("c1", now.Add(-10*24*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	day := func(n int) time.Time { return now.Add(time.Duration(n) * 24 * time.Hour) }
	steps := []struct {
		actor cases.Actor
		step  cases.Step
		state cases.State
	}{
		{officer, cases.Step{Action: cases.ActionStartInvestigation, At: day(-9)}, cases.StateInvestigating},
		{officer, cases.Step{Action: cases.ActionServeNotice, At: day(-8), ProposedFineFen: fen(500_00), Documents: []string{doc}}, cases.StateNoticeServed},
		{office, cases.Step{Action: cases.ActionDecide, DecidedFineFen: fen(500_00), Documents: []string{doc}}, cases.StateDecided},
		{officer, cases.Step{Action: cases.ActionServeDecision, Documents: []string{doc}}, cases.StateServed},
		{officer, cases.Step{Action: cases.ActionRecordPayment}, cases.StatePaid},
		{office, cases.Step{Action: cases.ActionClose}, cases.StateClosed},
	}
	for _, s := range steps {
		c, rev, err = r.svc.Step(ctx, s.actor, "c1", rev, s.step)
		if err != nil {
			t.Fatalf("%s: %v", s.step.Action, err)
		}
		if c.State != s.state {
			t.Fatalf("%s: state %s, want %s", s.step.Action, c.State, s.state)
		}
	}
	if rev != 7 {
		t.Errorf("rev = %d, want 7", rev)
	}
	got, gotRev, err := r.svc.Get("c1")
	if err != nil || gotRev != 7 || !reflect.DeepEqual(got, c) {
		t.Errorf("Get = %+v %d %v", got, gotRev, err)
	}
	// A restart reads the same case back from the store.
	again := r.open(t)
	got, gotRev, err = again.Get("c1")
	if err != nil || gotRev != 7 || !reflect.DeepEqual(got, c) {
		t.Errorf("after reopening: %d %v\n got %+v\nwant %+v", gotRev, err, got, c)
	}
	if n := len(r.aud.entries); n != 7 || r.aud.entries[n-1].Action != "case.close" || r.aud.entries[n-1].Rev != 7 ||
		r.aud.entries[n-1].Before == "" || r.aud.entries[n-1].Before == r.aud.entries[n-1].After {
		t.Errorf("audit entries %+v", r.aud.entries)
	}
}

func TestStepErrors(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, _, err := r.svc.File(ctx, officer, filing("c1", now.Add(-10*24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.svc.Step(ctx, officer, "c1", 1, cases.Step{Action: cases.ActionStartInvestigation, At: now.Add(-9 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		actor   cases.Actor
		id      string
		base    int
		step    cases.Step
		wantErr error
		allowed []string
	}{
		{"unknown case", office, "nope", 1, cases.Step{Action: cases.ActionClose}, enforcement.ErrNotFound, nil},
		{"stale base_rev", office, "c1", 1, cases.Step{Action: cases.ActionClose}, enforcement.ErrConflict, nil},
		{"future base_rev", office, "c1", 3, cases.Step{Action: cases.ActionClose}, enforcement.ErrConflict, nil},
		{"illegal transition", office, "c1", 2, cases.Step{Action: cases.ActionClose}, enforcement.ErrConflict,
			[]string{cases.ActionServeNotice, cases.ActionWithdraw, cases.ActionTransfer}},
		{"officer decides", officer, "c1", 2, cases.Step{Action: cases.ActionDecide, DecidedFineFen: fen(1), Documents: []string{doc}}, enforcement.ErrForbidden, nil},
		{"missing fields", officer, "c1", 2, cases.Step{Action: cases.ActionServeNotice}, enforcement.ErrInvalid, nil},
		{"unknown action", officer, "c1", 2, cases.Step{Action: "fly"}, enforcement.ErrInvalid, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := r.svc.Step(ctx, tc.actor, tc.id, tc.base, tc.step)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			te, ok := cases.IsTransitionError(err)
			if (tc.allowed != nil) != ok {
				t.Fatalf("TransitionError = %v, want one: %v", ok, tc.allowed != nil)
			}
			if ok && !reflect.DeepEqual(te.Allowed, tc.allowed) {
				t.Errorf("allowed = %v, want %v", te.Allowed, tc.allowed)
			}
		})
	}
	if _, rev, _ := r.svc.Get("c1"); rev != 2 {
		t.Errorf("a refused step changed the case: rev %d", rev)
	}

	// Another server stored revision 3 first: a conflict, and nothing changes here.
	other := r.open(t)
	if _, _, err := other.Step(ctx, office, "c1", 2, cases.Step{Action: cases.ActionWithdraw, Reason: "duplicate filing"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := r.svc.Step(ctx, officer, "c1", 2, cases.Step{Action: cases.ActionServeNotice, ProposedFineFen: fen(100), Documents: []string{doc}})
	if !errors.Is(err, enforcement.ErrConflict) {
		t.Errorf("racing step: %v, want ErrConflict", err)
	}
	if c, rev, _ := r.svc.Get("c1"); rev != 2 || c.State != cases.StateInvestigating {
		t.Errorf("after the lost race: rev %d %s", rev, c.State)
	}

	// A store that fails: the error passes through, the case stays.
	r.st.fail = enforcement.ErrUnavailable
	_, _, err = r.svc.Step(ctx, office, "c1", 2, cases.Step{Action: cases.ActionWithdraw, Reason: "x"})
	if !errors.Is(err, enforcement.ErrUnavailable) {
		t.Errorf("store down: %v", err)
	}
	if _, rev, _ := r.svc.Get("c1"); rev != 2 {
		t.Errorf("a failed insert changed the case: rev %d", rev)
	}
}

func TestListAndOverdue(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	for i, age := range []int{100, 5, 95} {
		if _, _, err := r.svc.File(ctx, office, filing(fmt.Sprintf("c%d", i+1), now.Add(-time.Duration(age)*24*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := r.svc.Step(ctx, office, "c2", 1, cases.Step{Action: cases.ActionWithdraw, Reason: "no violation"}); err != nil {
		t.Fatal(err)
	}
	ids := func(vs []casesvc.CaseView) (out []string) {
		for _, v := range vs {
			out = append(out, v.ID)
		}
		return out
	}
	list := func(q casesvc.ListQuery) casesvc.Page {
		t.Helper()
		p, err := r.svc.List(q)
		if err != nil {
			t.Fatalf("List(%+v): %v", q, err)
		}
		return p
	}
	if p := list(casesvc.ListQuery{}); !reflect.DeepEqual(ids(p.Cases), []string{"c2", "c3", "c1"}) || p.Total != 3 || p.Next != "" {
		t.Errorf("List() = %v total %d next %q", ids(p.Cases), p.Total, p.Next)
	}
	if p := list(casesvc.ListQuery{State: cases.StateFiled}); !reflect.DeepEqual(ids(p.Cases), []string{"c3", "c1"}) || p.Total != 2 {
		t.Errorf("List(filed) = %v total %d", ids(p.Cases), p.Total)
	}
	if p := list(casesvc.ListQuery{State: cases.StateClosed}); p.Cases == nil || len(p.Cases) != 0 || p.Total != 0 {
		t.Errorf("List(closed) = %#v, want empty", p)
	}
	if v := list(casesvc.ListQuery{State: cases.StateWithdrawn}).Cases[0]; v.Rev != 2 || v.UpdatedAt.IsZero() {
		t.Errorf("view %+v", v)
	}
	// Page by page, one at a time, and a case filed meanwhile does not
	// shift the pages already read.
	var walked []string
	q := casesvc.ListQuery{Limit: 1}
	for i := 0; ; i++ {
		p := list(q)
		walked = append(walked, ids(p.Cases)...)
		if i == 0 {
			if _, _, err := r.svc.File(ctx, office, filing("c0", now.Add(-time.Hour))); err != nil {
				t.Fatal(err)
			}
		}
		if p.Next == "" || i > 5 {
			break
		}
		q.After = p.Next
	}
	if !reflect.DeepEqual(walked, []string{"c2", "c3", "c1"}) {
		t.Errorf("pages of 1 gave %v", walked)
	}
	if p := list(casesvc.ListQuery{Visible: func(u string) bool { return false }}); len(p.Cases) != 0 || p.Total != 0 {
		t.Errorf("nothing visible: %+v", p)
	}
	if _, err := r.svc.List(casesvc.ListQuery{After: "not-a-cursor"}); !errors.Is(err, enforcement.ErrInvalid) {
		t.Errorf("a bad cursor: %v", err)
	}
	od := r.svc.Overdue(now, nil)
	if len(od) != 2 || od[0].ID != "c1" || od[1].ID != "c3" || od[0].Items[0].Name != cases.DeadlineDecision {
		t.Errorf("Overdue = %+v", od)
	}
	if od := r.svc.Overdue(now.Add(-30*24*time.Hour), nil); len(od) != 0 {
		t.Errorf("Overdue a month ago = %+v", od)
	}
}

// TestFollowAnotherInstance: two services on one store, as two server
// instances; what one files, the other holds after Follow, listed in its
// state; an older revision changes nothing; one not stored is ErrNotFound.
func TestFollowAnotherInstance(t *testing.T) {
	r := newRig(t)
	b := r.open(t)
	ctx := context.Background()
	c, _, err := r.svc.File(ctx, officer, filing("c1", now.Add(-time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Get("c1"); !errors.Is(err, enforcement.ErrNotFound) {
		t.Fatalf("b before following: %v; want not found", err)
	}
	if err := b.Follow(ctx, "c1", 1); err != nil {
		t.Fatal(err)
	}
	got, rev, err := b.Get("c1")
	if err != nil || rev != 1 || got.CaseNo != c.CaseNo {
		t.Fatalf("b after following: %s rev %d, %v; want %s rev 1", got.CaseNo, rev, err, c.CaseNo)
	}
	page, err := b.List(casesvc.ListQuery{State: cases.StateFiled})
	if err != nil || page.Total != 1 {
		t.Errorf("b's filed cases: %+v %v; want c1", page, err)
	}
	if err := b.Follow(ctx, "c1", 1); err != nil {
		t.Errorf("following the same revision again: %v", err)
	}
	if err := b.Follow(ctx, "c1", 7); !errors.Is(err, enforcement.ErrNotFound) {
		t.Errorf("following a revision not stored: %v; want not found", err)
	}
}
