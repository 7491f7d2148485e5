package records

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/baoshui/baoshui/server/enforcement"
)

// ErrCursorExpired is returned by Changes for a cursor older than a void
// that has left the feed: its holder must sync again from the beginning.
var ErrCursorExpired = errors.New("the cursor is older than the tombstone retention; sync again from the beginning")

// VoidMark is the server sequence and time (unix ms) of a void.
type VoidMark struct{ Seq, AtMs int64 }

// tombstoneHorizon is the highest server sequence of a void older than the
// retention (0 for none): voids up to it have left the feed. s.mu must be
// held.
func (s *Service) tombstoneHorizon() int64 {
	if s.retention <= 0 {
		return 0
	}
	cut := s.now().Add(-s.retention).UnixMilli()
	var h int64
	for _, v := range s.voids {
		if v.AtMs < cut {
			h = max(h, v.Seq)
		}
	}
	return h
}

// ChangePage is one page of a sync pull: the current revision of every
// record changed after the cursor, oldest change first. A voided record is
// its tombstone (Voided set).
type ChangePage struct {
	Changes    []enforcement.Record `json:"changes"`
	NextCursor string               `json:"next_cursor"`
	HasMore    bool                 `json:"has_more"`
}

// change is a position in the server sequence; records written before
// server sequences existed share seq 0 and are ordered by id.
type change struct {
	seq int64
	id  string
}

func (a change) before(b change) bool {
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	return a.id < b.id
}

// A change cursor has the encoding of a list cursor, the sequence in place
// of the time.
func encodeChange(c change) string { return encodeCursor(position{ms: c.seq, id: c.id}) }

func decodeChange(s string) (change, error) {
	p, err := decodeCursor(s)
	return change{seq: p.ms, id: p.id}, err
}

// Changes returns the records visible to the caller that changed after
// cursor ("" = from the beginning), by server sequence, at most limit.
// Voids older than the tombstone retention are left out; a cursor from
// before the newest of them gives ErrCursorExpired. The
// writer applies a batch to memory at once and in sequence order, so a page
// never holds a change without the ones before it: paging while writes
// happen skips nothing. With several instances on one store, it answers
// only up to the frontier of the server sequence log (follow.go), so a
// cursor never passes a change another instance is still storing. The next cursor is the last change returned (or the
// cursor given, when nothing changed).
func (s *Service) Changes(ctx context.Context, cursor string, limit int, visible func(unit, createdBy string) bool) (ChangePage, error) {
	after := change{seq: -1}
	if cursor != "" {
		c, err := decodeChange(cursor)
		if err != nil {
			return ChangePage{}, fmt.Errorf("records: changes: %w", err)
		}
		after = c
	}
	type hit struct {
		pos change
		rev int64
	}
	var hits []hit
	seen := map[[2]uint32]bool{}
	s.mu.RLock()
	horizon := s.tombstoneHorizon()
	if cursor != "" && after.seq < horizon {
		s.mu.RUnlock()
		return ChangePage{}, fmt.Errorf("records: changes: cursor at %d, voids up to %d have left the feed: %w", after.seq, horizon, ErrCursorExpired)
	}
	frontier := s.frontier.Load()
	for i := range s.all {
		h := &s.all[i]
		pos := change{h.seq, h.id}
		if !after.before(pos) || (h.voided && h.seq <= horizon) || h.seq > frontier {
			continue
		}
		k := [2]uint32{h.unit, h.createdBy}
		ok, known := seen[k]
		if !known {
			ok = visible == nil || visible(s.names.str(h.unit), s.names.str(h.createdBy))
			seen[k] = ok
		}
		if !ok {
			continue
		}
		hits = append(hits, hit{pos, h.rev})
		if len(hits) >= 2*limit+1024 {
			sort.Slice(hits, func(i, j int) bool { return hits[i].pos.before(hits[j].pos) })
			hits = hits[:limit+1]
		}
	}
	s.mu.RUnlock()
	sort.Slice(hits, func(i, j int) bool { return hits[i].pos.before(hits[j].pos) })
	page := ChangePage{NextCursor: cursor}
	if len(hits) > limit {
		hits, page.HasMore = hits[:limit], true
	}
	refs := make([]revRef, len(hits))
	for i, h := range hits {
		refs[i] = revRef{h.pos.id, h.rev}
	}
	var err error
	if page.Changes, err = s.fetch(ctx, refs); err != nil {
		return ChangePage{}, fmt.Errorf("records: changes: %w", err)
	}
	if len(hits) > 0 {
		page.NextCursor = encodeChange(hits[len(hits)-1].pos)
	}
	return page, nil
}
