package mobilesync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
)

// recordsApplier stands in for the server's record service: records by id
// with revisions, a create of a stored id with the same body is a
// duplicate, with another body a conflict; a record without "kind" is
// rejected. It counts the calls per (device, seq).
type recordsApplier struct {
	mu    sync.Mutex
	recs  map[string][]string // id → bodies by revision
	calls map[string]int
	fail  func(m mobilesync.Mutation) error
	metas []mobilesync.Meta
}

func newApplier() *recordsApplier {
	return &recordsApplier{recs: map[string][]string{}, calls: map[string]int{}}
}

func (a *recordsApplier) Apply(_ context.Context, _ mobilesync.Actor, m mobilesync.Mutation, meta mobilesync.Meta) (mobilesync.Outcome, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		if err := a.fail(m); err != nil {
			return mobilesync.Outcome{}, err
		}
	}
	a.calls[fmt.Sprintf("%s:%d", meta.DeviceID, m.Seq)]++
	a.metas = append(a.metas, meta)
	var rec struct {
		ID   string `json:"id"`
		Kind string `json:"kind"`
	}
	if m.Op != mobilesync.OpVoid {
		if err := json.Unmarshal(m.Record, &rec); err != nil || rec.Kind == "" || rec.ID == "" {
			return mobilesync.Outcome{Status: mobilesync.StatusRejected, RecordID: rec.ID,
				Problem: []byte(`{"type":"/problems/validation","status":422,"detail":"kind: required"}`)}, nil
		}
	} else {
		rec.ID = m.RecordID
	}
	revs := a.recs[rec.ID]
	switch m.Op {
	case mobilesync.OpCreate:
		if len(revs) > 0 {
			if revs[0] == string(m.Record) {
				return mobilesync.Outcome{Status: mobilesync.StatusDuplicate, RecordID: rec.ID, Rev: int64(len(revs))}, nil
			}
			return mobilesync.Outcome{Status: mobilesync.StatusConflict, RecordID: rec.ID, Rev: int64(len(revs)), Current: []byte(revs[len(revs)-1])}, nil
		}
		a.recs[rec.ID] = []string{string(m.Record)}
		return mobilesync.Outcome{Status: mobilesync.StatusApplied, RecordID: rec.ID, Rev: 1}, nil
	default:
		if len(revs) == 0 || m.BaseRev != int64(len(revs)) {
			return mobilesync.Outcome{Status: mobilesync.StatusConflict, RecordID: rec.ID, Rev: int64(len(revs))}, nil
		}
		body := string(m.Record)
		if m.Op == mobilesync.OpVoid {
			body = "void"
		}
		a.recs[rec.ID] = append(revs, body)
		return mobilesync.Outcome{Status: mobilesync.StatusApplied, RecordID: rec.ID, Rev: int64(len(revs) + 1)}, nil
	}
}

type devices map[string]string

func (d devices) Owner(id string) (string, bool) { u, ok := d[id]; return u, ok }

var (
	officer = mobilesync.Actor{Username: "officer-a"}
	other   = mobilesync.Actor{Username: "officer-b"}
	t0      = time.Date(2020, 7, 4, 18, 0, 0, 0, time.UTC)
)

func newEngine(l mobilesync.Ledger, a mobilesync.Applier) *mobilesync.Engine {
	return mobilesync.NewEngine(l, a, devices{"phone-1": "officer-a", "phone-2": "officer-b"}, func() time.Time { return t0 })
}

func create(seq int64, id string) mobilesync.Mutation {
	return mobilesync.Mutation{Seq: seq, Op: mobilesync.OpCreate, Record: json.RawMessage(fmt.Sprintf(`{"id":%q,"kind":"expulsion"}`, id))}
}

func push(muts ...mobilesync.Mutation) mobilesync.PushRequest {
	return mobilesync.PushRequest{DeviceID: "phone-1", SchemaVersion: 1, DeviceTime: t0, Mutations: muts}
}

func statuses(rs []mobilesync.Result) string {
	var b []string
	for _, r := range rs {
		s := fmt.Sprintf("%d:%s", r.Seq, r.Status)
		if r.Replayed {
			s += "(replayed)"
		}
		b = append(b, s)
	}
	return strings.Join(b, " ")
}

func TestPushReplayedAfterALostResponse(t *testing.T) {
	ctx := context.Background()
	a := newApplier()
	e := newEngine(mobilesync.NewMemoryLedger(), a)
	req := push(create(1, "r1"), create(2, "r2"), create(3, "r3"))
	first, err := e.Push(ctx, officer, req)
	if err != nil || statuses(first.Results) != "1:applied 2:applied 3:applied" || first.NextSeq != 4 {
		t.Fatalf("first push: %v %s next %d", err, statuses(first.Results), first.NextSeq)
	}
	again, err := e.Push(ctx, officer, req)
	if err != nil || statuses(again.Results) != "1:applied(replayed) 2:applied(replayed) 3:applied(replayed)" || again.NextSeq != 4 {
		t.Fatalf("the same push again: %v %s", err, statuses(again.Results))
	}
	for k, n := range a.calls {
		if n != 1 {
			t.Errorf("%s applied %d times", k, n)
		}
	}
	// A push overlapping the last: the old seqs replayed, the new applied.
	over, err := e.Push(ctx, officer, push(create(2, "r2"), create(3, "r3"), create(4, "r4")))
	if err != nil || statuses(over.Results) != "2:applied(replayed) 3:applied(replayed) 4:applied" {
		t.Fatalf("overlapping push: %v %s", err, statuses(over.Results))
	}
	if len(a.recs) != 4 {
		t.Errorf("%d records, want 4", len(a.recs))
	}
}

func TestPushInvalidMutationConsumesItsSeq(t *testing.T) {
	e := newEngine(mobilesync.NewMemoryLedger(), newApplier())
	bad := mobilesync.Mutation{Seq: 3, Op: mobilesync.OpCreate, Record: json.RawMessage(`{"id":"r3"}`)}
	resp, err := e.Push(context.Background(), officer, push(create(1, "r1"), create(2, "r2"), bad, create(4, "r4"), create(5, "r5")))
	if err != nil || statuses(resp.Results) != "1:applied 2:applied 3:rejected 4:applied 5:applied" || resp.NextSeq != 6 {
		t.Fatalf("%v %s next %d", err, statuses(resp.Results), resp.NextSeq)
	}
	if !strings.Contains(string(resp.Results[2].Problem), "/problems/validation") {
		t.Errorf("rejected without its problem: %s", resp.Results[2].Problem)
	}
}

func TestPushGapAppliesNothing(t *testing.T) {
	ctx := context.Background()
	a := newApplier()
	e := newEngine(mobilesync.NewMemoryLedger(), a)
	if _, err := e.Push(ctx, officer, push(create(1, "r1"), create(2, "r2"))); err != nil {
		t.Fatal(err)
	}
	_, err := e.Push(ctx, officer, push(create(5, "r5"), create(6, "r6")))
	var gap *mobilesync.GapError
	if !errors.As(err, &gap) || gap.Expected != 3 || gap.Got != 5 {
		t.Fatalf("gap: %v", err)
	}
	if len(a.recs) != 2 {
		t.Errorf("a push with a gap applied something: %d records", len(a.recs))
	}
}

func TestPushSameBatchConcurrently(t *testing.T) {
	a := newApplier()
	e := newEngine(mobilesync.NewMemoryLedger(), a)
	req := push(create(1, "r1"), create(2, "r2"), create(3, "r3"), create(4, "r4"))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := e.Push(context.Background(), officer, req)
			if err == nil && len(resp.Results) != 4 {
				err = fmt.Errorf("%d results", len(resp.Results))
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(a.calls) != 4 {
		t.Errorf("calls %v", a.calls)
	}
	for k, n := range a.calls {
		if n != 1 {
			t.Errorf("%s applied %d times by 20 concurrent pushes", k, n)
		}
	}
}

func TestPushFromAnotherAccountIsForbidden(t *testing.T) {
	e := newEngine(mobilesync.NewMemoryLedger(), newApplier())
	if _, err := e.Push(context.Background(), other, push(create(1, "r1"))); !errors.Is(err, mobilesync.ErrForbidden) {
		t.Errorf("another officer replaying phone-1: %v", err)
	}
	req := push(create(1, "r1"))
	req.DeviceID = "phone-unknown"
	if _, err := e.Push(context.Background(), officer, req); !errors.Is(err, mobilesync.ErrForbidden) {
		t.Errorf("an unregistered device: %v", err)
	}
}

func TestPushMalformed(t *testing.T) {
	many := make([]mobilesync.Mutation, mobilesync.MaxMutations+1)
	for i := range many {
		many[i] = create(int64(i+1), fmt.Sprint("r", i))
	}
	tests := []struct {
		name string
		req  mobilesync.PushRequest
		want string
	}{
		{"no device", mobilesync.PushRequest{SchemaVersion: 1, Mutations: []mobilesync.Mutation{create(1, "a")}}, "device_id is required"},
		{"another schema", mobilesync.PushRequest{DeviceID: "phone-1", SchemaVersion: 2, Mutations: []mobilesync.Mutation{create(1, "a")}}, "schema_version 2"},
		{"nothing", push(), "no mutations"},
		{"too many", push(many...), "501 mutations"},
		{"seq 0", push(create(0, "a")), "seq must be 1 or more"},
		{"not consecutive", push(create(1, "a"), create(3, "b")), "mutations[1].seq is 3, want 2"},
		{"unknown op", push(mobilesync.Mutation{Seq: 1, Op: "delete", RecordID: "a"}), `op "delete"`},
		{"create without a record", push(mobilesync.Mutation{Seq: 1, Op: mobilesync.OpCreate}), "record is required"},
		{"void without an id", push(mobilesync.Mutation{Seq: 1, Op: mobilesync.OpVoid}), "record_id is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newApplier()
			_, err := newEngine(mobilesync.NewMemoryLedger(), a).Push(context.Background(), officer, tc.req)
			if !errors.Is(err, mobilesync.ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want ErrMalformed saying %q", err, tc.want)
			}
			if len(a.calls) != 0 {
				t.Errorf("a malformed push applied %v", a.calls)
			}
		})
	}
}

func TestPushMeasuresTheDeviceClock(t *testing.T) {
	for _, tc := range []struct {
		name    string
		device  time.Time
		suspect bool
	}{
		{"in step", t0.Add(-90 * time.Second), false},
		{"nine minutes slow", t0.Add(-9 * time.Minute), false},
		{"1970", time.Unix(0, 0), true},
		{"a year ahead", t0.AddDate(1, 0, 0), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApplier()
			req := push(create(1, "r1"))
			req.DeviceTime = tc.device
			resp, err := newEngine(mobilesync.NewMemoryLedger(), a).Push(context.Background(), officer, req)
			if err != nil {
				t.Fatal(err)
			}
			want := t0.Sub(tc.device)
			if resp.ClockSuspect != tc.suspect || resp.ClockOffsetMs != want.Milliseconds() {
				t.Errorf("offset %d ms suspect %v, want %d ms %v", resp.ClockOffsetMs, resp.ClockSuspect, want.Milliseconds(), tc.suspect)
			}
			if m := a.metas[0]; m.ClockSuspect != tc.suspect || m.ClockOffset != want || !m.ReceivedAt.Equal(t0) {
				t.Errorf("the applier was told %+v", m)
			}
		})
	}
}

// TestPushStopsOnAServerFailureAndResumes, through an Applier one mutation
// at a time and through a BatchApplier: the results before the failure are
// kept, the retry applies the rest.
func TestPushStopsOnAServerFailureAndResumes(t *testing.T) {
	for _, mode := range []string{"one by one", "in batches"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			a := newApplier()
			down := errors.New("store unreachable")
			a.fail = func(m mobilesync.Mutation) error {
				if m.Seq == 3 {
					return down
				}
				return nil
			}
			var applier mobilesync.Applier = a
			if mode == "in batches" {
				applier = batchApplier{a}
			}
			e := newEngine(mobilesync.NewMemoryLedger(), applier)
			req := push(create(1, "r1"), create(2, "r2"), create(3, "r3"), create(4, "r4"), create(5, "r5"))
			resp, err := e.Push(ctx, officer, req)
			if !errors.Is(err, down) || statuses(resp.Results) != "1:applied 2:applied" || resp.NextSeq != 3 {
				t.Fatalf("push during the failure: %v %s next %d", err, statuses(resp.Results), resp.NextSeq)
			}
			a.fail = nil
			resp, err = e.Push(ctx, officer, req)
			if err != nil || statuses(resp.Results) != "1:applied(replayed) 2:applied(replayed) 3:applied 4:applied 5:applied" || resp.NextSeq != 6 {
				t.Fatalf("the retry: %v %s next %d", err, statuses(resp.Results), resp.NextSeq)
			}
			if len(a.recs) != 5 {
				t.Errorf("%d records, want 5", len(a.recs))
			}
		})
	}
}

func TestPushesAcrossTwoInstancesShareTheLedger(t *testing.T) {
	ctx := context.Background()
	l := mobilesync.NewMemoryLedger()
	a := newApplier()
	one, two := newEngine(l, a), newEngine(l, a)
	if _, err := one.Push(ctx, officer, push(create(1, "r1"), create(2, "r2"))); err != nil {
		t.Fatal(err)
	}
	if resp, err := two.Push(ctx, officer, push(create(3, "r3"))); err != nil || statuses(resp.Results) != "3:applied" {
		t.Fatalf("second instance: %v %v", err, resp)
	}
	// The first instance remembers 3 as next; the ledger says 4.
	if resp, err := one.Push(ctx, officer, push(create(4, "r4"))); err != nil || statuses(resp.Results) != "4:applied" {
		t.Fatalf("first instance after the second took a push: %v %v", err, resp)
	}
	// And a seq the other instance stored is answered with its result.
	if resp, err := one.Push(ctx, officer, push(create(3, "r3"), create(4, "r4"))); err != nil || statuses(resp.Results) != "3:applied(replayed) 4:applied(replayed)" {
		t.Fatalf("replay on the first instance: %v %s", err, statuses(resp.Results))
	}
}

func TestCorrectionsAndVoidsRace(t *testing.T) {
	ctx := context.Background()
	a := newApplier()
	e := newEngine(mobilesync.NewMemoryLedger(), a)
	if _, err := e.Push(ctx, officer, push(create(1, "r1"))); err != nil {
		t.Fatal(err)
	}
	fix := mobilesync.Mutation{Seq: 2, Op: mobilesync.OpCorrect, BaseRev: 1, Record: json.RawMessage(`{"id":"r1","kind":"expulsion","persons":4}`)}
	void := mobilesync.Mutation{Seq: 3, Op: mobilesync.OpVoid, RecordID: "r1", BaseRev: 1, Reason: "twice"}
	resp, err := e.Push(ctx, officer, push(fix, void))
	if err != nil || statuses(resp.Results) != "2:applied 3:conflict" || resp.Results[0].Rev != 2 {
		t.Fatalf("a void on a stale base after a correction: %v %s", err, statuses(resp.Results))
	}
}

// batchApplier is recordsApplier through the BatchApplier path: it applies
// in order and stops at the first failure, as the server's applier does.
type batchApplier struct{ *recordsApplier }

func (b batchApplier) ApplyBatch(ctx context.Context, actor mobilesync.Actor, ms []mobilesync.Mutation, meta mobilesync.Meta) ([]mobilesync.Outcome, error) {
	var outs []mobilesync.Outcome
	for _, m := range ms {
		meta.Seq = m.Seq
		out, err := b.Apply(ctx, actor, m, meta)
		if err != nil {
			return outs, err
		}
		outs = append(outs, out)
	}
	return outs, nil
}

// holeLedger loses the result of one seq once, storing the ones after it:
// the gap an instance leaves when it dies between two ledger inserts.
type holeLedger struct {
	*mobilesync.MemoryLedger
	hole int64
}

func (l *holeLedger) PutMany(ctx context.Context, device string, rs []mobilesync.Result) []error {
	errs := make([]error, len(rs))
	var keep []mobilesync.Result
	var at []int
	for i, r := range rs {
		if r.Seq == l.hole {
			errs[i] = errors.New("connection reset")
			l.hole = 0
			continue
		}
		keep, at = append(keep, r), append(at, i)
	}
	for k, err := range l.MemoryLedger.PutMany(ctx, device, keep) {
		errs[at[k]] = err
	}
	return errs
}

func TestPushRecoversFromAHoleInTheLedger(t *testing.T) {
	ctx := context.Background()
	a := newApplier()
	l := &holeLedger{MemoryLedger: mobilesync.NewMemoryLedger(), hole: 2}
	req := push(create(1, "r1"), create(2, "r2"), create(3, "r3"))
	resp, err := newEngine(l, batchApplier{a}).Push(ctx, officer, req)
	if err == nil || statuses(resp.Results) != "1:applied" {
		t.Fatalf("push with a lost ledger entry: %v %s", err, statuses(resp.Results))
	}
	// A restarted instance finds seq 3 stored and 2 missing: 2 is applied
	// again (a duplicate of the stored record), 3 answered from the ledger.
	resp, err = newEngine(l, batchApplier{a}).Push(ctx, officer, req)
	if err != nil || statuses(resp.Results) != "1:applied(replayed) 2:duplicate 3:applied(replayed)" || resp.NextSeq != 4 {
		t.Fatalf("the retry: %v %s next %d", err, statuses(resp.Results), resp.NextSeq)
	}
	if len(a.recs) != 3 {
		t.Errorf("%d records, want 3", len(a.recs))
	}
}
