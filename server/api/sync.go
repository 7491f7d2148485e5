package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
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
