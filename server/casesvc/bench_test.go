package casesvc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/casesvc"
)

// dashboard opens a service over n stored cases, one in 25 still under
// investigation (and so overdue once 90 days old), the rest closed.
func dashboard(b *testing.B, n int) *casesvc.Service {
	b.Helper()
	st := newMemStore()
	rules := cases.DefaultRules()
	first := now.AddDate(-10, 0, -60)
	for i := 0; i < n; i++ {
		filed := first.Add(time.Duration(i) * (10 * 365 * 24 * time.Hour / time.Duration(n)))
		c, err := cases.File(cases.Filing{ID: fmt.Sprintf("c-%06d", i), CaseNo: cases.FormatCaseNo("密保罚", cases.YearOf(filed), i%9000+1),
			Violation: "fishing", Party: cases.Party{Name: "张某"}, FiledAt: filed}, officer, now)
		if err != nil {
			b.Fatal(err)
		}
		at := filed
		step := func(s cases.Step, d time.Duration) {
			at = at.Add(d)
			s.At = at
			if c, err = cases.Transition(c, s, office, rules, now); err != nil {
				b.Fatal(err)
			}
		}
		step(cases.Step{Action: cases.ActionStartInvestigation}, time.Hour)
		if i%25 != 0 {
			step(cases.Step{Action: cases.ActionServeNotice, ProposedFineFen: fen(20000), Documents: []string{doc}}, 24*time.Hour)
			step(cases.Step{Action: cases.ActionDecide, DecidedFineFen: fen(20000), Documents: []string{doc}}, 5*24*time.Hour)
			step(cases.Step{Action: cases.ActionServeDecision, Documents: []string{doc}}, 24*time.Hour)
			step(cases.Step{Action: cases.ActionRecordPayment}, 24*time.Hour)
			step(cases.Step{Action: cases.ActionClose}, 24*time.Hour)
		}
		_ = st.InsertCaseRevision(context.Background(), c, len(c.Steps), "bench", now)
	}
	s, err := casesvc.Open(context.Background(), st, nil, rules, casesvc.Options{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkOverdue100k(b *testing.B) {
	s := dashboard(b, 100_000)
	b.ResetTimer()
	for b.Loop() {
		if len(s.Overdue(now, nil)) == 0 {
			b.Fatal("nothing overdue")
		}
	}
}

func BenchmarkListState100k(b *testing.B) {
	s := dashboard(b, 100_000)
	b.ResetTimer()
	for b.Loop() {
		if p, err := s.List(casesvc.ListQuery{State: cases.StateInvestigating}); err != nil || len(p.Cases) == 0 {
			b.Fatal("nothing listed")
		}
	}
}
