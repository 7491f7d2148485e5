package records

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/enforcement"
)

// DocFollower applies revision rev of document id, which another instance
// stored, to this instance's read model of its kind. A revision not newer
// than the one held is ignored; one not stored gives an error wrapping
// enforcement.ErrNotFound.
type DocFollower func(ctx context.Context, id string, rev int64) error

// FollowDocs sets the follower of a kind named in Options.DocKinds. The
// revisions of that kind claimed by other instances are handed to fn in
// claim order, on a goroutine of the service's own: never the writer's, for
// fn may wait on a lock whose holder waits for the writer (a case step
// appends its audit entry while it holds the case registry). Revisions
// claimed before fn is set wait for it.
func (s *Service) FollowDocs(kind string, fn DocFollower) { s.docs.set(kind, fn) }

// docQueue holds the document revisions other instances claimed, in order,
// until their followers apply them.
type docQueue struct {
	kinds []string
	log   *slog.Logger

	mu     sync.Mutex
	fns    map[string]DocFollower
	queue  []enforcement.DocRef
	wake   chan struct{}
	retryN int // failed attempts at the head of the queue, for the log
}

func newDocQueue(kinds []string, log *slog.Logger) *docQueue {
	return &docQueue{kinds: kinds, log: log, fns: map[string]DocFollower{}, wake: make(chan struct{}, 1)}
}

// ref is the document revision an audit entry records, if its kind is
// followed.
func (q *docQueue) ref(e audit.Entry) (enforcement.DocRef, bool) {
	kind, id, ok := strings.Cut(e.Object, ":")
	if !ok || id == "" || e.Rev < 1 || !slices.Contains(q.kinds, kind) {
		return enforcement.DocRef{}, false
	}
	return enforcement.DocRef{Kind: kind, ID: id, Rev: e.Rev}, true
}

func (q *docQueue) set(kind string, fn DocFollower) {
	q.mu.Lock()
	q.fns[kind] = fn
	q.mu.Unlock()
	q.poke()
}

// push queues refs; it never blocks.
func (q *docQueue) push(refs []enforcement.DocRef) {
	if len(refs) == 0 {
		return
	}
	q.mu.Lock()
	q.queue = append(q.queue, refs...)
	q.mu.Unlock()
	q.poke()
}

func (q *docQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run applies the queue in order until ctx ends. A revision whose kind has
// no follower yet waits for one; a follower that fails is retried after a
// second (the store may be away); a revision not stored is skipped.
func (q *docQueue) run(ctx context.Context) {
	for {
		q.mu.Lock()
		var ref enforcement.DocRef
		var fn DocFollower
		if len(q.queue) > 0 {
			ref = q.queue[0]
			fn = q.fns[ref.Kind]
		}
		q.mu.Unlock()
		if fn == nil {
			select {
			case <-ctx.Done():
				return
			case <-q.wake:
			}
			continue
		}
		err := fn(ctx, ref.ID, ref.Rev)
		if err != nil && !errors.Is(err, enforcement.ErrNotFound) {
			if q.retryN++; q.retryN == 1 || q.retryN%60 == 0 {
				q.log.Warn("following another instance's write; retrying", "kind", ref.Kind, "id", ref.ID, "rev", ref.Rev, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		if err != nil {
			q.log.Warn("another instance claimed a revision that is not stored; skipped", "kind", ref.Kind, "id", ref.ID, "rev", ref.Rev)
		}
		q.retryN = 0
		q.mu.Lock()
		q.queue = q.queue[1:]
		q.mu.Unlock()
	}
}
