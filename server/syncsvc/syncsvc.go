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
// mobilesync.Applier.
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
	p := auth.Principal{Username: actor.Username, Role: auth.Role(actor.Role), Unit: actor.Unit}
	origin := &enforcement.SyncOrigin{DeviceID: meta.DeviceID, Seq: meta.Seq, ClockOffsetMs: meta.ClockOffset.Milliseconds(), ClockSuspect: meta.ClockSuspect}
	who := records.Actor{Username: actor.Username}
	var out mobilesync.Outcome
	var err error
	switch m.Op {
	case mobilesync.OpCreate:
		out, err = a.create(ctx, p, who, m, origin)
	case mobilesync.OpCorrect:
		out, err = a.correct(ctx, p, who, m, origin)
	case mobilesync.OpVoid:
		out, err = a.void(ctx, p, who, m)
	}
	return a.outcome(out, err, p)
}

// decode turns a mutation's record into a prepared record, or a rejection.
func (a *Applier) decode(raw json.RawMessage) (enforcement.Record, *mobilesync.Outcome) {
	in, err := enforcement.Decode(raw, a.Now())
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

func (a *Applier) create(ctx context.Context, p auth.Principal, who records.Actor, m mobilesync.Mutation, origin *enforcement.SyncOrigin) (mobilesync.Outcome, error) {
	r, bad := a.decode(m.Record)
	if bad != nil {
		return *bad, nil
	}
	if !auth.Allow(p, auth.ActRecordCreate, &auth.Object{Unit: r.Unit, CreatedBy: p.Username}, a.Accounts.Units) {
		return rejected(r.ID, http.StatusForbidden, "forbidden", "Your role may not do this", "you may not create records for unit "+r.Unit, nil), nil
	}
	r.Sync = origin
	res, err := a.Records.Create(ctx, who, r)
	if err != nil {
		return mobilesync.Outcome{RecordID: r.ID}, err
	}
	status := mobilesync.StatusApplied
	if !res.Created {
		status = mobilesync.StatusDuplicate
	}
	return mobilesync.Outcome{Status: status, RecordID: res.Record.ID, Rev: res.Record.Rev}, nil
}

func (a *Applier) correct(ctx context.Context, p auth.Principal, who records.Actor, m mobilesync.Mutation, origin *enforcement.SyncOrigin) (mobilesync.Outcome, error) {
	r, bad := a.decode(m.Record)
	if bad != nil {
		return *bad, nil
	}
	h, ok := a.Records.Head(r.ID)
	if out, ok := a.may(p, auth.ActRecordCorrect, r.ID, h, ok); !ok {
		return out, nil
	}
	if !auth.Allow(p, auth.ActRecordCreate, &auth.Object{Unit: r.Unit, CreatedBy: h.CreatedBy}, a.Accounts.Units) {
		return rejected(r.ID, http.StatusForbidden, "forbidden", "Your role may not do this", "you may not move the record to unit "+r.Unit, nil), nil
	}
	r.Sync = origin
	res, err := a.Records.Correct(ctx, who, m.BaseRev, r)
	if err != nil {
		return mobilesync.Outcome{RecordID: r.ID}, err
	}
	return mobilesync.Outcome{Status: mobilesync.StatusApplied, RecordID: res.Record.ID, Rev: res.Record.Rev}, nil
}

func (a *Applier) void(ctx context.Context, p auth.Principal, who records.Actor, m mobilesync.Mutation) (mobilesync.Outcome, error) {
	h, ok := a.Records.Head(m.RecordID)
	if out, ok := a.may(p, auth.ActRecordVoid, m.RecordID, h, ok); !ok {
		return out, nil
	}
	if strings.TrimSpace(m.Reason) == "" || len(m.Reason) > 2000 {
		return rejected(m.RecordID, http.StatusUnprocessableEntity, "validation", "The input breaks a rule", "see errors",
			[]enforcement.FieldError{{Field: "reason", Detail: "required, at most 2000 bytes"}}), nil
	}
	res, err := a.Records.Void(ctx, who, m.RecordID, m.BaseRev, m.Reason)
	if err != nil {
		return mobilesync.Outcome{RecordID: m.RecordID}, err
	}
	return mobilesync.Outcome{Status: mobilesync.StatusApplied, RecordID: res.Record.ID, Rev: res.Record.Rev}, nil
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

// outcome turns the record service's errors into outcomes: conflicts and
// broken rules are the device's; an unavailable store is the server's.
func (a *Applier) outcome(out mobilesync.Outcome, err error, p auth.Principal) (mobilesync.Outcome, error) {
	if err == nil {
		return out, nil
	}
	var ce *records.ConflictError
	switch {
	case errors.As(err, &ce):
		c := mobilesync.Outcome{Status: mobilesync.StatusConflict, RecordID: out.RecordID, Rev: ce.Current.Rev}
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
		return rejected(out.RecordID, http.StatusUnprocessableEntity, "validation", "The input breaks a rule", err.Error(), fields), nil
	case errors.Is(err, enforcement.ErrNotFound):
		return rejected(out.RecordID, http.StatusNotFound, "not-found", "No such resource", err.Error(), nil), nil
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
