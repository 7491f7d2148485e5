package enforcement

import (
	"errors"
	"time"
)

// ErrSeqBodyLeftOut is the answer for a claim whose body (the revisions
// stored under it, in one document) was too large to store: a follower
// reads its revisions one by one.
var ErrSeqBodyLeftOut = errors.New("the claim's body was too large to store")

// SeqClaim is one entry of the server sequence log that instances sharing a
// store follow (DESIGN.md §2). Claims are numbered 1, 2, 3… without gaps;
// claim N takes the server sequence numbers [First, First+Size), where First
// is the First+Size of claim N-1. A writer stores its claim before the
// revisions it names, with the revisions' ServerSeq set to First+i for
// Revs[i], so that every instance sees every write in one order.
type SeqClaim struct {
	N     int64
	First int64
	Size  int64
	At    time.Time
	// By names the instance that made the claim.
	By string
	// Revs are the record revisions stored under the claim, in sequence
	// order. A revision that is not stored (its insert failed or lost to
	// another writer's) leaves its number unused.
	Revs []RevRef
	// Chunks are track chunks stored before the claim was made.
	Chunks []ChunkRef
	// Docs are revisions of other documents (cases, custody items,
	// campaigns…) stored before the claim was made.
	Docs []DocRef
}

// End is the first server sequence number after the claim.
func (c SeqClaim) End() int64 { return c.First + c.Size }

// RevRef names one stored revision of a record.
type RevRef struct {
	ID  string
	Rev int64
}

// DocRef names revision Rev of document ID of a kind ("case", "custody",
// "campaign", "operation"): the Object "{kind}:{id}" of its audit entry.
type DocRef struct {
	Kind, ID string
	Rev      int64
}

// ChunkRef names one stored track chunk.
type ChunkRef struct {
	Patrol string
	Seq    int
}
