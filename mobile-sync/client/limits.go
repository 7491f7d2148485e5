package client

import (
	"context"
	"fmt"
	"net/http"

	bolt "go.etcd.io/bbolt"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
)

// Limits returns the server's limits as last fetched by Sync, with
// PROTOCOL.md's defaults for anything never heard.
func (c *Client) Limits() mobilesync.Limits {
	var l mobilesync.Limits
	_ = c.db.View(func(tx *bolt.Tx) error {
		_, err := getJSON(tx, bMeta, []byte(mLimits), &l)
		return err
	})
	return completeLimits(l)
}

// fetchLimits asks the server for its limits (GET /api/v1/sync/limits) and
// keeps them. Only a failure of the network or the session is an error.
func (c *Client) fetchLimits(ctx context.Context) (mobilesync.Limits, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/sync/limits", auth: true})
	if err != nil {
		return mobilesync.Limits{}, fmt.Errorf("limits: %w", err)
	}
	if resp.status != http.StatusOK {
		// A server that does not publish its limits (404, an older one)
		// or cannot now gets what it said last, or the defaults; a push
		// too large for it is still halved on 413.
		return c.Limits(), nil
	}
	var l mobilesync.Limits
	if err := resp.decode(&l); err != nil {
		return mobilesync.Limits{}, fmt.Errorf("limits: %w", err)
	}
	if err := c.db.Update(func(tx *bolt.Tx) error { return putJSON(tx, bMeta, []byte(mLimits), l) }); err != nil {
		return mobilesync.Limits{}, fmt.Errorf("limits: %w", err)
	}
	return completeLimits(l), nil
}
