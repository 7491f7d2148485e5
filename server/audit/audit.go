// Package audit is the tamper-evident trail of every write: an append-only
// chain of entries in which each entry carries the hash of the one before
// it, so that editing, removing or reordering any stored entry breaks the
// chain at that point and Verify finds it.
package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Entry is one write in the trail. Before and After are the SHA-256 of the
// canonical object state before and after the write ("" where there is none).
type Entry struct {
	Seq    int64     `json:"seq"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Object string    `json:"object"`
	Rev    int64     `json:"rev,omitempty"`
	Before string    `json:"before_sha256,omitempty"`
	After  string    `json:"after_sha256,omitempty"`
	Prev   string    `json:"prev_hash"`
	Hash   string    `json:"hash"`
}

// Genesis is the Prev of the first entry.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// ComputeHash returns the hash that e must carry: SHA-256 over every field
// but Hash itself, in a fixed unambiguous encoding. At is taken at
// millisecond precision, the precision the store keeps.
func (e Entry) ComputeHash() string {
	parts := []string{
		strconv.FormatInt(e.Seq, 10),
		strconv.FormatInt(e.At.UnixMilli(), 10),
		e.Actor, e.Action, e.Object,
		strconv.FormatInt(e.Rev, 10),
		e.Before, e.After, e.Prev,
	}
	for i, p := range parts {
		parts[i] = strconv.Itoa(len(p)) + ":" + p
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, ",")))
	return hex.EncodeToString(sum[:])
}

// Chain hands out sequence numbers and links. It is not safe for concurrent
// use: the single writer that orders all writes owns it.
type Chain struct {
	seq  int64
	last string
}

// NewChain continues a chain whose last entry is last (the zero Entry for an
// empty trail).
func NewChain(last Entry) *Chain {
	if last.Seq == 0 {
		return &Chain{last: Genesis}
	}
	return &Chain{seq: last.Seq, last: last.Hash}
}

// Next fills in e's Seq, Prev and Hash as the next entry of the chain and
// advances the chain. A writer that fails to store the entries it made
// restores a copy of the Chain taken before (Chain is a plain value).
func (c *Chain) Next(e Entry) Entry {
	e.At = e.At.UTC().Truncate(time.Millisecond)
	e.Seq = c.seq + 1
	e.Prev = c.last
	e.Hash = e.ComputeHash()
	c.seq, c.last = e.Seq, e.Hash
	return e
}

// Head returns the sequence number and hash of the last entry.
func (c *Chain) Head() (int64, string) { return c.seq, c.last }

// Break describes where a chain stops verifying.
type Break struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

func (b *Break) Error() string {
	return fmt.Sprintf("audit chain broken at entry %d: %s", b.Seq, b.Reason)
}

// Verifier checks entries in sequence order, one at a time.
type Verifier struct {
	seq  int64
	last string
}

// NewVerifier starts verifying from the first entry.
func NewVerifier() *Verifier { return &Verifier{last: Genesis} }

// Add checks the next entry; it returns a *Break at the first entry that is
// out of sequence, does not link to its predecessor or does not match its hash.
func (v *Verifier) Add(e Entry) error {
	switch {
	case e.Seq != v.seq+1:
		return &Break{Seq: v.seq + 1, Reason: fmt.Sprintf("expected entry %d, found %d (an entry is missing or out of order)", v.seq+1, e.Seq)}
	case e.Prev != v.last:
		return &Break{Seq: e.Seq, Reason: "does not link to the entry before it"}
	case e.ComputeHash() != e.Hash:
		return &Break{Seq: e.Seq, Reason: "content does not match its hash (the entry was edited)"}
	}
	v.seq, v.last = e.Seq, e.Hash
	return nil
}

// Count is the number of entries verified so far.
func (v *Verifier) Count() int64 { return v.seq }
