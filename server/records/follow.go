package records

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/enforcement"
)

// Instances that share a store keep their read models current by following
// the server sequence log (DESIGN.md §2): every write batch of every
// instance first claims the next claim number in the log, naming the
// revisions it is about to store under the server sequence numbers the claim
// takes; every instance reads the claims it has not seen, by _id, and
// applies the revisions they name. The writer goroutine does all of it, so
// the read models change in claim order.
//
// The frontier is the server sequence up to which every claim is applied.
// Changes (the sync pull) answers only up to it: an instance never hands out
// a cursor past a change it has not applied yet, so a phone that pulls from
// several instances misses nothing.

// holeGrace is how long a follower waits for a revision a claim names
// before it takes it as never stored (the claiming instance died between
// its claim and its insert, or the insert failed). It is well beyond the
// writer's own batchTimeout, after which no insert of that batch is sent.
var holeGrace = 3 * batchTimeout

// refollow is how many claims before the newest an instance reads again at
// start: the revisions of claims that were still being stored while it
// scanned the store. Applying a revision twice changes nothing.
const refollow = 32

// maxClaimTries bounds the attempts of one batch to take the next claim
// number while other instances keep taking it first.
const maxClaimTries = 50

// queuedClaim is a claim known to the writer and not yet applied.
type queuedClaim struct {
	c enforcement.SeqClaim
	// own claims are applied by the writer that made them.
	own bool
	// missingSince is when a revision the claim names was first found
	// missing.
	missingSince time.Time
}

// startFollowing sets the newest claim known after the read models were
// built from the store or a snapshot: claimN is the newest claim seen before
// they were built (0 for none), maxSeq the highest server sequence in them.
func (s *Service) startFollowing(ctx context.Context, claimN, maxSeq int64) error {
	base := enforcement.SeqClaim{First: maxSeq + 1}
	if n := claimN - refollow; n >= 1 {
		c, err := s.store.GetSeqClaim(ctx, n)
		if err != nil {
			return fmt.Errorf("sequence claim %d: %w", n, err)
		}
		base = c
	}
	// The claims after the base are followed again, and the frontier
	// moves past each as it is applied.
	s.frontier.Store(base.End() - 1)
	s.lastClaim = base
	s.claimSeen.Store(base.N)
	return s.catchUp(ctx)
}

// catchUp reads the claims after the newest one known and applies every
// queued claim whose revisions are all stored. It stops, without an error,
// at a claim whose revisions are still being stored.
func (s *Service) catchUp(ctx context.Context) error {
	if err := s.fetchClaims(ctx); err != nil {
		return err
	}
	return s.applyQueued(ctx)
}

// fetchClaims queues the claims stored after s.lastClaim.
func (s *Service) fetchClaims(ctx context.Context) error {
	for {
		c, err := s.store.GetSeqClaim(ctx, s.lastClaim.N+1)
		if errors.Is(err, enforcement.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("records: follow: %w", err)
		}
		s.lastClaim = c
		s.queue = append(s.queue, &queuedClaim{c: c})
		s.claimSeen.Store(c.N)
		s.queued.Store(int64(len(s.queue)))
	}
}

// applyQueued applies the queued claims in order and moves the frontier
// past each.
func (s *Service) applyQueued(ctx context.Context) error {
	for len(s.queue) > 0 {
		q := s.queue[0]
		if !q.own {
			done, err := s.applyClaim(ctx, q)
			if err != nil || !done {
				return err
			}
		}
		s.frontier.Store(max(s.frontier.Load(), q.c.End()-1))
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.queued.Store(int64(len(s.queue)))
	}
	return nil
}

// applyClaim applies another instance's claim q. It reports false, and
// applies nothing, while a revision q names is missing and holeGrace has not
// passed since it was first missed.
func (s *Service) applyClaim(ctx context.Context, q *queuedClaim) (bool, error) {
	type want struct {
		ref   enforcement.RevRef
		cur   int64 // the head's revision, when known
		known bool
		rec   enforcement.Record
		old   enforcement.Record
		err   error
	}
	var wants []*want
	for _, ref := range q.c.Revs {
		cur, known := s.headRev(ref.ID)
		if known && cur >= ref.Rev {
			continue // applied already (loaded by the scan, or refollowed)
		}
		wants = append(wants, &want{ref: ref, cur: cur, known: known})
	}
	// The claim's body holds the revisions its writer stored, in one
	// document; without it (the writer died before storing it, or it is
	// on its way) they are read one by one once holeGrace has passed.
	var body map[enforcement.RevRef]*enforcement.Record
	if len(wants) > 0 {
		revs, err := s.store.GetSeqBody(ctx, q.c.N)
		switch {
		case err == nil:
			body = make(map[enforcement.RevRef]*enforcement.Record, len(revs))
			for i := range revs {
				body[enforcement.RevRef{ID: revs[i].ID, Rev: revs[i].Rev}] = &revs[i]
			}
		case errors.Is(err, enforcement.ErrSeqBodyLeftOut):
			// Too large to store: the revisions are read one by one.
		case !errors.Is(err, enforcement.ErrNotFound):
			return false, fmt.Errorf("records: follow claim %d: %w", q.c.N, err)
		case !s.shared:
			// Alone on its store, the instance writes no bodies; a claim
			// it follows is from its own earlier life, whose inserts are
			// over: read them now.
		case q.missingSince.IsZero():
			q.missingSince = time.Now()
			return false, nil
		case time.Since(q.missingSince) < holeGrace:
			return false, nil
		}
	}
	// What the body lacks is read by _id, several at once: a follower reads
	// what every other instance writes.
	sem := make(chan struct{}, followFetchers)
	var wg sync.WaitGroup
	for _, w := range wants {
		if body != nil {
			r, ok := body[w.ref]
			if !ok {
				w.err = enforcement.ErrNotFound // its insert failed or lost
				continue
			}
			w.rec = *r
			if !w.known {
				continue
			}
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if w.rec.ID == "" {
				w.rec, w.err = s.store.GetRevision(ctx, w.ref.ID, w.ref.Rev)
			}
			if w.err == nil && w.known {
				w.old, w.err = s.store.GetRevision(ctx, w.ref.ID, w.cur)
			}
		})
	}
	wg.Wait()
	var apply []*want
	for _, w := range wants {
		if errors.Is(w.err, enforcement.ErrNotFound) && w.rec.ID == "" {
			if body == nil {
				s.log.Warn("a sequence claim names a revision that was never stored; its number stays unused",
					"claim", q.c.N, "by", q.c.By, "record", w.ref.ID, "rev", w.ref.Rev)
			}
			continue
		}
		if w.err != nil {
			return false, fmt.Errorf("records: follow claim %d: %w", q.c.N, w.err)
		}
		if w.rec.ServerSeq < q.c.First || w.rec.ServerSeq >= q.c.End() {
			continue // stored by another writer under its own claim
		}
		apply = append(apply, w)
	}
	var chunks []enforcement.TrackChunk
	for _, ref := range q.c.Chunks {
		c, err := s.store.GetTrackChunk(ctx, ref.Patrol, ref.Seq)
		if errors.Is(err, enforcement.ErrNotFound) {
			continue // chunks are stored before they are claimed
		}
		if err != nil {
			return false, fmt.Errorf("records: follow claim %d: %w", q.c.N, err)
		}
		chunks = append(chunks, c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range apply {
		var old *enforcement.Record // the head it supersedes, if any
		if w.known {
			old = &w.old
		}
		s.applyRevision(&w.rec, old)
	}
	for i := range chunks {
		s.addChunk(&chunks[i])
	}
	s.docs.push(q.c.Docs)
	return true, nil
}

// followFetchers is how many revisions a follower reads at once.
const followFetchers = 16

// headRev is the revision of the record's head in memory.
func (s *Service) headRev(id string) (int64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.heads[id]
	if !ok {
		return 0, false
	}
	return s.all[i].rev, true
}

// claim takes the next claim number for the batch's revisions and chunks
// and sets each revision's ServerSeq. When another instance has taken the
// number, it reads the claims it missed and tries the next.
func (s *Service) claim(ctx context.Context, now time.Time, writes []*op, chunks []enforcement.ChunkRef, docs []enforcement.DocRef) error {
	for try := 0; ; try++ {
		c := enforcement.SeqClaim{N: s.lastClaim.N + 1, First: s.lastClaim.End(), Size: int64(len(writes)),
			At: now, By: s.instance, Chunks: chunks, Docs: docs}
		for i, o := range writes {
			o.rec.ServerSeq = c.First + int64(i)
			c.Revs = append(c.Revs, enforcement.RevRef{ID: o.rec.ID, Rev: o.rec.Rev})
		}
		err := s.store.InsertSeqClaim(ctx, c)
		if err == nil {
			s.lastClaim = c
			s.queue = append(s.queue, &queuedClaim{c: c, own: true})
			s.claimSeen.Store(c.N)
			s.queued.Store(int64(len(s.queue)))
			return nil
		}
		if !errors.Is(err, enforcement.ErrExists) || try >= maxClaimTries {
			return fmt.Errorf("records: claim server sequence: %w", err)
		}
		if err := s.fetchClaims(ctx); err != nil {
			return err
		}
	}
}

// followAudit moves the chain to the newest stored entry after another
// instance appended to it. Entries it finds that are the ones this writer
// tried to store last (an insert that reported failure but was stored) are
// taken off the pending list. It reads the entries followFetchers at a time:
// a busy instance appends hundreds per batch.
func (s *Service) followAudit(ctx context.Context, tried []audit.Entry) error {
	seq, _ := s.chain.Head()
	for {
		window := make([]audit.Entry, followFetchers)
		errs := make([]error, followFetchers)
		var wg sync.WaitGroup
		for i := range window {
			wg.Go(func() { window[i], errs[i] = s.store.GetAudit(ctx, seq+1+int64(i)) })
		}
		wg.Wait()
		for i, e := range window {
			if errors.Is(errs[i], enforcement.ErrNotFound) {
				return nil
			}
			if errs[i] != nil {
				return fmt.Errorf("records: audit: %w", errs[i])
			}
			if len(tried) > 0 && len(s.pending) > 0 && tried[0].Seq == e.Seq && tried[0].Hash == e.Hash {
				tried = tried[1:]
				s.pending = s.pending[1:]
			}
			s.chain = audit.NewChain(e)
			s.storedSeq.Store(e.Seq)
			seq = e.Seq
		}
	}
}

// FollowStats is where an instance stands in the server sequence log.
type FollowStats struct {
	// Claim is the newest claim known; Queued how many known claims are
	// not applied yet (the follow lag); Frontier the server sequence up to
	// which this instance has applied every write, its own and other
	// instances' (Changes answers up to it).
	Claim, Queued, Frontier int64
}

// FollowStats reports where the instance stands in the server sequence log.
func (s *Service) FollowStats() FollowStats {
	return FollowStats{Claim: s.claimSeen.Load(), Queued: s.queued.Load(), Frontier: s.frontier.Load()}
}

// Lookup is Head for a record a client names: when this instance does not
// hold it and the store is shared, it first reads the other instances'
// writes (a phone may create a record through one instance and correct it
// through another a moment later) and looks again.
func (s *Service) Lookup(ctx context.Context, id string) (HeadInfo, bool) {
	if h, ok := s.Head(id); ok || !s.shared {
		return h, ok
	}
	if _, err := s.submit(ctx, &op{kind: opFollow}); err != nil {
		return HeadInfo{}, false
	}
	return s.Head(id)
}
