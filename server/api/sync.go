package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/enforcement"
)

// syncPush applies a device's numbered mutations (mobile-sync/PROTOCOL.md):
// 200 with one result per mutation, 400 for a malformed push, 403 for a
// device registered to someone else, 409 /problems/seq-gap with
// expected_seq, 503 when the store fails midway (what was applied stays in
// the ledger; the device sends the same push again).
func (s *server) syncPush(c *gin.Context) {
	var req mobilesync.PushRequest
	if !bindStrict(c, &req) {
		return
	}
	p := principal(c)
	resp, err := s.Sync.Push(c, mobilesync.Actor{Username: p.Username, Role: string(p.Role), Unit: p.Unit}, req)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, resp)
}

// syncPull answers the changes visible to the caller after an opaque cursor
// (a server sequence position, never a clock), oldest first, with the
// reference data a phone needs: the unit tree and the zones generation.
func (s *server) syncPull(c *gin.Context) {
	var fs fields
	limit := 200
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fs.bad("limit", "must be 1 to 1000")
		}
		limit = n
	}
	if fs.answer(c) {
		return
	}
	p := principal(c)
	page, err := s.Records.Changes(c, c.Query("cursor"), limit, func(unit, createdBy string) bool {
		return auth.Allow(p, auth.ActRecordRead, &auth.Object{Unit: unit, CreatedBy: createdBy}, s.Accounts.Units)
	})
	if err != nil {
		fail(c, err)
		return
	}
	s.photosPending(c, page.Changes)
	c.JSON(http.StatusOK, gin.H{"changes": page.Changes, "next_cursor": page.NextCursor, "has_more": page.HasMore,
		"reference": gin.H{"units": s.Accounts.Units.All(), "zones_generation": s.Zones.Current().Generation}})
}

// syncLimits publishes what the server accepts, so that a phone can split
// its work before sending it (mobile-sync/PROTOCOL.md, Limits).
func (s *server) syncLimits(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{
		"schema_version":         mobilesync.SchemaVersion,
		"max_mutations":          mobilesync.MaxMutations,
		"max_push_bytes":         s.MaxBodyBytes,
		"max_blob_bytes":         s.MaxBlobBytes,
		"blob_part_bytes":        blobPartBytes,
		"max_track_chunk_points": enforcement.MaxChunkPoints,
		"tombstone_retention_s":  int64(s.TombstoneRetention.Seconds()),
		"clock_tolerance_s":      int64(mobilesync.ClockTolerance.Seconds()),
	})
}
