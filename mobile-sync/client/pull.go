package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	bolt "go.etcd.io/bbolt"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
)

// PullReport says what a pull brought.
type PullReport struct {
	// Records is how many changed records arrived (tombstones included).
	Records int
	// Pages is how many pull requests were answered.
	Pages int
	// FullResync is set when the server no longer knew the cursor (410)
	// and the phone dropped its copy and pulled from the start.
	FullResync bool
}

// Unit is one team of the unit tree, as pulled.
type Unit struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	NameEN string `json:"name_en,omitempty"`
	Tier   string `json:"tier"`
	Parent string `json:"parent,omitempty"`
}

// Reference is the reference data of the last pull.
type Reference struct {
	Units           []Unit
	ZonesGeneration int64
}

// Pull asks the server for every record changed since the last pull, page
// by page until has_more is false, and keeps each record's current state
// (a voided record is kept as its tombstone, "voided": true). A cursor the
// server no longer honours (410 cursor-expired) makes the phone drop its
// copy and pull everything again.
func (c *Client) Pull(ctx context.Context) (PullReport, error) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	rep, err := c.pull(ctx)
	if err != nil {
		return rep, fmt.Errorf("client: pull: %w", err)
	}
	return rep, nil
}

func (c *Client) pull(ctx context.Context) (PullReport, error) {
	var rep PullReport
	var cursor string
	if err := c.db.View(func(tx *bolt.Tx) error { cursor = getString(tx, mCursor); return nil }); err != nil {
		return rep, err
	}
	for {
		q := url.Values{"limit": {strconv.Itoa(c.pullLimit)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		resp, err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/sync/pull", query: q, auth: true})
		if err != nil {
			return rep, err
		}
		p := resp.problem()
		switch {
		case resp.status == http.StatusOK:
		case (resp.status == http.StatusGone || p.HasType(ProblemCursorExpired)) && cursor != "" && !rep.FullResync:
			if err := c.dropPulled(); err != nil {
				return rep, err
			}
			cursor, rep.FullResync = "", true
			continue
		default:
			return rep, p
		}
		var page mobilesync.PullResponse
		if err := resp.decode(&page); err != nil {
			return rep, err
		}
		if err := c.keepPage(page); err != nil {
			return rep, err
		}
		rep.Pages++
		rep.Records += len(page.Changes)
		if !page.HasMore {
			return rep, nil
		}
		if page.NextCursor == "" || page.NextCursor == cursor {
			return rep, fmt.Errorf("the server says it has more but gave no new cursor")
		}
		cursor = page.NextCursor
	}
}

// keepPage stores a page of changes, its cursor and its reference data in
// one transaction, so that the cursor never runs ahead of the records.
func (c *Client) keepPage(page mobilesync.PullResponse) error {
	return c.db.Update(func(tx *bolt.Tx) error {
		rb := tx.Bucket(bRecords)
		for i, raw := range page.Changes {
			var head struct {
				ID  string `json:"id"`
				Rev int64  `json:"rev"`
			}
			if err := json.Unmarshal(raw, &head); err != nil || head.ID == "" {
				return fmt.Errorf("change %d has no id", i)
			}
			if err := rb.Put([]byte(head.ID), raw); err != nil {
				return err
			}
			if err := setRev(tx, head.ID, head.Rev); err != nil {
				return err
			}
		}
		if err := putString(tx, mCursor, page.NextCursor); err != nil {
			return err
		}
		if page.Reference.Units != nil {
			if err := putJSON(tx, bMeta, []byte(mUnits), page.Reference.Units); err != nil {
				return err
			}
		}
		if err := putInt(tx, mZonesGeneration, page.Reference.ZonesGeneration); err != nil {
			return err
		}
		return putTime(tx, mLastPull, c.now())
	})
}

// dropPulled forgets every pulled record and the cursor, in one transaction.
func (c *Client) dropPulled() error {
	return c.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bRecords); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(bRecords); err != nil {
			return err
		}
		return putString(tx, mCursor, "")
	})
}

// Records returns every pulled record, by id, as the server sent it.
func (c *Client) Records() ([]json.RawMessage, error) {
	var out []json.RawMessage
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bRecords).ForEach(func(_, v []byte) error {
			out = append(out, append(json.RawMessage(nil), v...))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("client: records: %w", err)
	}
	return out, nil
}

// Record returns the pulled record id; ErrNotFound when none was pulled.
func (c *Client) Record(id string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bRecords).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("%w: record %s was not pulled", ErrNotFound, id)
		}
		out = append(out, v...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("client: record: %w", err)
	}
	return out, nil
}

// Reference returns the unit tree and zones generation of the last pull.
func (c *Client) Reference() (Reference, error) {
	var r Reference
	err := c.db.View(func(tx *bolt.Tx) error {
		r.ZonesGeneration = getInt(tx, mZonesGeneration)
		_, err := getJSON(tx, bMeta, []byte(mUnits), &r.Units)
		return err
	})
	if err != nil {
		return Reference{}, fmt.Errorf("client: reference: %w", err)
	}
	return r, nil
}
