// Package syncsvc connects the sync protocol (mobile-sync) to the server:
// it applies a device's mutations to the record service under the same
// policy as the REST API, and tells the engine whose a device is.
package syncsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
	"github.com/baoshui/baoshui/server/accounts"
	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
)

// Applier applies mutations to the records; it implements
// mobilesync.BatchApplier.
type Applier struct {
	Records  *records.Service
	Accounts *accounts.Service
	Now      func() time.Time
}

// problem is the RFC 9457 problem a rejected mutation carries, in the
// shape and with the type slugs of the HTTP API.
type problem struct {
	Type   string                   `json:"type"`
	Title  string                   `json:"title"`
	Status int                      `json:"status"`
	Detail string                   `json:"detail,omitempty"`
	Errors []enforcement.FieldError `json:"errors,omitempty"`
}

func rejected(id string, status int, slug, title, detail string, fields []enforcement.FieldError) mobilesync.Outcome {
	b, _ := json.Marshal(problem{Type: "/problems/" + slug, Title: title, Status: status, Detail: detail, Errors: fields})
	return mobilesync.Outcome{Status: mobilesync.StatusRejected, RecordID: id, Problem: b}
}

// Apply implements mobilesync.Applier. Everything the device got wrong is
// an Outcome; only a failure of the store is an error.
func (a *Applier) Apply(ctx context.Context, actor mobilesync.Actor, m mobilesync.Mutation, meta mobilesync.Meta) (mobilesync.Outcome, error) {
	meta.Seq = m.Seq
	outs, err := a.ApplyBatch(ctx, actor, []mobilesync.Mutation{m}, meta)
	if err != nil {
		return mobilesync.Outcome{}, err
	}
	return outs[0], nil
}

// ApplyBatch implements mobilesync.BatchApplier: it checks each mutation in
// order and hands runs of writes to the record service at once, so that
// they share its group commits. A run ends before a mutation that touches a
// record the run already touches, so that the mutation is checked against
// the state the run leaves.
func (a *Applier) ApplyBatch(ctx context.Context, actor mobilesync.Actor, ms []mobilesync.Mutation, meta mobilesync.Meta) ([]mobilesync.Outcome, error) {
	p := auth.Principal{Username: actor.Username, Role: auth.Role(actor.Role), Unit: actor.Unit}
	who := records.Actor{Username: actor.Username}
	outs := make([]mobilesync.Outcome, len(ms))
	var run []records.Write
	var runIx []int
	touched := map[string]bool{}
	flush := func() (int, error) {
		res, errs := a.Records.WriteBatch(ctx, who, run)
		for k, i := range runIx {
			out, err := a.outcome(run[k], res[k], errs[k], p, meta.DeviceID, ms[i].Seq)
			if err != nil {
				return i, err
			}
			outs[i] = out
		}
		run, runIx = run[:0], runIx[:0]
		clear(touched)
		return len(ms), nil
	}
	for i, m := range ms {
		id := m.RecordID
		var r enforcement.Record
		var bad *mobilesync.Outcome
		if m.Op != mobilesync.OpVoid {
			if r, bad = a.decode(m.Record, meta.ClockOffset); bad == nil {
				id = r.ID
			}
		}
		if bad == nil && touched[id] {
			if n, err := flush(); err != nil {
				return outs[:n], err
			}
		}
		if bad == nil {
			origin := &enforcement.SyncOrigin{DeviceID: meta.DeviceID, Seq: m.Seq, ClockOffsetMs: meta.ClockOffset.Milliseconds(), ClockSuspect: meta.ClockSuspect}
			var w records.Write
			if w, bad = a.plan(ctx, p, m, r, origin); bad == nil {
				run, runIx = append(run, w), append(runIx, i)
				touched[id] = true
				continue
			}
		}
		outs[i] = *bad
	}
	if n, err := flush(); err != nil {
		return outs[:n], err
	}
	return outs, nil
}

// decode turns a mutation's record into a prepared record, or a rejection.
// Its times must be plausible either as sent (an officer typed them) or as
// the instants they stand for given the device's clock offset (the phone's
// wrong clock stamped them), so that a phone with a wrong clock is flagged,
// not refused.
func (a *Applier) decode(raw json.RawMessage, offset time.Duration) (enforcement.Record, *mobilesync.Outcome) {
	now := a.Now()
	in, err := enforcement.Decode(raw, now)
	if err != nil && offset != 0 {
		if shifted, serr := enforcement.DecodeFromDevice(raw, now, offset); serr == nil {
			in, err = shifted, nil
		}
	}
	if err == nil {
		var r enforcement.Record
		if r, err = a.Records.Prepare(in); err == nil {
			return r, nil
		}
	}
	var verr *enforcement.ValidationError
	var fields []enforcement.FieldError
	if errors.As(err, &verr) {
		for _, f := range verr.Fields {
			f.Field = strings.TrimSuffix("record."+f.Field, ".")
			fields = append(fields, f)
		}
	}
	out := rejected(in.Record.ID, http.StatusUnprocessableEntity, "validation", "The input breaks a rule", "see errors", fields)
	return enforcement.Record{}, &out
}

// plan authorises one decoded mutation under the REST API's policy and
// turns it into a write, or into the outcome that rejects it.
//
// A case's decision (status, fine, decision date) changes only on the
// server, through the case workflow: a push may file a case and add to it
// (notes, photos, the party), but a correction that changes the decision,
// or a void of a case, is rejected.
func (a *Applier) plan(ctx context.Context, p auth.Principal, m mobilesync.Mutation, r enforcement.Record, origin *enforcement.SyncOrigin) (records.Write, *mobilesync.Outcome) {
	switch m.Op {
	case mobilesync.OpCreate:
		if !auth.Allow(p, auth.ActRecordCreate, &auth.Object{Unit: r.Unit, CreatedBy: p.Username}, a.Accounts.Units) {
			out := rejected(r.ID, http.StatusForbidden, "forbidden", "Your role may not do this", "you may not create records for unit "+r.Unit, nil)
			return records.Write{}, &out
		}
		r.Sync = origin
		return records.Write{Op: records.WriteCreate, Record: r}, nil
	case mobilesync.OpCorrect:
		h, ok := a.Records.Lookup(ctx, r.ID)
		if out, ok := a.may(p, auth.ActRecordCorrect, r.ID, h, ok); !ok {
			return records.Write{}, &out
		}
		if !auth.Allow(p, auth.ActRecordCreate, &auth.Object{Unit: r.Unit, CreatedBy: h.CreatedBy}, a.Accounts.Units) {
			out := rejected(r.ID, http.StatusForbidden, "forbidden", "Your role may not do this", "you may not move the record to unit "+r.Unit, nil)
			return records.Write{}, &out
		}
		if h.Kind == enforcement.KindCase && h.Rev == m.BaseRev {
			cur, err := a.Records.Get(ctx, r.ID)
			if err == nil && caseDecisionChanged(cur, r) {
				out := rejected(r.ID, http.StatusForbidden, "forbidden", "Your role may not do this",
					"a case's status, fine and decision change only on the server, through the case workflow", nil)
				return records.Write{}, &out
			}
		}
		r.Sync = origin
		return records.Write{Op: records.WriteCorrect, Record: r, BaseRev: m.BaseRev}, nil
	default:
		h, ok := a.Records.Lookup(ctx, m.RecordID)
		if out, ok := a.may(p, auth.ActRecordVoid, m.RecordID, h, ok); !ok {
			return records.Write{}, &out
		}
		if h.Kind == enforcement.KindCase {
			out := rejected(m.RecordID, http.StatusForbidden, "forbidden", "Your role may not do this",
				"a case is withdrawn on the server, through the case workflow, not voided from a phone", nil)
			return records.Write{}, &out
		}
		if strings.TrimSpace(m.Reason) == "" || len(m.Reason) > 2000 {
			out := rejected(m.RecordID, http.StatusUnprocessableEntity, "validation", "The input breaks a rule", "see errors",
				[]enforcement.FieldError{{Field: "reason", Detail: "required, at most 2000 bytes"}})
			return records.Write{}, &out
		}
		return records.Write{Op: records.WriteVoid, ID: m.RecordID, BaseRev: m.BaseRev, Reason: m.Reason, Sync: origin}, nil
	}
}

// may checks that p may see the record (404 otherwise, as the REST API
// answers) and then act on it.
func (a *Applier) may(p auth.Principal, act auth.Action, id string, h records.HeadInfo, found bool) (mobilesync.Outcome, bool) {
	obj := &auth.Object{Unit: h.Unit, CreatedBy: h.CreatedBy}
	if !found || !auth.Allow(p, auth.ActRecordRead, obj, a.Accounts.Units) {
		return rejected(id, http.StatusNotFound, "not-found", "No such resource", "no record "+id, nil), false
	}
	if !auth.Allow(p, act, obj, a.Accounts.Units) {
		return rejected(id, http.StatusForbidden, "forbidden", "Your role may not do this", string(act)+" on record "+id, nil), false
	}
	return mobilesync.Outcome{}, true
}

// caseDecisionChanged reports whether next changes the decision of case
// cur: its status, fine or decision date.
func caseDecisionChanged(cur, next enforcement.Record) bool {
	same := func(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
	return cur.Status != next.Status || cur.FineFen != next.FineFen || !same(cur.DecidedAt, next.DecidedAt)
}

// outcome turns the result of a write into the mutation's outcome:
// conflicts and broken rules are the device's; an unavailable store is the
// server's (an error). A conflict whose current revision was stored by this
// very mutation (device and seq) is a write that a crash kept out of the
// ledger: it is answered as a duplicate.
func (a *Applier) outcome(w records.Write, res records.Result, err error, p auth.Principal, device string, seq int64) (mobilesync.Outcome, error) {
	id := w.Record.ID
	if w.Op == records.WriteVoid {
		id = w.ID
	}
	if err == nil {
		status := mobilesync.StatusApplied
		if !res.Created {
			status = mobilesync.StatusDuplicate
		}
		return mobilesync.Outcome{Status: status, RecordID: res.Record.ID, Rev: res.Record.Rev}, nil
	}
	var ce *records.ConflictError
	switch {
	case errors.As(err, &ce):
		if o := ce.Current.Sync; o != nil && o.DeviceID == device && o.Seq == seq {
			return mobilesync.Outcome{Status: mobilesync.StatusDuplicate, RecordID: id, Rev: ce.Current.Rev}, nil
		}
		c := mobilesync.Outcome{Status: mobilesync.StatusConflict, RecordID: id, Rev: ce.Current.Rev}
		if ce.Current.ID != "" && auth.Allow(p, auth.ActRecordRead, &auth.Object{Unit: ce.Current.Unit, CreatedBy: ce.Current.CreatedBy}, a.Accounts.Units) {
			c.Current, _ = json.Marshal(ce.Current)
		}
		return c, nil
	case errors.Is(err, enforcement.ErrInvalid):
		var verr *enforcement.ValidationError
		var fields []enforcement.FieldError
		if errors.As(err, &verr) {
			fields = verr.Fields
		}
		return rejected(id, http.StatusUnprocessableEntity, "validation", "The input breaks a rule", err.Error(), fields), nil
	case errors.Is(err, enforcement.ErrNotFound):
		return rejected(id, http.StatusNotFound, "not-found", "No such resource", err.Error(), nil), nil
	}
	return mobilesync.Outcome{}, fmt.Errorf("syncsvc: apply: %w", err)
}

// Devices tells the engine whose a device is; it implements
// mobilesync.Devices.
type Devices struct{ Accounts *accounts.Service }

// Owner implements mobilesync.Devices.
func (d Devices) Owner(id string) (string, bool) {
	dev, ok := d.Accounts.Device(id)
	return dev.Owner, ok
}
