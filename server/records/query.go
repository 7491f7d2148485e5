package records

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/baoshui/baoshui/server/enforcement"
)

// Filter selects records for a list. Zero fields select everything.
type Filter struct {
	Kind     enforcement.Kind
	Unit     string // subtree root
	Officer  string
	Campaign string
	From, To int64 // observed_at in Unix ms, half-open [From, To); 0 = open
	BBox     *[4]float64
	Voided   bool // include voided records
	// Visible is the caller's object-level read check; nil allows all.
	Visible func(unit, createdBy string) bool
}

// Page is one page of a list, newest observation first.
type Page struct {
	Records    []enforcement.Record `json:"records"`
	NextCursor string               `json:"next_cursor,omitempty"`
}

// ErrBadCursor is returned for a cursor this service did not issue.
var ErrBadCursor = errors.New("malformed cursor")

type position struct {
	ms int64
	id string
}

// before reports whether a sorts before b: newest first, then by id descending.
func (a position) before(b position) bool {
	if a.ms != b.ms {
		return a.ms > b.ms
	}
	return a.id > b.id
}

func encodeCursor(p position) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(p.ms))
	return base64.RawURLEncoding.EncodeToString(append(b, p.id...))
}

func decodeCursor(s string) (position, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 9 || len(b) > 8+enforcement.MaxIDLength {
		return position{}, ErrBadCursor
	}
	return position{ms: int64(binary.BigEndian.Uint64(b[:8])), id: string(b[8:])}, nil
}

// List returns up to limit records matching f after cursor ("" = from the
// newest). The filter runs over the in-memory heads; only the page itself is
// read from the store, by _id.
func (s *Service) List(ctx context.Context, f Filter, cursor string, limit int) (Page, error) {
	var after *position
	if cursor != "" {
		p, err := decodeCursor(cursor)
		if err != nil {
			return Page{}, fmt.Errorf("records: list: %w", ErrBadCursor)
		}
		after = &p
	}
	type hit struct {
		pos position
		rev int64
	}
	var hits []hit
	s.mu.RLock()
	for i := range s.all {
		h := &s.all[i]
		pos := position{ms: h.observedMs, id: h.id}
		if after != nil && !after.before(pos) {
			continue
		}
		if !s.match(h, &f) {
			continue
		}
		hits = append(hits, hit{pos, h.rev})
		// Keep the candidate set bounded: sort and cut when it doubles.
		if len(hits) >= 2*limit+1024 {
			sort.Slice(hits, func(i, j int) bool { return hits[i].pos.before(hits[j].pos) })
			hits = hits[:limit+1]
		}
	}
	s.mu.RUnlock()
	sort.Slice(hits, func(i, j int) bool { return hits[i].pos.before(hits[j].pos) })
	var page Page
	if len(hits) > limit {
		hits = hits[:limit]
		page.NextCursor = encodeCursor(hits[limit-1].pos)
	}
	refs := make([]revRef, len(hits))
	for i, h := range hits {
		refs[i] = revRef{h.pos.id, h.rev}
	}
	var err error
	if page.Records, err = s.fetch(ctx, refs); err != nil {
		return Page{}, fmt.Errorf("records: list: %w", err)
	}
	return page, nil
}

// revRef names one stored revision.
type revRef struct {
	id  string
	rev int64
}

// fetch reads the revisions by _id, eight at a time, with their places
// brought up to the zones in force.
func (s *Service) fetch(ctx context.Context, refs []revRef) ([]enforcement.Record, error) {
	out := make([]enforcement.Record, len(refs))
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, r := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i], errs[i] = s.store.GetRevision(ctx, r.id, r.rev)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i := range out {
		out[i] = s.currentPlace(out[i])
	}
	return out, nil
}

// match must be called with s.mu held.
func (s *Service) match(h *head, f *Filter) bool {
	if h.voided && !f.Voided {
		return false
	}
	if f.Kind != "" && h.kind() != f.Kind {
		return false
	}
	if f.Campaign != "" && s.names.str(h.campaign) != f.Campaign {
		return false
	}
	if f.From != 0 && h.observedMs < f.From {
		return false
	}
	if f.To != 0 && h.observedMs >= f.To {
		return false
	}
	if f.BBox != nil {
		lon, lat := h.lon, h.lat
		b := f.BBox
		if lon < b[0] || lat < b[1] || lon > b[2] || lat > b[3] {
			return false
		}
	}
	if f.Officer != "" && !slices.Contains(strings.Split(s.crews.str(h.officers), "\x00"), f.Officer) {
		return false
	}
	unit := s.names.str(h.unit)
	if f.Unit != "" && !s.units.Within(unit, f.Unit) {
		return false
	}
	if f.Visible != nil && !f.Visible(unit, s.names.str(h.createdBy)) {
		return false
	}
	return true
}

// TotalsQuery selects the days, units and campaign of a totals report.
type TotalsQuery struct {
	From, To enforcement.Day // half-open [From, To)
	Unit     string          // subtree root; "" = all
	Campaign string
	// Visible restricts the units counted to those the caller may see.
	Visible func(unit string) bool
}

// TotalsReport is the answer to a totals query, with a per-month breakdown.
type TotalsReport struct {
	From    string                        `json:"from"`
	To      string                        `json:"to"`
	Unit    string                        `json:"unit,omitempty"`
	Totals  enforcement.Totals            `json:"totals"`
	ByMonth map[string]enforcement.Totals `json:"by_month"`
	ByUnit  map[string]enforcement.Totals `json:"by_unit,omitempty"`
}

// Totals sums the per-day read model; it never touches the store.
func (s *Service) Totals(q TotalsQuery) TotalsReport {
	var all enforcement.Counts
	months := map[string]*enforcement.Counts{}
	units := map[string]*enforcement.Counts{}
	visible := map[string]bool{}
	s.mu.RLock()
	for k, c := range s.totals {
		if k.day < q.From || k.day >= q.To {
			continue
		}
		if q.Campaign != "" && s.names.str(k.campaign) != q.Campaign {
			continue
		}
		unit := s.names.str(k.unit)
		ok, seen := visible[unit]
		if !seen {
			ok = (q.Unit == "" || s.units.Within(unit, q.Unit)) && (q.Visible == nil || q.Visible(unit))
			visible[unit] = ok
		}
		if !ok {
			continue
		}
		all.Add(*c, 1)
		m := k.day.Month()
		if months[m] == nil {
			months[m] = &enforcement.Counts{}
		}
		months[m].Add(*c, 1)
		if units[unit] == nil {
			units[unit] = &enforcement.Counts{}
		}
		units[unit].Add(*c, 1)
	}
	s.mu.RUnlock()
	r := TotalsReport{From: q.From.String(), To: q.To.String(), Unit: q.Unit, Totals: all.Totals(),
		ByMonth: map[string]enforcement.Totals{}, ByUnit: map[string]enforcement.Totals{}}
	for m, c := range months {
		r.ByMonth[m] = c.Totals()
	}
	for u, c := range units {
		r.ByUnit[u] = c.Totals()
	}
	return r
}

// SetTotals is the answer of TotalsOf: the totals of a set of records, each
// distinct record counted once whatever its dates, and the ids that are not
// counted because no such record exists (Missing) or it was voided
// (Voided).
type SetTotals struct {
	Totals  enforcement.Totals `json:"totals"`
	Records int                `json:"records"`
	Missing []string           `json:"missing,omitempty"`
	Voided  []string           `json:"voided,omitempty"`
}

// TotalsOf sums the records with the given ids (a joint operation's, say),
// each distinct id once; it reads each record by _id, never scans.
func (s *Service) TotalsOf(ctx context.Context, ids []string) (SetTotals, error) {
	var sum enforcement.Counts
	out := SetTotals{}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		h, ok := s.Head(id)
		switch {
		case !ok:
			out.Missing = append(out.Missing, id)
			continue
		case h.Voided:
			out.Voided = append(out.Voided, id)
			continue
		}
		r, err := s.Get(ctx, id)
		if err != nil {
			return SetTotals{}, fmt.Errorf("records: totals of a set: %w", err)
		}
		for _, c := range r.Contributions() {
			sum.Add(c.Counts, 1)
		}
		out.Records++
	}
	out.Totals = sum.Totals()
	return out, nil
}
