package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	bolt "go.etcd.io/bbolt"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
)

// pushOverhead is room left in a push body for everything but the
// mutations.
const pushOverhead = 1 << 10

// maxGapRounds bounds how often one Sync renumbers or re-sends after a
// seq-gap, so that a confused server cannot make it loop.
const maxGapRounds = 3

// push sends the outbox in seq order until it is empty: each push carries
// at most lim.MaxMutations mutations and lim.MaxPushBytes bytes, and its
// answers are recorded, and its mutations removed, in one transaction.
func (c *Client) push(ctx context.Context, lim mobilesync.Limits, rep *Report) error {
	batch := min(lim.MaxMutations, mobilesync.MaxMutations)
	gaps := 0
	for {
		held, err := c.head(batch, lim.MaxPushBytes-pushOverhead)
		if err != nil {
			return err
		}
		if len(held) == 0 {
			return nil
		}
		req := mobilesync.PushRequest{DeviceID: c.deviceID, SchemaVersion: mobilesync.SchemaVersion,
			DeviceTime: c.now(), Mutations: make([]mobilesync.Mutation, len(held))}
		for i, e := range held {
			req.Mutations[i] = e.Mutation
		}
		hr, err := jsonRequest(http.MethodPost, "/api/v1/sync/push", req, true)
		if err != nil {
			return err
		}
		resp, err := c.do(ctx, hr)
		if err != nil {
			return err
		}
		rep.Pushes++
		if resp.status == http.StatusOK {
			var pr mobilesync.PushResponse
			if err := resp.decode(&pr); err != nil {
				return err
			}
			if err := c.record(held, pr, rep); err != nil {
				return err
			}
			continue
		}
		p := resp.problem()
		switch {
		case resp.status == http.StatusConflict && p.HasType(ProblemSeqGap):
			if gaps++; gaps > maxGapRounds {
				return fmt.Errorf("the server keeps answering seq-gap (expects %d, the outbox starts at %d): %w", p.ExpectedSeq, held[0].Mutation.Seq, p)
			}
			// The server expects an earlier seq than the outbox holds: it
			// never got (or lost) the seqs in between, so the held
			// mutations take their numbers. A server expecting a seq we
			// hold is answered by sending again: its ledger replays.
			if p.ExpectedSeq >= 1 && p.ExpectedSeq < held[0].Mutation.Seq {
				n, err := c.renumber(held[0].Mutation.Seq, p.ExpectedSeq)
				if err != nil {
					return err
				}
				rep.Renumbered += n
			}
		case resp.status == http.StatusRequestEntityTooLarge:
			if len(held) > 1 {
				batch = max(1, len(held)/2)
				continue
			}
			if err := c.setAsideTooLarge(held[0], p, rep); err != nil {
				return err
			}
		case resp.status == http.StatusForbidden:
			return fmt.Errorf("%w: %w", ErrDeviceNotRegistered, p)
		default:
			return p
		}
	}
}

// head returns the first mutations of the outbox, in seq order: at most n,
// and no more than maxBytes of them (but always one).
func (c *Client) head(n int, maxBytes int64) ([]entry, error) {
	var out []entry
	var size int64
	err := c.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bOutbox).Cursor()
		for k, v := cur.First(); k != nil && len(out) < n; k, v = cur.Next() {
			if len(out) > 0 && size+int64(len(v)) > maxBytes {
				break
			}
			var e entry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("outbox seq %d is corrupt: %w", fromU64(k), err)
			}
			size += int64(len(v))
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// record stores the server's answers to a push and removes the answered
// mutations, in one transaction: applied and duplicate are done, rejected
// and conflict are kept aside. A replayed answer about another record means
// the server's ledger holds this seq from an earlier life of this device id
// (an outbox lost and begun again at 1): the mutations from there on are
// renumbered to follow the server's next seq.
func (c *Client) record(held []entry, pr mobilesync.PushResponse, rep *Report) error {
	byseq := make(map[int64]entry, len(held))
	for _, e := range held {
		byseq[e.Mutation.Seq] = e
	}
	answered := 0
	renumbered := 0
	err := c.db.Update(func(tx *bolt.Tx) error {
		ob := tx.Bucket(bOutbox)
		for _, r := range pr.Results {
			e, ok := byseq[r.Seq]
			if !ok || ob.Get(u64(r.Seq)) == nil {
				continue
			}
			if r.Replayed && r.RecordID != "" && e.RecordID != "" && r.RecordID != e.RecordID {
				if pr.NextSeq <= r.Seq {
					return fmt.Errorf("seq %d is held by the server for record %s, and it expects %d next", r.Seq, r.RecordID, pr.NextSeq)
				}
				n, err := renumberTx(tx, r.Seq, pr.NextSeq)
				renumbered = n
				return err
			}
			answered++
			if err := ob.Delete(u64(r.Seq)); err != nil {
				return err
			}
			switch r.Status {
			case mobilesync.StatusApplied, mobilesync.StatusDuplicate:
				if r.Status == mobilesync.StatusApplied {
					rep.Applied++
				} else {
					rep.Duplicates++
				}
				if err := setRev(tx, r.RecordID, r.Rev); err != nil {
					return err
				}
			default:
				if r.Status == mobilesync.StatusConflict {
					rep.Conflicts++
					if err := setRev(tx, r.RecordID, r.Rev); err != nil {
						return err
					}
				} else {
					rep.Rejected++
				}
				m := e.Mutation
				a := Aside{What: AsideMutation, Mutation: &m, RecordID: e.RecordID, Kind: e.Kind, Status: r.Status,
					Rev: r.Rev, Current: r.Current, At: c.now().UTC()}
				if len(r.Problem) > 0 {
					a.Problem = parseProblem(0, r.Problem)
				}
				if err := putAside(tx, a); err != nil {
					return err
				}
			}
		}
		clock := clockReading{OffsetMs: pr.ClockOffsetMs, Suspect: pr.ClockSuspect, At: c.now().UTC()}
		return putJSON(tx, bMeta, []byte(mClock), clock)
	})
	if err != nil {
		return fmt.Errorf("recording the answers: %w", err)
	}
	rep.Renumbered += renumbered
	if answered == 0 && renumbered == 0 {
		return fmt.Errorf("the server answered none of seqs %d to %d", held[0].Mutation.Seq, held[len(held)-1].Mutation.Seq)
	}
	return nil
}

// renumber gives the outbox's mutations from seq from on the seqs from to
// on, in one transaction, and returns how many moved.
func (c *Client) renumber(from, to int64) (int, error) {
	var n int
	err := c.db.Update(func(tx *bolt.Tx) error {
		var err error
		n, err = renumberTx(tx, from, to)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("renumbering from %d to %d: %w", from, to, err)
	}
	return n, nil
}

// renumberTx moves the mutations with seq ≥ from to consecutive seqs from
// to on, keeping their order, and sets the next seq after them.
func renumberTx(tx *bolt.Tx, from, to int64) (int, error) {
	ob := tx.Bucket(bOutbox)
	var moved []entry
	cur := ob.Cursor()
	for k, v := cur.Seek(u64(from)); k != nil; k, v = cur.Next() {
		var e entry
		if err := json.Unmarshal(v, &e); err != nil {
			return 0, err
		}
		moved = append(moved, e)
	}
	for _, e := range moved {
		if err := ob.Delete(u64(e.Mutation.Seq)); err != nil {
			return 0, err
		}
	}
	for i := range moved {
		moved[i].Mutation.Seq = to + int64(i)
		if err := putJSON(tx, bOutbox, u64(moved[i].Mutation.Seq), moved[i]); err != nil {
			return 0, err
		}
	}
	return len(moved), putInt(tx, mNextSeq, to+int64(len(moved)))
}

// setAsideTooLarge keeps aside a mutation the server refuses as too large
// even alone. The server never took its seq (a 413 applies nothing), so the
// mutations after it move down by one to leave no gap.
func (c *Client) setAsideTooLarge(e entry, p *Problem, rep *Report) error {
	if p.Type == "about:blank" || p.Type == "" {
		p = &Problem{Type: "/problems/" + ProblemTooLarge, Status: http.StatusRequestEntityTooLarge}
	}
	if p.Detail == "" {
		p.Detail = "the record is larger than the server accepts in one push"
	}
	seq := e.Mutation.Seq
	err := c.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bOutbox).Delete(u64(seq)); err != nil {
			return err
		}
		m := e.Mutation
		if err := putAside(tx, Aside{What: AsideMutation, Mutation: &m, RecordID: e.RecordID, Kind: e.Kind,
			Status: mobilesync.StatusRejected, Problem: p, At: c.now().UTC()}); err != nil {
			return err
		}
		if _, err := renumberTx(tx, seq+1, seq); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("keeping seq %d aside: %w", seq, err)
	}
	rep.Rejected++
	return nil
}

// clockReading is the device clock's offset measured at the last push.
type clockReading struct {
	OffsetMs int64     `json:"offset_ms"`
	Suspect  bool      `json:"suspect,omitempty"`
	At       time.Time `json:"at"`
}
