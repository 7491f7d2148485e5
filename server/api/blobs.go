package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/baoshui/baoshui/server/blobs"
	"github.com/baoshui/baoshui/server/enforcement"
)

// blobPartBytes is the size a phone is advised to send per request: small
// enough for a weak link, and the size of the pieces the server stores.
const blobPartBytes = 1 << 20

// blobHeaders sets the resumable-upload headers of a blob's status.
func blobHeaders(c *gin.Context, st blobs.Status) {
	c.Header("Upload-Offset", strconv.FormatInt(st.Received, 10))
	c.Header("Upload-Length", strconv.FormatInt(st.Size, 10))
	if st.Complete {
		c.Header("Upload-Complete", "?1")
	} else {
		c.Header("Upload-Complete", "?0")
	}
}

// headBlob tells how much of a blob has arrived: 404 nothing, otherwise
// Upload-Offset, Upload-Length and Upload-Complete.
func (s *server) headBlob(c *gin.Context) {
	st, err := s.Blobs.Stat(c, c.Param("sha"))
	if err != nil {
		fail(c, err)
		return
	}
	blobHeaders(c, st)
	c.Status(http.StatusOK)
}

// parseContentRange reads "bytes first-last/total"; without the header the
// body is the whole blob and Content-Length its size.
func parseContentRange(c *gin.Context) (first, total int64, err error) {
	h := c.GetHeader("Content-Range")
	if h == "" {
		if c.Request.ContentLength < 0 {
			return 0, 0, errors.New("send Content-Length (the whole blob) or Content-Range")
		}
		return 0, c.Request.ContentLength, nil
	}
	spec, ok := strings.CutPrefix(h, "bytes ")
	rng, tot, ok2 := strings.Cut(spec, "/")
	a, b, ok3 := strings.Cut(rng, "-")
	if !ok || !ok2 || !ok3 {
		return 0, 0, fmt.Errorf("Content-Range %q: want bytes <first>-<last>/<total>", h)
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	total, err3 := strconv.ParseInt(tot, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || first < 0 || last < first || last >= total {
		return 0, 0, fmt.Errorf("Content-Range %q: want bytes <first>-<last>/<total> with first ≤ last < total", h)
	}
	if n := c.Request.ContentLength; n >= 0 && n != last-first+1 {
		return 0, 0, fmt.Errorf("Content-Range %q announces %d bytes, Content-Length is %d", h, last-first+1, n)
	}
	return first, total, nil
}

// putBlob stores bytes of a content-addressed blob as they arrive
// (mobile-sync/PROTOCOL.md): 200 stored so far, 201 complete and verified
// now, 200 complete before; 409 upload-offset, 409 upload-length, 413, 422
// blob-hash-mismatch.
func (s *server) putBlob(c *gin.Context) {
	first, total, err := parseContentRange(c)
	if err != nil {
		fail(c, invalid(enforcement.FieldError{Field: "Content-Range", Detail: err.Error()}))
		return
	}
	if max := s.MaxBlobBytes; total > max {
		abort(c, pTooLarge, fmt.Sprintf("a blob of %d bytes is larger than the %d accepted", total, max))
		return
	}
	mime := c.ContentType()
	st, now, err := s.Blobs.Write(c, c.Param("sha"), first, total, mime, c.Request.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			abort(c, pTooLarge, "the body is larger than "+strconv.FormatInt(mbe.Limit, 10)+" bytes")
			return
		}
		fail(c, err)
		return
	}
	blobHeaders(c, st)
	status := http.StatusOK
	if now {
		status = http.StatusCreated
	}
	c.JSON(status, st)
}

// getBlob serves a complete blob, with byte ranges. The hash is the
// capability: one learns it only from a record one may read.
func (s *server) getBlob(c *gin.Context) {
	rs, info, err := s.Blobs.Open(c, c.Param("sha"))
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Content-Type", info.Mime)
	c.Header("ETag", strconv.Quote(info.SHA256))
	c.Header("Cache-Control", "private, max-age=31536000, immutable")
	c.Header("X-Content-Type-Options", "nosniff")
	http.ServeContent(c.Writer, c.Request, "", info.Uploaded, rs)
}

// photosPending fills PhotosPending of each record from the blob store.
func (s *server) photosPending(c *gin.Context, recs []enforcement.Record) {
	if s.Blobs == nil {
		return
	}
	for i := range recs {
		if len(recs[i].Photos) == 0 {
			continue
		}
		shas := make([]string, len(recs[i].Photos))
		for k, p := range recs[i].Photos {
			shas[k] = p.SHA256
		}
		recs[i].PhotosPending = s.Blobs.Pending(c, shas)
	}
}
