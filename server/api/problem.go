package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/baoshui/baoshui/geo"
	mobilesync "github.com/baoshui/baoshui/mobile-sync"
	"github.com/baoshui/baoshui/server/accounts"
	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/blobs"
	"github.com/baoshui/baoshui/server/casesvc"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
)

// Problem is an RFC 9457 problem detail. Type is a stable relative URI
// (/problems/<slug>) that clients may switch on; Errors names every
// offending field of an invalid input.
type Problem struct {
	Type      string                   `json:"type"`
	Title     string                   `json:"title"`
	Status    int                      `json:"status"`
	Detail    string                   `json:"detail,omitempty"`
	Instance  string                   `json:"instance,omitempty"`
	RequestID string                   `json:"request_id,omitempty"`
	Errors    []enforcement.FieldError `json:"errors,omitempty"`
	Current   *enforcement.Record      `json:"current,omitempty"`
	// ZoneProblems name, for a rejected zone layer, each feature, polygon,
	// ring and fault; Omitted counts those beyond the first 100.
	ZoneProblems []geo.ZoneProblem `json:"zone_problems,omitempty"`
	Omitted      int               `json:"omitted,omitempty"`
	// ExpectedSeq is, for a sync push that skips mutations, the seq the
	// server expects next from the device.
	ExpectedSeq int64 `json:"expected_seq,omitempty"`
	// UploadOffset is, for a blob upload that must resume elsewhere, the
	// number of bytes stored.
	UploadOffset *int64 `json:"upload_offset,omitempty"`
	// Allowed lists, for an illegal case step, the actions the case's
	// state allows (an empty list for a final state).
	Allowed []string `json:"allowed,omitzero"`
}

// problemKind is one row of the error table.
type problemKind struct {
	slug   string
	title  string
	status int
}

// The problem types this API answers with. Their slugs are a contract.
var (
	pMalformed     = problemKind{"malformed-request", "The request body is not valid JSON of the expected shape", http.StatusBadRequest}
	pBadQuery      = problemKind{"bad-query", "A query parameter is invalid", http.StatusBadRequest}
	pValidation    = problemKind{"validation", "The input breaks a rule", http.StatusUnprocessableEntity}
	pZones         = problemKind{"invalid-zones", "The zone layer is not valid GeoJSON for its layer", http.StatusUnprocessableEntity}
	pUnauth        = problemKind{"unauthenticated", "A valid bearer token is required", http.StatusUnauthorized}
	pExpired       = problemKind{"token-expired", "The access token has expired; refresh it", http.StatusUnauthorized}
	pCredentials   = problemKind{"bad-credentials", "Wrong username, password or refresh token", http.StatusUnauthorized}
	pTooMany       = problemKind{"too-many-attempts", "Too many failed sign-ins; wait before trying again", http.StatusTooManyRequests}
	pRateLimited   = problemKind{"rate-limited", "Too many writes; wait before trying again", http.StatusTooManyRequests}
	pForbidden     = problemKind{"forbidden", "Your role may not do this", http.StatusForbidden}
	pNotFound      = problemKind{"not-found", "No such resource", http.StatusNotFound}
	pMethod        = problemKind{"method-not-allowed", "Method not allowed", http.StatusMethodNotAllowed}
	pConflict      = problemKind{"conflict", "The request conflicts with what is stored", http.StatusConflict}
	pIllegalStep   = problemKind{"illegal-transition", "The state of the case or item does not allow this step; see allowed", http.StatusConflict}
	pSeqGap        = problemKind{"seq-gap", "The push skips mutations; push from expected_seq", http.StatusConflict}
	pHashMismatch  = problemKind{"blob-hash-mismatch", "The content does not hash to its address; upload it again from 0", http.StatusUnprocessableEntity}
	pUploadOffset  = problemKind{"upload-offset", "The upload must resume at upload_offset", http.StatusConflict}
	pUploadLength  = problemKind{"upload-length", "The total differs from the one the upload began with", http.StatusConflict}
	pCursorExpired = problemKind{"cursor-expired", "The cursor is older than the tombstone retention; pull again without a cursor", http.StatusGone}
	pExists        = problemKind{"already-exists", "Something with this id already exists", http.StatusConflict}
	pTooLarge      = problemKind{"body-too-large", "The request body is too large", http.StatusRequestEntityTooLarge}
	pMediaType     = problemKind{"unsupported-media-type", "Send application/json", http.StatusUnsupportedMediaType}
	pUnavailable   = problemKind{"unavailable", "The store is unavailable; retry later", http.StatusServiceUnavailable}
	pStorageFull   = problemKind{"storage-full", "The store's disk is full; retry later", http.StatusServiceUnavailable}
	pInternal      = problemKind{"internal", "Internal error", http.StatusInternalServerError}
	problemPrefix  = "/problems/"
)

// errorTable maps the error kinds services return to problems: the one place
// where errors become HTTP statuses. The first match wins.
var errorTable = []struct {
	err  error
	kind problemKind
}{
	{accounts.ErrBadCredentials, pCredentials},
	{auth.ErrTokenExpired, pExpired},
	{auth.ErrTokenInvalid, pUnauth},
	{records.ErrBadCursor, pBadQuery},
	{casesvc.ErrBadCursor, pBadQuery},
	{records.ErrCursorExpired, pCursorExpired},
	{blobs.ErrHashMismatch, pHashMismatch},
	{blobs.ErrTooLarge, pTooLarge},
	{blobs.ErrLengthMismatch, pUploadLength},
	{mobilesync.ErrMalformed, pMalformed},
	{mobilesync.ErrForbidden, pForbidden},
	{enforcement.ErrInvalid, pValidation},
	{enforcement.ErrNotFound, pNotFound},
	{enforcement.ErrConflict, pConflict},
	{enforcement.ErrExists, pExists},
	{enforcement.ErrForbidden, pForbidden},
	{enforcement.ErrStorageFull, pStorageFull}, // before ErrUnavailable, which it wraps
	{enforcement.ErrUnavailable, pUnavailable},
}

// fail answers with the problem for err (and logs it), then aborts.
func fail(c *gin.Context, err error) {
	kind := pInternal
	for _, row := range errorTable {
		if errors.Is(err, row.err) {
			kind = row.kind
			break
		}
	}
	p := newProblem(c, kind, err.Error())
	var verr *enforcement.ValidationError
	if errors.As(err, &verr) {
		p.Errors = verr.Fields
		p.Detail = "see errors"
	}
	var gap *mobilesync.GapError
	if errors.As(err, &gap) {
		p = newProblem(c, pSeqGap, gap.Error())
		p.ExpectedSeq = gap.Expected
	}
	var oe *blobs.OffsetError
	if errors.As(err, &oe) {
		p = newProblem(c, pUploadOffset, oe.Error())
		off := oe.Offset
		p.UploadOffset = &off
		c.Header("Upload-Offset", strconv.FormatInt(off, 10))
	}
	if te, ok := enforcement.IsTransitionError(err); ok {
		p = newProblem(c, pIllegalStep, te.Error())
		p.Allowed = append([]string{}, te.Allowed...)
	}
	var ce *records.ConflictError
	if errors.As(err, &ce) {
		p.Detail = ce.Reason
		if ce.Current.ID != "" && visible(c, ce.Current.Unit, ce.Current.CreatedBy) {
			cur := ce.Current
			p.Current = &cur
		}
	}
	if kind == pInternal {
		p.Detail = "see the server log for request " + p.RequestID
	}
	c.Set(ctxErr, err)
	respond(c, p)
}

func newProblem(c *gin.Context, k problemKind, detail string) Problem {
	return Problem{Type: problemPrefix + k.slug, Title: k.title, Status: k.status, Detail: detail,
		Instance: c.Request.URL.Path, RequestID: c.GetString(ctxRequestID)}
}

// abort answers with a problem of kind k.
func abort(c *gin.Context, k problemKind, detail string) {
	p := newProblem(c, k, detail)
	c.Set(ctxErr, errors.New(detail))
	respond(c, p)
}

func respond(c *gin.Context, p Problem) {
	if p.Status == http.StatusServiceUnavailable {
		c.Header("Retry-After", strconv.Itoa(5))
	}
	if p.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="baoshui"`)
	}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}
