package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
)

// Report says what one Sync did and what is left.
type Report struct {
	// Pushes is how many push requests the server answered.
	Pushes int
	// Applied, Duplicates, Rejected and Conflicts count the mutations the
	// server answered, by outcome; rejected and conflicting ones are kept
	// aside.
	Applied, Duplicates, Rejected, Conflicts int
	// Renumbered counts mutations that took new seqs after a seq-gap (or a
	// replay that proved the seqs were used by an earlier outbox).
	Renumbered int
	// BlobsUploaded counts photos completed; BlobBytes the bytes sent.
	BlobsUploaded, BlobsKeptAside int
	BlobBytes                     int64
	// ChunksSent counts track chunks stored; ChunksWaiting those whose
	// patrol is not on the server yet.
	ChunksSent, ChunksWaiting, ChunksKeptAside int
	// Pull is what the pull brought.
	Pull PullReport
	// Queued is how many mutations wait in the outbox afterwards, and
	// KeptAside how many items wait for the officer.
	Queued, KeptAside int
	// ClockOffset is the server's clock minus this phone's, measured at the
	// last push; ClockSuspect is set beyond the server's tolerance.
	ClockOffset  time.Duration
	ClockSuspect bool
}

// Sync sends what waits and pulls what changed: first the outbox's
// mutations in seq order (each removed only once the server's answer for it
// is stored), then the photos, then the track chunks, then a pull until the
// server has no more.
//
// A failure of the network, of the server's health or of the session stops
// it at once: the report so far comes with an error wrapping ErrOffline,
// ErrUnavailable, ErrSignInRequired or ErrDeviceNotRegistered. Everything
// not answered stays queued, and calling Sync again carries on (the
// server's ledger answers what it applied before). A push the server
// refuses otherwise (400) also stops it. A blob or track chunk the server
// cannot take for another reason stays queued; the others go on, the pull
// runs, and that error is returned at the end.
func (c *Client) Sync(ctx context.Context) (Report, error) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	var rep Report
	err := c.sync(ctx, &rep)
	c.tally(&rep)
	if err != nil {
		return rep, fmt.Errorf("client: sync: %w", err)
	}
	return rep, nil
}

func (c *Client) sync(ctx context.Context, rep *Report) error {
	lim, err := c.fetchLimits(ctx)
	if err != nil {
		return err
	}
	if err := c.push(ctx, lim, rep); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	// Blobs and chunks the server cannot take now are left queued and
	// reported, but do not hold back the pull.
	var soft []error
	if err := c.uploadBlobs(ctx, lim, rep); stopsSync(err) {
		return fmt.Errorf("upload: %w", err)
	} else if err != nil {
		soft = append(soft, fmt.Errorf("upload: %w", err))
	}
	if err := c.sendChunks(ctx, rep); stopsSync(err) {
		return fmt.Errorf("track: %w", err)
	} else if err != nil {
		soft = append(soft, fmt.Errorf("track: %w", err))
	}
	if rep.Pull, err = c.pull(ctx); err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	if err := c.db.Update(func(tx *bolt.Tx) error { return putTime(tx, mLastSync, c.now()) }); err != nil {
		return err
	}
	return errors.Join(soft...)
}

// stopsSync reports whether err ends a Sync at once: the network, the
// server's health or the session failed, or the caller gave up.
func stopsSync(err error) bool {
	for _, target := range []error{ErrOffline, ErrUnavailable, ErrSignInRequired, ErrDeviceNotRegistered, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// tally fills the report's counts of what is left.
func (c *Client) tally(rep *Report) {
	_ = c.db.View(func(tx *bolt.Tx) error {
		rep.Queued = tx.Bucket(bOutbox).Stats().KeyN
		rep.KeptAside = tx.Bucket(bAside).Stats().KeyN
		var clk clockReading
		if ok, _ := getJSON(tx, bMeta, []byte(mClock), &clk); ok {
			rep.ClockOffset = time.Duration(clk.OffsetMs) * time.Millisecond
			rep.ClockSuspect = clk.Suspect
		}
		return nil
	})
}

// Status is a summary of the phone's state, for a status screen.
type Status struct {
	DeviceID   string
	Server     string
	Session    Session
	SignedIn   bool // tokens are held (they may have expired)
	Registered bool
	// Queued mutations, from seq FirstSeq; NextSeq is the seq the next
	// capture gets.
	Queued            int
	FirstSeq, NextSeq int64
	OldestQueued      time.Time
	BlobsPending      int
	BlobBytesPending  int64
	ChunksPending     int
	KeptAside         int
	PulledRecords     int
	HasCursor         bool
	ZonesGeneration   int64
	LastSync          time.Time
	LastPull          time.Time
	ClockOffset       time.Duration
	ClockSuspect      bool
	Limits            mobilesync.Limits
}

// Status returns a summary of the outbox; it needs no network.
func (c *Client) Status() (Status, error) {
	s := Status{DeviceID: c.deviceID, Server: c.server, Limits: c.Limits()}
	err := c.db.View(func(tx *bolt.Tx) error {
		if _, err := getJSON(tx, bMeta, []byte(mSession), &s.Session); err != nil {
			return err
		}
		s.SignedIn = getString(tx, mRefreshToken) != "" || getString(tx, mAccessToken) != ""
		s.Registered = getString(tx, mRegistered) != ""
		ob := tx.Bucket(bOutbox)
		s.Queued = ob.Stats().KeyN
		s.NextSeq = getInt(tx, mNextSeq)
		if k, v := ob.Cursor().First(); k != nil {
			s.FirstSeq = fromU64(k)
			var e entry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			s.OldestQueued = e.CapturedAt
		}
		if err := tx.Bucket(bBlobs).ForEach(func(_, v []byte) error {
			var b PendingBlob
			if err := json.Unmarshal(v, &b); err != nil {
				return err
			}
			s.BlobsPending++
			s.BlobBytesPending += b.Size
			return nil
		}); err != nil {
			return err
		}
		s.ChunksPending = tx.Bucket(bChunks).Stats().KeyN
		s.KeptAside = tx.Bucket(bAside).Stats().KeyN
		s.PulledRecords = tx.Bucket(bRecords).Stats().KeyN
		s.HasCursor = getString(tx, mCursor) != ""
		s.ZonesGeneration = getInt(tx, mZonesGeneration)
		s.LastSync, s.LastPull = getTime(tx, mLastSync), getTime(tx, mLastPull)
		var clk clockReading
		if ok, _ := getJSON(tx, bMeta, []byte(mClock), &clk); ok {
			s.ClockOffset = time.Duration(clk.OffsetMs) * time.Millisecond
			s.ClockSuspect = clk.Suspect
		}
		return nil
	})
	if err != nil {
		return Status{}, fmt.Errorf("client: status: %w", err)
	}
	return s, nil
}
