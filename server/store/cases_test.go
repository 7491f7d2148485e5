package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/store/storetest"
)

func caseDocHash(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:])
}

func caseFen(v int64) *int64 { return &v }

// sampleCase files a case and takes it through investigation, notice, legal
// review, decision and service with the default rules, in Shanghai time with
// nanoseconds; then it gives the case a band snapshot and a transfer by hand.
// It returns every revision, the first (filed) one first.
func sampleCase(t *testing.T, id string) []cases.Case {
	t.Helper()
	sh := func(m time.Month, d, h, mi int) time.Time {
		return time.Date(2020, m, d, h, mi, 0, 0, enforcement.Shanghai)
	}
	now := time.Date(2020, 8, 1, 12, 0, 0, 123_456_789, enforcement.Shanghai)
	actor := cases.Actor{ID: "u-admin", Role: cases.RoleAdmin}
	c, err := cases.File(cases.Filing{ID: id, CaseNo: "密保罚〔2020〕第0001号", Violation: "fishing_first_zone",
		Party: cases.Party{Name: "张三", IDNumber: "110228199001011234"}, Facts: "在一级保护区内垂钓",
		Circumstances: cases.Circumstances{Circumstance: cases.Ordinary, Zone: "first"},
		FiledAt:       sh(6, 1, 9, 0), Documents: []string{caseDocHash("filing")}}, actor, now)
	if err != nil {
		t.Fatalf("File: %v", err)
	}
	revs := []cases.Case{c}
	for _, step := range []cases.Step{
		{Action: cases.ActionStartInvestigation, At: sh(6, 2, 9, 0)},
		{Action: cases.ActionServeNotice, At: sh(6, 10, 10, 0), ProposedFineFen: caseFen(1_500_000),
			Documents: []string{caseDocHash("notice")}, Note: "当场送达"},
		{Action: cases.ActionSubmitReview, At: sh(6, 20, 10, 0)},
		{Action: cases.ActionRecordReview, At: sh(6, 22, 10, 0),
			Review: &cases.LegalReview{Reviewer: "李法制", Opinion: "事实清楚，同意", Date: sh(6, 22, 9, 0)}},
		{Action: cases.ActionDecide, At: sh(6, 25, 10, 0), DecidedFineFen: caseFen(1_500_000),
			Documents: []string{caseDocHash("decision")}},
		{Action: cases.ActionServeDecision, At: sh(6, 28, 10, 0), Documents: []string{caseDocHash("receipt")}},
	} {
		c, err = cases.Transition(c, step, actor, cases.DefaultRules(), now)
		if err != nil {
			t.Fatalf("%s: %v", step.Action, err)
		}
		revs = append(revs, c)
	}
	last := &revs[len(revs)-1]
	last.Band = &cases.BandCheck{Violation: "fishing_first_zone",
		Basis:   []cases.Provision{{Law: "北京市密云水库保护条例", Version: "2019", Article: "第四十条", Illustrative: true}},
		Band:    cases.Band{Circumstance: cases.Ordinary, Zone: "first", MinFen: 500_000, MaxFen: 2_000_000},
		Matched: true, FineFen: 1_500_000}
	last.Transfer = &cases.Transfer{Organ: "密云分局", Date: sh(7, 10, 9, 0)}
	if last.Review == nil || len(last.Steps) != 7 || last.State != cases.StateServed {
		t.Fatalf("sample case: review %v, %d steps, state %s", last.Review, len(last.Steps), last.State)
	}
	return revs
}

// inUTC is c as the store gives it back: every time in UTC.
func inUTC(c cases.Case) cases.Case {
	c.FiledAt, c.NoticeAt, c.DecidedAt, c.ServedAt, c.ClosedAt =
		c.FiledAt.UTC(), c.NoticeAt.UTC(), c.DecidedAt.UTC(), c.ServedAt.UTC(), c.ClosedAt.UTC()
	if c.Review != nil {
		r := *c.Review
		r.Date = r.Date.UTC()
		c.Review = &r
	}
	if c.Transfer != nil {
		tr := *c.Transfer
		tr.Date = tr.Date.UTC()
		c.Transfer = &tr
	}
	c.Steps = slices.Clone(c.Steps)
	for i := range c.Steps {
		c.Steps[i].At, c.Steps[i].RecordedAt = c.Steps[i].At.UTC(), c.Steps[i].RecordedAt.UTC()
	}
	return c
}

func TestCaseRevisionsRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, b := sampleCase(t, "case-a"), sampleCase(t, "case-b")[:2]
		at := time.Date(2026, 3, 2, 9, 0, 0, 123_000_000, cst)
		// Out of order, to see the scan sort them.
		type ins struct {
			c   cases.Case
			rev int
		}
		var order []ins
		for i := len(a) - 1; i >= 0; i-- {
			order = append(order, ins{a[i], i + 1})
		}
		order = append(order, ins{b[1], 2}, ins{b[0], 1})
		for _, in := range order {
			if err := s.InsertCaseRevision(ctx, in.c, in.rev, "u-admin", at); err != nil {
				t.Fatalf("insert %s rev %d: %v", in.c.ID, in.rev, err)
			}
		}
		dup := a[len(a)-1]
		dup.Facts = "另一位执法人员的版本"
		if err := s.InsertCaseRevision(ctx, dup, len(a), "u-other", at); !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("a revision twice: %v, want ErrDuplicate", err)
		}
		if err := s.InsertCaseRevision(ctx, a[0], 0, "u-admin", at); !errors.Is(err, enforcement.ErrInvalid) {
			t.Errorf("rev 0: %v, want ErrInvalid", err)
		}
		if err := s.InsertCaseRevision(ctx, cases.Case{}, 1, "u-admin", at); !errors.Is(err, enforcement.ErrInvalid) {
			t.Errorf("no case id: %v, want ErrInvalid", err)
		}

		type got struct {
			rev int
			c   cases.Case
		}
		var gots []got
		if err := s.ScanCaseRevisions(ctx, func(rev int, c cases.Case) error {
			gots = append(gots, got{rev, c})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var want []got
		for i, c := range a {
			want = append(want, got{i + 1, inUTC(c)})
		}
		for i, c := range b {
			want = append(want, got{i + 1, inUTC(c)})
		}
		if len(gots) != len(want) {
			t.Fatalf("scan: %d revisions, want %d", len(gots), len(want))
		}
		for i, w := range want {
			g := gots[i]
			if g.rev != w.rev || !reflect.DeepEqual(g.c, w.c) {
				t.Errorf("revision %d: got %s rev %d, want %s rev %d\n got %+v\nwant %+v", i, g.c.ID, g.rev, w.c.ID, w.rev, g.c, w.c)
			}
		}
		last := gots[len(a)-1].c
		if last.FiledAt.Location() != time.UTC || last.Steps[3].RecordedAt.Nanosecond() != 123_456_789 ||
			!last.Steps[3].At.Equal(a[len(a)-1].Steps[3].At) || last.Band == nil || last.Transfer == nil {
			t.Errorf("last revision: times not in UTC to the nanosecond, or band or transfer lost: %+v", last)
		}

		// The fields beside the JSON.
		client, err := mongo.Connect(ctx, options.Client().ApplyURI(s.URI()))
		if err != nil {
			t.Fatal(err)
		}
		defer client.Disconnect(ctx)
		var doc struct {
			CaseID string    `bson:"case_id"`
			Rev    int       `bson:"rev"`
			State  string    `bson:"state"`
			CaseNo string    `bson:"case_no"`
			Actor  string    `bson:"actor"`
			At     time.Time `bson:"at"`
			Case   string    `bson:"case"`
		}
		if err := client.Database(s.DatabaseName()).Collection("cases").
			FindOne(ctx, bson.D{{Key: "_id", Value: "case-a:000007"}}).Decode(&doc); err != nil {
			t.Fatalf("find by _id: %v", err)
		}
		if doc.CaseID != "case-a" || doc.Rev != 7 || doc.State != "served" || doc.CaseNo != "密保罚〔2020〕第0001号" ||
			doc.Actor != "u-admin" || !sameTime(doc.At.UTC(), at) || doc.Case == "" {
			t.Errorf("stored document: %+v", doc)
		}
	})
}

// nextAll calls Next calls times from each of the stores' goroutines
// (perStore per store) and returns every number issued.
func nextAll(t *testing.T, stores []*store.Store, perStore, calls int, prefix string, year int) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var mu sync.Mutex
	var got []int
	var wg sync.WaitGroup
	for _, s := range stores {
		for range perStore {
			wg.Go(func() {
				for range calls {
					n, err := s.Next(ctx, prefix, year)
					if err != nil {
						t.Errorf("Next: %v", err)
						return
					}
					mu.Lock()
					got = append(got, n)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	slices.Sort(got)
	return got
}

func checkOneToN(t *testing.T, got []int, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d numbers, want %d", len(got), n)
	}
	for i, g := range got {
		if g != i+1 {
			t.Fatalf("sorted numbers[%d] = %d, want %d (each of 1..%d once): %v", i, g, i+1, n, got)
		}
	}
}

func TestCaseNumbersNext(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		next := func(s *store.Store, prefix string, year int) int {
			t.Helper()
			n, err := s.Next(ctx, prefix, year)
			if err != nil {
				t.Fatalf("Next(%q, %d): %v", prefix, year, err)
			}
			return n
		}
		for want := 1; want <= 3; want++ {
			if got := next(s, "密保罚", 2020); got != want {
				t.Errorf("密保罚 2020: %d, want %d", got, want)
			}
		}
		if got := next(s, "密保罚", 2021); got != 1 {
			t.Errorf("密保罚 2021: %d, want 1", got)
		}
		if got := next(s, "密水罚", 2020); got != 1 {
			t.Errorf("密水罚 2020: %d, want 1", got)
		}
		if got := next(s, "密保罚", 2020); got != 4 {
			t.Errorf("密保罚 2020 again: %d, want 4", got)
		}
		for _, tc := range []struct {
			prefix string
			year   int
		}{{"a:b", 2020}, {"", 2020}, {"密保罚", 0}, {"密保罚", 10000}} {
			if _, err := s.Next(ctx, tc.prefix, tc.year); !errors.Is(err, enforcement.ErrInvalid) {
				t.Errorf("Next(%q, %d): %v, want ErrInvalid", tc.prefix, tc.year, err)
			}
		}

		t.Run("concurrent", func(t *testing.T) {
			checkOneToN(t, nextAll(t, []*store.Store{s}, 8, 25, "并发", 2026), 200)
		})

		// A second Store on the same database knows nothing in memory: it
		// finds the highest stored number and continues after it, and the
		// first Store's cache, now behind, is corrected by the duplicate.
		again, err := store.Open(ctx, store.Config{MongoURI: s.URI(), Database: s.DatabaseName()})
		if err != nil {
			t.Fatalf("second store: %v", err)
		}
		defer again.Close(ctx)
		if got := next(again, "并发", 2026); got != 201 {
			t.Errorf("second store after 200: %d, want 201", got)
		}
		if got := next(s, "并发", 2026); got != 202 {
			t.Errorf("first store, its cache behind: %d, want 202", got)
		}
		if got := next(again, "密保罚", 2020); got != 5 {
			t.Errorf("second store, 密保罚 2020: %d, want 5", got)
		}
		t.Run("two stores concurrently", func(t *testing.T) {
			got := nextAll(t, []*store.Store{s, again}, 4, 25, "两台", 2026)
			checkOneToN(t, got, 200)
			third, err := store.Open(ctx, store.Config{MongoURI: s.URI(), Database: s.DatabaseName()})
			if err != nil {
				t.Fatalf("third store: %v", err)
			}
			defer third.Close(ctx)
			if got := next(third, "两台", 2026); got != 201 {
				t.Errorf("third store after 200: %d, want 201", got)
			}
		})
		if t.Failed() {
			return
		}
		// The documents are where CaseNumberID says.
		client, err := mongo.Connect(ctx, options.Client().ApplyURI(s.URI()))
		if err != nil {
			t.Fatal(err)
		}
		defer client.Disconnect(ctx)
		col := client.Database(s.DatabaseName()).Collection("case_numbers")
		for seq := 1; seq <= 5; seq++ {
			id := store.CaseNumberID("密保罚", 2020, seq)
			if id != fmt.Sprintf("密保罚:2020:%06d", seq) {
				t.Errorf("CaseNumberID = %q", id)
			}
			if err := col.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Err(); err != nil {
				t.Errorf("%s: %v", id, err)
			}
		}
		if n, err := col.CountDocuments(ctx, bson.D{{Key: "prefix", Value: "密保罚"}, {Key: "year", Value: 2020}}); err != nil || n != 5 {
			t.Errorf("密保罚 2020: %d documents, %v; want 5", n, err)
		}
	})
}
