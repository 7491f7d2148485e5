package records

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/enforcement"
)

type opKind int

const (
	opCreate opKind = iota
	opCorrect
	opVoid
	opAudit
	opFollow // nothing to write: the batch's catch-up is what the caller waits for
)

var opAction = map[opKind]string{opCreate: "record.create", opCorrect: "record.correct", opVoid: "record.void"}

// op is one write waiting for the writer.
type op struct {
	kind    opKind
	rec     enforcement.Record
	baseRev int64
	reason  string
	actor   Actor
	entry   audit.Entry
	sync    *enforcement.SyncOrigin // the origin of a void revision
	chunk   *enforcement.ChunkRef   // a stored track chunk to claim, with an audit op

	// filled in by the writer
	old      *enforcement.Record // the revision a correct or void supersedes
	existing bool                // a create whose id is already stored
	res      Result
	err      error
	done     chan struct{}
}

// maxOpsPerBatch bounds one group commit: a whole sync push of 500
// records, which the store inserts at once (store.MaxInsertBatch).
const maxOpsPerBatch = 500

// batchTimeout bounds the store calls of one batch, so that an unreachable
// store fails writes instead of holding them.
const batchTimeout = 20 * time.Second

// submit hands o to the writer and waits for its outcome. If ctx ends first
// the write may still happen; a retry with the same id is then answered from
// the store (writes are idempotent by id).
func (s *Service) submit(ctx context.Context, o *op) (Result, error) {
	o.done = make(chan struct{})
	if err := s.enqueue(ctx, o); err != nil {
		return Result{}, err
	}
	select {
	case <-o.done:
		return o.res, o.err
	case <-ctx.Done():
		return Result{}, fmt.Errorf("records: %w: %v", enforcement.ErrUnavailable, ctx.Err())
	}
}

func (s *Service) enqueue(ctx context.Context, o *op) (err error) {
	defer func() {
		if recover() != nil { // the channel was closed by Close
			err = errClosed
		}
	}()
	select {
	case s.ops <- o:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("records: %w: %v", enforcement.ErrUnavailable, ctx.Err())
	}
}

// writer is the single goroutine that orders all writes: it takes whatever
// is queued (up to maxOpsPerBatch), stores it with one bulk insert, appends
// the audit chain with another, and updates the read models.
// On a shared store, between batches it follows the other instances'
// claims every followEvery.
func (s *Service) writer(ctx context.Context) {
	defer close(s.done)
	var idle <-chan time.Time // nil, never ready, when nobody else writes
	if s.shared {
		tick := time.NewTicker(s.followEvery)
		defer tick.Stop()
		idle = tick.C
	}
	var carry []*op
	for {
		var batch []*op
		if len(carry) > 0 {
			batch, carry = carry, nil
		} else {
			select {
			case o, ok := <-s.ops:
				if !ok {
					return
				}
				batch = append(batch, o)
			case <-idle:
				s.followTick(ctx)
				continue
			}
		}
	drain:
		for len(batch) < maxOpsPerBatch {
			select {
			case o, ok := <-s.ops:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		carry = s.process(ctx, batch)
	}
}

// process writes one batch and returns the ops that touch a record already
// touched earlier in the batch; they go into the next batch, so each sees the
// state the one before it left.
func (s *Service) process(ctx context.Context, batch []*op) (later []*op) {
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	fail := func(err error) []*op {
		for _, o := range batch {
			o.err = err
			close(o.done)
		}
		return nil
	}
	if err := s.flushPending(ctx); err != nil {
		return fail(err)
	}
	if err := s.catchUp(ctx); err != nil {
		return fail(err)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	seen := map[string]bool{}
	var writes []*op
	var chunks []enforcement.ChunkRef
	var docs []enforcement.DocRef
	var finished []*op
	for _, o := range batch {
		if o.kind == opFollow {
			finished = append(finished, o)
			continue
		}
		if o.kind == opAudit {
			if o.chunk != nil {
				chunks = append(chunks, *o.chunk)
			}
			if d, ok := s.docs.ref(o.entry); ok {
				docs = append(docs, d)
			}
			finished = append(finished, o)
			continue
		}
		if seen[o.rec.ID] {
			later = append(later, o)
			continue
		}
		seen[o.rec.ID] = true
		if err := s.plan(ctx, o, now); err != nil {
			o.err = err
			finished = append(finished, o)
			continue
		}
		if o.existing {
			finished = append(finished, o)
			continue
		}
		writes = append(writes, o)
	}
	if len(writes) > 0 || len(chunks) > 0 || len(docs) > 0 {
		if err := s.claim(ctx, now, writes, chunks, docs); err != nil {
			for _, o := range writes {
				o.err = err
				finished = append(finished, o)
			}
			writes = nil
		}
	}
	revs := make([]enforcement.Record, len(writes))
	for i, o := range writes {
		revs[i] = o.rec
	}
	var stored []*op
	if len(revs) > 0 {
		for i, err := range s.store.InsertRevisions(ctx, revs) {
			o := writes[i]
			switch {
			case err == nil:
				o.res = Result{Record: o.rec, Created: true}
				stored = append(stored, o)
			case errors.Is(err, enforcement.ErrExists) && o.kind == opCreate:
				o.existing = true
			case errors.Is(err, enforcement.ErrExists):
				o.err = s.conflict(ctx, o.rec.ID, "another write stored this revision first")
			default:
				o.err = fmt.Errorf("records: %s: %w", opAction[o.kind], err)
			}
			finished = append(finished, o)
		}
	}
	if len(writes) > 0 && s.shared {
		body := make([]enforcement.Record, len(stored))
		for i, o := range stored {
			body[i] = o.rec
		}
		if err := s.store.InsertSeqBody(ctx, s.lastClaim.N, body); err != nil {
			s.log.Warn("sequence body not stored; other instances read the claim's revisions one by one", "claim", s.lastClaim.N, "err", err)
		}
	}
	for _, o := range finished {
		if o.existing {
			o.res, o.err = s.resolveExisting(ctx, o)
		}
	}
	s.appendAudit(ctx, now, stored, finished)
	for _, o := range stored {
		if o.old != nil {
			if err := s.store.MarkSuperseded(ctx, o.old.ID, o.old.Rev, o.rec.Rev); err != nil {
				s.log.Warn("mark superseded", "record", o.old.ID, "rev", o.old.Rev, "err", err)
			}
		}
	}
	s.apply(stored)
	if err := s.applyQueued(ctx); err != nil {
		s.log.Debug("following other instances' writes", "err", err)
	}
	for _, o := range finished {
		close(o.done)
	}
	return later
}

// followTick follows the other instances' claims while the writer is idle.
func (s *Service) followTick(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	if err := s.flushPending(ctx); err != nil {
		s.log.Debug("audit entries still pending", "err", err)
		return
	}
	if err := s.catchUp(ctx); err != nil {
		s.log.Debug("following other instances' writes", "err", err)
	}
}

// plan checks o against the current heads and fills in its revision.
func (s *Service) plan(ctx context.Context, o *op, now time.Time) error {
	s.mu.RLock()
	i, found := s.heads[o.rec.ID]
	var cur head
	if found {
		cur = s.all[i]
	}
	s.mu.RUnlock()
	var h *head
	if found {
		h = &cur
	}
	switch o.kind {
	case opCreate:
		if h != nil {
			o.existing = true
			return nil
		}
		o.rec.ReceivedAt = now
		return nil
	case opCorrect, opVoid:
		if h == nil {
			return fmt.Errorf("records: %s %s: %w", opAction[o.kind], o.rec.ID, enforcement.ErrNotFound)
		}
		old, err := s.store.GetRevision(ctx, cur.id, cur.rev)
		if err != nil {
			return fmt.Errorf("records: %s: %w", opAction[o.kind], err)
		}
		if o.baseRev != cur.rev {
			return &ConflictError{Current: old, Reason: fmt.Sprintf("base_rev %d is not the current revision %d", o.baseRev, cur.rev)}
		}
		if old.Voided {
			return &ConflictError{Current: old, Reason: "the record is void"}
		}
		o.old = &old
		if o.kind == opVoid {
			o.rec = old
			o.rec.Voided, o.rec.VoidReason = true, o.reason
			o.rec.RecordedBy = o.actor.Username
			o.rec.Sync = o.sync
		} else {
			if o.rec.Kind != old.Kind {
				return fmt.Errorf("records: correct: %w: kind cannot change from %s to %s", enforcement.ErrInvalid, old.Kind, o.rec.Kind)
			}
			o.rec.CreatedBy = old.CreatedBy
		}
		o.rec.Rev = cur.rev + 1
		o.rec.ReceivedAt = now
		return nil
	}
	return nil
}

// resolveExisting answers a create whose id is already stored: the stored
// record when the first revision has the same body, a conflict otherwise.
func (s *Service) resolveExisting(ctx context.Context, o *op) (Result, error) {
	first, err := s.store.GetRevision(ctx, o.rec.ID, 1)
	if err != nil {
		return Result{}, fmt.Errorf("records: create: %w", err)
	}
	cur := first
	if h, ok := s.Head(o.rec.ID); ok && h.Rev > 1 {
		if cur, err = s.store.GetRevision(ctx, o.rec.ID, h.Rev); err != nil {
			return Result{}, fmt.Errorf("records: create: %w", err)
		}
	}
	if first.BodySHA256 != o.rec.BodySHA256 {
		return Result{}, &ConflictError{Current: cur, Reason: "a different record is stored under this id"}
	}
	if _, known := s.headRev(cur.ID); !known {
		// Stored by another instance whose claim this one has not followed
		// yet, or by an insert of this one that outlived its batch: the
		// read models learn it now rather than at the next restart.
		s.mu.Lock()
		if _, known := s.heads[cur.ID]; !known {
			s.applyRevision(&cur, nil)
		}
		s.mu.Unlock()
	}
	return Result{Record: cur}, nil
}

func (s *Service) conflict(ctx context.Context, id, reason string) error {
	cur, err := s.Get(ctx, id)
	if err != nil {
		return &ConflictError{Reason: reason}
	}
	return &ConflictError{Current: cur, Reason: reason}
}

// flushPending stores the audit entries that are made but not yet stored,
// in order, before anything else is written, so that the chain stays
// gap-free. The entries are chained as they are stored: when another
// instance has appended to the chain in between, they follow its entries.
func (s *Service) flushPending(ctx context.Context) error {
	for try := 0; len(s.pending) > 0; try++ {
		c := *s.chain
		entries := make([]audit.Entry, len(s.pending))
		for i, e := range s.pending {
			entries[i] = c.Next(e)
		}
		_, err := s.store.InsertAudit(ctx, entries)
		if err == nil {
			s.chain = audit.NewChain(entries[len(entries)-1])
			s.storedSeq.Store(entries[len(entries)-1].Seq)
			s.pending = s.pending[:0]
			continue
		}
		// What a failed insert stored is read back rather than taken from
		// its report: the entries found stored are ours if their hashes
		// are, and the chain moves to the newest entry, ours or not.
		if ferr := s.followAudit(ctx, entries); ferr != nil {
			return fmt.Errorf("records: audit: %w (after %v)", ferr, err)
		}
		if !errors.Is(err, enforcement.ErrExists) || try >= maxClaimTries {
			return fmt.Errorf("records: audit: %w", err)
		}
	}
	return nil
}

// appendAudit makes an entry for every stored revision and every audit op
// and stores them. If the store refuses them, they stay pending and are
// written before the next batch; the revisions themselves are already
// stored.
func (s *Service) appendAudit(ctx context.Context, now time.Time, stored, finished []*op) {
	var entries []audit.Entry
	for _, o := range stored {
		e := audit.Entry{At: now, Actor: o.actor.Username, Action: opAction[o.kind], Object: "record:" + o.rec.ID,
			Rev: o.rec.Rev, After: o.rec.StateHash()}
		if o.old != nil {
			e.Before = o.old.StateHash()
		}
		entries = append(entries, e)
	}
	for _, o := range finished {
		if o.kind == opAudit {
			o.entry.At = now
			entries = append(entries, o.entry)
		}
	}
	if len(entries) == 0 {
		return
	}
	s.pending = append(s.pending, entries...)
	if err := s.flushPending(ctx); err != nil {
		s.log.Error("audit append failed; entries kept to retry", "entries", len(s.pending), "err", err)
	}
}

// apply updates the read models with the stored revisions.
func (s *Service) apply(stored []*op) {
	if len(stored) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range stored {
		s.applyRevision(&o.rec, o.old)
	}
}

// applyRevision makes rec the head of its record in the read models; old is
// the head it supersedes (nil for a new record). s.mu must be held for
// writing.
func (s *Service) applyRevision(rec, old *enforcement.Record) {
	i, ok := s.heads[rec.ID]
	if !ok {
		i = int32(len(s.all))
		s.heads[rec.ID] = i
	} else if old != nil {
		s.addTotals(old, -1)
	}
	s.put(i, s.newHead(rec))
	s.setEffort(i, rec)
	s.addTotals(rec, 1)
	if rec.Voided {
		s.voids = append(s.voids, VoidMark{Seq: rec.ServerSeq, AtMs: rec.ReceivedAt.UnixMilli()})
	}
}
