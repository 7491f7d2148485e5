package mobilesync

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Errors of Push. The server maps them to HTTP statuses.
var (
	// ErrMalformed: the push breaks the protocol (no device, another schema
	// version, too many mutations, seqs not consecutive, an unknown op).
	ErrMalformed = errors.New("malformed push")
	// ErrForbidden: the device is not registered to the caller.
	ErrForbidden = errors.New("device not registered to this account")
	// ErrNotFound is what a Ledger returns for a seq it does not hold.
	ErrNotFound = errors.New("not in the ledger")
	// ErrExists is what a Ledger returns when the seq is already stored.
	ErrExists = errors.New("already in the ledger")
)

// GapError is returned when a push skips seqs: nothing of it was applied,
// and the device must push from Expected.
type GapError struct {
	Expected int64
	Got      int64
}

func (e *GapError) Error() string {
	return fmt.Sprintf("mutation seq %d skips ahead: the server expects %d next", e.Got, e.Expected)
}

// Actor is the authenticated caller of a push, as the server's token says:
// the engine checks the device against Username; the Applier authorises
// each mutation with the role and unit.
type Actor struct {
	Username string
	Role     string
	Unit     string
}

// Meta is what the engine knows of a push that an Applier may record.
type Meta struct {
	DeviceID    string
	Seq         int64
	ClockOffset time.Duration
	// ClockSuspect is set when the device's clock is off by more than
	// ClockTolerance.
	ClockSuspect bool
	ReceivedAt   time.Time
}

// Outcome is what applying one mutation gave. Status must be set.
type Outcome struct {
	Status   Status
	RecordID string
	Rev      int64
	Problem  []byte
	Current  []byte
}

// Applier applies one mutation to the records. It returns an Outcome for
// anything the device caused (rejected and conflict included) and an error
// only for a failure of the server itself (the store unreachable), which
// stops the push without consuming the seq. Applying the same mutation twice
// must be harmless: a create of a record already stored with the same body
// gives StatusDuplicate.
type Applier interface {
	Apply(ctx context.Context, actor Actor, m Mutation, meta Meta) (Outcome, error)
}

// BatchApplier is an Applier that can apply a run of mutations at once (so
// that a push of 500 records shares the store's group commits). It applies
// ms in order, meta.Seq set to each mutation's seq, with the same contract
// as Apply, and returns the outcomes of a prefix of ms: all of them, or
// those before a failure of the server itself, with the error.
type BatchApplier interface {
	Applier
	ApplyBatch(ctx context.Context, actor Actor, ms []Mutation, meta Meta) ([]Outcome, error)
}

// Ledger stores each device's results by (device, seq): inserts with a
// deterministic id, so that a second writer of the same seq gets ErrExists.
type Ledger interface {
	Get(ctx context.Context, device string, seq int64) (Result, error)
	// PutMany stores the results and answers one error per result: nil,
	// one wrapping ErrExists, or a failure.
	PutMany(ctx context.Context, device string, rs []Result) []error
	// Last returns the highest seq stored for the device, 0 for none.
	Last(ctx context.Context, device string) (int64, error)
}

// Devices tells which account a device is registered to.
type Devices interface {
	Owner(deviceID string) (username string, ok bool)
}

// Engine applies pushes. It is safe for concurrent use; pushes of one
// device are applied one at a time, in seq order.
type Engine struct {
	ledger  Ledger
	applier Applier
	devices Devices
	now     func() time.Time

	mu    sync.Mutex
	locks map[string]*deviceState
}

type deviceState struct {
	mu   sync.Mutex
	next int64 // 0 until read from the ledger
}

// NewEngine returns an engine; now defaults to time.Now.
func NewEngine(l Ledger, a Applier, d Devices, now func() time.Time) *Engine {
	if now == nil {
		now = time.Now
	}
	return &Engine{ledger: l, applier: a, devices: d, now: now, locks: map[string]*deviceState{}}
}

// check validates the shape of a push, naming the first fault.
func check(req *PushRequest) error {
	switch {
	case req.DeviceID == "" || len(req.DeviceID) > 128:
		return fmt.Errorf("%w: device_id is required (at most 128 bytes)", ErrMalformed)
	case req.SchemaVersion != SchemaVersion:
		return fmt.Errorf("%w: schema_version %d is not supported (this server speaks %d)", ErrMalformed, req.SchemaVersion, SchemaVersion)
	case len(req.Mutations) == 0:
		return fmt.Errorf("%w: no mutations", ErrMalformed)
	case len(req.Mutations) > MaxMutations:
		return fmt.Errorf("%w: %d mutations, at most %d per push", ErrMalformed, len(req.Mutations), MaxMutations)
	}
	for i, m := range req.Mutations {
		if m.Seq < 1 {
			return fmt.Errorf("%w: mutations[%d].seq must be 1 or more", ErrMalformed, i)
		}
		if i > 0 && m.Seq != req.Mutations[i-1].Seq+1 {
			return fmt.Errorf("%w: mutations[%d].seq is %d, want %d: seqs of a push are consecutive", ErrMalformed, i, m.Seq, req.Mutations[i-1].Seq+1)
		}
		switch m.Op {
		case OpCreate, OpCorrect:
			if len(m.Record) == 0 {
				return fmt.Errorf("%w: mutations[%d].record is required for %s", ErrMalformed, i, m.Op)
			}
		case OpVoid:
			if m.RecordID == "" {
				return fmt.Errorf("%w: mutations[%d].record_id is required for void", ErrMalformed, i)
			}
		default:
			return fmt.Errorf("%w: mutations[%d].op %q is not create, correct or void", ErrMalformed, i, m.Op)
		}
	}
	return nil
}

// Push applies the mutations of req that the device has not pushed before,
// in order, and returns one result per mutation: the stored result for a
// seq already in the ledger (Replayed), the new one otherwise. A push whose
// first new seq is not the one expected gives a *GapError and applies
// nothing. An Applier or Ledger failure stops the push with an error; the
// mutations applied before it keep their ledger entries, and the device
// retries the same push.
func (e *Engine) Push(ctx context.Context, actor Actor, req PushRequest) (PushResponse, error) {
	if err := check(&req); err != nil {
		return PushResponse{}, err
	}
	if owner, ok := e.devices.Owner(req.DeviceID); !ok || owner != actor.Username {
		return PushResponse{}, fmt.Errorf("mobilesync: push from %s: %w", req.DeviceID, ErrForbidden)
	}
	now := e.now().UTC()
	resp := PushResponse{DeviceID: req.DeviceID, Results: make([]Result, 0, len(req.Mutations))}
	meta := Meta{DeviceID: req.DeviceID, ReceivedAt: now}
	if !req.DeviceTime.IsZero() {
		meta.ClockOffset = now.Sub(req.DeviceTime)
		meta.ClockSuspect = meta.ClockOffset > ClockTolerance || meta.ClockOffset < -ClockTolerance
		resp.ClockOffsetMs, resp.ClockSuspect = meta.ClockOffset.Milliseconds(), meta.ClockSuspect
	}

	st := e.device(req.DeviceID)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.next == 0 {
		last, err := e.ledger.Last(ctx, req.DeviceID)
		if err != nil {
			return PushResponse{}, fmt.Errorf("mobilesync: push: %w", err)
		}
		st.next = last + 1
	}
	first := req.Mutations[0].Seq
	last := req.Mutations[len(req.Mutations)-1].Seq
	if first > st.next {
		// Another server instance may have taken this device's pushes:
		// the ledger, not this instance's memory, decides what is a gap.
		last, err := e.ledger.Last(ctx, req.DeviceID)
		if err != nil {
			return PushResponse{}, fmt.Errorf("mobilesync: push: %w", err)
		}
		if st.next = last + 1; first > st.next {
			return PushResponse{}, &GapError{Expected: st.next, Got: first}
		}
	}
	// Seqs below st.next are answered from the ledger. One the ledger does
	// not hold (an instance stopped between storing later results and this
	// one) is applied again, which the Applier makes harmless.
	results := make([]Result, len(req.Mutations))
	var fresh []int // indexes of the mutations to apply, in order
	for i, m := range req.Mutations {
		if m.Seq < st.next {
			r, err := e.ledger.Get(ctx, req.DeviceID, m.Seq)
			if err == nil {
				r.Replayed = true
				results[i] = r
				continue
			}
			if !errors.Is(err, ErrNotFound) {
				return PushResponse{}, fmt.Errorf("mobilesync: push: replay of seq %d: %w", m.Seq, err)
			}
		}
		fresh = append(fresh, i)
	}
	ms := make([]Mutation, len(fresh))
	for j, i := range fresh {
		ms[j] = req.Mutations[i]
	}
	outs, aerr := e.apply(ctx, actor, ms, meta)
	stored := make([]Result, len(outs))
	for j, out := range outs {
		stored[j] = Result{Seq: ms[j].Seq, Status: out.Status, RecordID: out.RecordID, Rev: out.Rev, ServerTime: now,
			Problem: out.Problem, Current: out.Current}
	}
	done := 0 // the results of fresh[:done] are in the ledger
	for j, err := range e.ledger.PutMany(ctx, req.DeviceID, stored) {
		if errors.Is(err, ErrExists) {
			// Another server instance stored this seq first: its result
			// is the one the device must see.
			r, gerr := e.ledger.Get(ctx, req.DeviceID, stored[j].Seq)
			if gerr != nil {
				aerr = fmt.Errorf("seq %d: %w", stored[j].Seq, gerr)
				break
			}
			r.Replayed = true
			stored[j] = r
		} else if err != nil {
			aerr = fmt.Errorf("seq %d: %w", stored[j].Seq, err)
			break
		}
		results[fresh[j]] = stored[j]
		done = j + 1
	}
	n := len(req.Mutations) // the answered prefix
	if done < len(fresh) {
		n = fresh[done]
	}
	resp.Results = append(resp.Results, results[:n]...)
	if n > 0 {
		st.next = max(st.next, req.Mutations[n-1].Seq+1)
	}
	resp.NextSeq = st.next
	if done < len(fresh) {
		if aerr == nil {
			aerr = errors.New("not applied")
		}
		// The next push starts again from the first unanswered seq.
		st.next = min(st.next, req.Mutations[n].Seq)
		resp.NextSeq = st.next
		return resp, fmt.Errorf("mobilesync: push: %w", aerr)
	}
	resp.NextSeq = max(st.next, last+1)
	return resp, nil
}

// apply applies ms in order through the Applier, at once when it is a
// BatchApplier. It returns the outcomes of a prefix of ms; an error says why
// the rest was not applied.
func (e *Engine) apply(ctx context.Context, actor Actor, ms []Mutation, meta Meta) ([]Outcome, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	if b, ok := e.applier.(BatchApplier); ok {
		outs, err := b.ApplyBatch(ctx, actor, ms, meta)
		if err == nil && len(outs) != len(ms) {
			err = fmt.Errorf("the applier answered %d of %d mutations", len(outs), len(ms))
		}
		return outs[:min(len(outs), len(ms))], err
	}
	outs := make([]Outcome, 0, len(ms))
	for _, m := range ms {
		meta.Seq = m.Seq
		out, err := e.applier.Apply(ctx, actor, m, meta)
		if err != nil {
			return outs, fmt.Errorf("seq %d: %w", m.Seq, err)
		}
		outs = append(outs, out)
	}
	return outs, nil
}

func (e *Engine) device(id string) *deviceState {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.locks[id]
	if st == nil {
		st = &deviceState{}
		e.locks[id] = st
	}
	return st
}
