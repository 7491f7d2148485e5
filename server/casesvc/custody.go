package casesvc

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/custody"
	"github.com/baoshui/baoshui/server/enforcement"
)

// RecordReader reads a field record by id (the record service's Get): the
// confiscation records whose items custody takes in.
type RecordReader interface {
	Get(ctx context.Context, id string) (enforcement.Record, error)
}

// Custody tracks the confiscated items in custody (server/custody), one
// versioned document per item line, "{record}:{line}".
type Custody struct {
	items   *versioned[custody.Item]
	records RecordReader
	opt     Options
}

// Follow is the custody registry's records.DocFollower: revision rev of
// item id, stored by another server instance.
func (c *Custody) Follow(ctx context.Context, id string, rev int64) error {
	return c.items.follow(ctx, id, rev)
}

// OpenCustody reads every stored custody revision; it runs at start only.
func OpenCustody(ctx context.Context, st RevisionStore, records RecordReader, opt Options) (*Custody, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	items, err := loadVersioned[custody.Item](ctx, st, colCustody)
	if err != nil {
		return nil, fmt.Errorf("casesvc.OpenCustody: %w", err)
	}
	return &Custody{items: items, records: records, opt: opt}, nil
}

// Receipt is what Receive did: the items it took into custody now and the
// lines that were in custody already (a retried request finds them so).
type Receipt struct {
	Received []custody.Item `json:"received"`
	Already  []string       `json:"already,omitempty"`
}

// Receive takes the item lines of confiscation record recordID into custody
// (every line when lines is empty), as actor at `at` (zero = now), at
// location and tied to case caseID ("" for none). Lines already in custody
// are listed in Receipt.Already and left as they are, so a retry is safe.
// Errors: enforcement.ErrNotFound for an unknown record, and those of
// custody.Receive for the record, a line, the actor or the fields; a store
// failure part way leaves the lines stored so far in custody.
func (c *Custody) Receive(ctx context.Context, actor custody.Actor, recordID string, lines []int, caseID, location string,
	at time.Time, documents []string) (Receipt, error) {
	r, err := c.records.Get(ctx, recordID)
	if err != nil {
		return Receipt{}, fmt.Errorf("casesvc: receive %s: %w", recordID, err)
	}
	if len(lines) == 0 {
		for i := range r.Items {
			lines = append(lines, i)
		}
	}
	now := nowMs(c.opt.Now)
	at = instant(at)
	// Check every line before storing any, so that a bad line stores none.
	planned := make([]custody.Item, 0, len(lines))
	for _, line := range lines {
		it, err := custody.Receive(r, line, caseID, location, actor, at, now, documents)
		if err != nil {
			return Receipt{}, fmt.Errorf("casesvc: receive %s line %d: %w", recordID, line, err)
		}
		planned = append(planned, it)
	}
	out := Receipt{Received: []custody.Item{}}
	for _, it := range planned {
		if _, _, ok := c.items.get(it.ID); ok {
			out.Already = append(out.Already, it.ID)
			continue
		}
		stored, rev, err := c.items.put(ctx, it.ID, 0, actor.ID, now, func(custody.Item) (custody.Item, error) { return it, nil })
		if err != nil {
			if _, _, ok := c.items.get(it.ID); ok { // received concurrently
				out.Already = append(out.Already, it.ID)
				continue
			}
			return out, fmt.Errorf("casesvc: receive %s: %w", it.ID, err)
		}
		out.Received = append(out.Received, stored)
		c.audit(ctx, actor, custody.ActionReceive, it.ID, rev, now)
	}
	return out, nil
}

// Step applies one custody step to item id as actor on top of revision
// baseRev. Errors: enforcement.ErrNotFound, enforcement.ErrConflict (a
// stale baseRev), and those of custody.Apply.
func (c *Custody) Step(ctx context.Context, actor custody.Actor, id string, baseRev int, s custody.Step) (custody.Item, int, error) {
	if baseRev < 1 {
		if _, _, ok := c.items.get(id); !ok {
			return custody.Item{}, 0, fmt.Errorf("casesvc: custody %s: %w", id, enforcement.ErrNotFound)
		}
		return custody.Item{}, 0, fmt.Errorf("casesvc: custody %s: %w", id, invalid("base_rev", "required: the rev the step was prepared on"))
	}
	s.At = instant(s.At)
	now := nowMs(c.opt.Now)
	it, rev, err := c.items.put(ctx, id, baseRev, actor.ID, now, func(cur custody.Item) (custody.Item, error) {
		return custody.Apply(cur, s, actor, now)
	})
	if err != nil {
		return custody.Item{}, 0, fmt.Errorf("casesvc: custody %s: %w", id, err)
	}
	c.audit(ctx, actor, s.Action, id, rev, now)
	return it, rev, nil
}

func (c *Custody) audit(ctx context.Context, actor custody.Actor, action, id string, rev int, at time.Time) {
	if c.opt.Auditor == nil {
		return
	}
	e := audit.Entry{At: at, Actor: actor.ID, Action: "custody." + action, Object: "custody:" + id, Rev: int64(rev)}
	if err := c.opt.Auditor.Audit(ctx, e); err != nil && c.opt.Logger != nil {
		c.opt.Logger.Warn("custody stored, its audit entry not", "item", id, "rev", rev, "err", err)
	}
}

// Get returns item id and its revision, or enforcement.ErrNotFound.
func (c *Custody) Get(id string) (custody.Item, int, error) {
	it, rev, ok := c.items.get(id)
	if !ok {
		return custody.Item{}, 0, fmt.Errorf("casesvc: custody %s: %w", id, enforcement.ErrNotFound)
	}
	return it, rev, nil
}

// CustodyFilter selects custody items: by state, record, case and campaign
// ("" = any), confiscated within [From, To) (zero = unbounded), and units
// the caller may see (nil = all).
type CustodyFilter struct {
	State    custody.State
	Record   string
	Case     string
	Campaign string
	From, To time.Time
	Visible  func(unit string) bool
}

func (f CustodyFilter) match(it custody.Item) bool {
	return (f.State == "" || it.State == f.State) && (f.Record == "" || it.RecordID == f.Record) &&
		(f.Case == "" || it.CaseID == f.Case) && (f.Campaign == "" || it.Campaign == f.Campaign) &&
		(f.From.IsZero() || !it.ConfiscatedAt.Before(f.From)) && (f.To.IsZero() || it.ConfiscatedAt.Before(f.To)) &&
		(f.Visible == nil || f.Visible(it.Unit))
}

// CustodyView is an item as lists show it, with its revision.
type CustodyView struct {
	custody.Item
	Rev int `json:"rev"`
}

// List returns the items f selects, the latest confiscation first, then by
// id, without their event history.
func (c *Custody) List(f CustodyFilter) []CustodyView {
	out := []CustodyView{}
	c.items.each(func(it custody.Item, rev int) {
		if f.match(it) {
			it.Events = nil
			out = append(out, CustodyView{Item: it, Rev: rev})
		}
	})
	slices.SortFunc(out, func(a, b CustodyView) int {
		return cmp.Or(b.ConfiscatedAt.Compare(a.ConfiscatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Summary sums the items f selects.
func (c *Custody) Summary(f CustodyFilter) custody.Summary {
	var items []custody.Item
	c.items.each(func(it custody.Item, _ int) {
		if f.match(it) {
			items = append(items, it)
		}
	})
	return custody.Summarize(items)
}

// nowMs is the clock at the precision the store keeps.
func nowMs(now func() time.Time) time.Time { return now().UTC().Truncate(time.Millisecond) }
