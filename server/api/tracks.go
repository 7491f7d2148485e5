package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
)

// putTrackChunk appends chunk :chunk of the patrol's track
// (mobile-sync/PROTOCOL.md): 201 stored now, 200 stored before with the same
// fixes, 409 other fixes under this chunk, 404 a patrol the caller may not
// see, 403 one they may not correct, 422 naming the bad points.
func (s *server) putTrackChunk(c *gin.Context) {
	h, ok := s.readable(c, auth.ActRecordCorrect)
	if !ok {
		return
	}
	seq, err := strconv.Atoi(c.Param("chunk"))
	if err != nil || seq < 1 || seq > enforcement.MaxChunkSeq {
		fail(c, invalid(enforcement.FieldError{Field: "chunk_seq", Detail: fmt.Sprintf("want a whole number from 1 to %d", enforcement.MaxChunkSeq)}))
		return
	}
	b, ok := readBody(c)
	if !ok {
		return
	}
	fixes, err := enforcement.DecodeTrackChunk(b)
	if err != nil {
		fail(c, err)
		return
	}
	created, err := s.Records.AppendTrackChunk(c, records.Actor{Username: principal(c).Username}, h.ID, seq, fixes)
	if err != nil {
		fail(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, gin.H{"patrol_id": h.ID, "chunk_seq": seq, "points": len(fixes), "created": created})
}

// getTrack answers the patrol's whole track as a GeoJSON Feature: the
// record's own track, then its chunks in order, with the fix times.
func (s *server) getTrack(c *gin.Context) {
	h, ok := s.readable(c, auth.ActRecordRead)
	if !ok {
		return
	}
	ls, times, info, err := s.Records.Track(c, h.ID)
	if err != nil {
		fail(c, err)
		return
	}
	coords := make([][2]float64, len(ls))
	for i, p := range ls {
		coords[i] = [2]float64{p[0], p[1]}
	}
	var geom any
	if len(coords) > 0 {
		geom = gin.H{"type": "LineString", "coordinates": coords}
	}
	c.Header("Content-Type", "application/geo+json")
	c.JSON(http.StatusOK, gin.H{"type": "Feature", "id": h.ID, "geometry": geom,
		"properties": gin.H{"times": times, "chunks": info.Chunks, "points": len(coords)}})
}
