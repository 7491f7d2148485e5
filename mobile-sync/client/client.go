package client

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Client is a phone's sync client: the outbox file and the server it syncs
// with. Create it with Open and release it with Close.
type Client struct {
	db        *bolt.DB
	path      string
	blobDir   string
	hc        *http.Client
	now       func() time.Time
	backoff   Backoff
	pullLimit int
	deviceID  string
	server    string

	// syncMu lets one Sync or Pull run at a time; captures do not wait.
	syncMu sync.Mutex
	// authMu lets one token refresh run at a time.
	authMu sync.Mutex
}

// Open opens (creating if need be) the outbox at path and returns a Client
// for it. The directory of path is created when missing. Open fails with
// ErrInUse when another process holds the file, and when opt.DeviceID
// differs from the device id the outbox was created for.
func Open(path string, opt Options) (*Client, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("client: open: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("client: open %s: %w", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("client: open %s: %w", path, err)
	}
	c := &Client{db: db, path: path, blobDir: opt.BlobDir, hc: opt.HTTPClient, now: opt.Now,
		backoff: opt.Backoff.withDefaults(), pullLimit: opt.PullLimit}
	if c.blobDir == "" {
		c.blobDir = path + ".blobs"
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 2 * time.Minute}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.pullLimit <= 0 || c.pullLimit > 1000 {
		c.pullLimit = 200
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		switch f := getInt(tx, mFormat); f {
		case 0:
			if err := putInt(tx, mFormat, outboxFormat); err != nil {
				return err
			}
		case outboxFormat:
		default:
			return fmt.Errorf("the outbox has format %d; this client reads %d", f, outboxFormat)
		}
		if getInt(tx, mNextSeq) == 0 {
			if err := putInt(tx, mNextSeq, 1); err != nil {
				return err
			}
		}
		kept := getString(tx, mDeviceID)
		switch {
		case kept == "" && opt.DeviceID == "":
			c.deviceID = "fs-" + strings.ToLower(ulid.MustNew(ulid.Timestamp(c.now()), ulid.DefaultEntropy()).String())
		case kept == "":
			c.deviceID = opt.DeviceID
		case opt.DeviceID != "" && opt.DeviceID != kept:
			return fmt.Errorf("%w: the outbox belongs to device %q, not %q", ErrInvalid, kept, opt.DeviceID)
		default:
			c.deviceID = kept
		}
		if err := putString(tx, mDeviceID, c.deviceID); err != nil {
			return err
		}
		if opt.Server != "" {
			if err := putString(tx, mServer, strings.TrimRight(opt.Server, "/")); err != nil {
				return err
			}
		}
		c.server = getString(tx, mServer)
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("client: open %s: %w", path, err)
	}
	return c, nil
}

// Close releases the outbox file; everything queued stays in it. Call it
// once the Client's other calls have returned.
func (c *Client) Close() error {
	if err := c.db.Close(); err != nil {
		return fmt.Errorf("client: close: %w", err)
	}
	return nil
}

// DeviceID returns the id this phone pushes as.
func (c *Client) DeviceID() string { return c.deviceID }

// Server returns the server URL the outbox syncs with ("" = none yet).
func (c *Client) Server() string { return c.server }

// Path returns the outbox file's path.
func (c *Client) Path() string { return c.path }

// newID returns a new record id: a ULID, ordered by the device clock.
func (c *Client) newID() string {
	return ulid.MustNew(ulid.Timestamp(c.now()), ulid.DefaultEntropy()).String()
}
