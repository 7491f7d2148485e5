package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Errors a Client returns, wrapped with the operation's name; test them with
// errors.Is.
var (
	// ErrOffline: the server could not be reached (no network, refused,
	// cut) after the retries allowed; everything stays queued.
	ErrOffline = errors.New("server unreachable")
	// ErrUnavailable: the server answered 5xx after the retries allowed;
	// everything stays queued.
	ErrUnavailable = errors.New("server unavailable")
	// ErrSignInRequired: the access token expired and refreshing it failed
	// (or there is no session); everything stays queued until Login.
	ErrSignInRequired = errors.New("sign in required")
	// ErrNoServer: no server URL is known (Options.Server was never given).
	ErrNoServer = errors.New("no server configured")
	// ErrDeviceNotRegistered: the server refused the device for this
	// account (403); register it with RegisterDevice.
	ErrDeviceNotRegistered = errors.New("device not registered to this account")
	// ErrNotFound: no such queued, kept-aside or pulled item.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the input given to the client is unusable (not a JSON
	// object, a bad id, an empty or oversized file…).
	ErrInvalid = errors.New("invalid input")
	// ErrInUse: another process holds the outbox file open.
	ErrInUse = errors.New("outbox in use by another process")
)

// Problem types the client acts on; the server's type is a relative URI
// such as "/problems/seq-gap".
const (
	ProblemSeqGap          = "seq-gap"
	ProblemTokenExpired    = "token-expired"
	ProblemUnauthenticated = "unauthenticated"
	ProblemValidation      = "validation"
	ProblemCursorExpired   = "cursor-expired"
	ProblemConflict        = "conflict"
	ProblemAlreadyExists   = "already-exists"
	ProblemUploadOffset    = "upload-offset"
	ProblemUploadLength    = "upload-length"
	ProblemHashMismatch    = "blob-hash-mismatch"
	ProblemTooLarge        = "too-large"
)

// FieldError names one offending field of a rejected input.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Problem is an RFC 9457 problem detail as the server sends it. It is also
// the error a Client returns for an answer it cannot act on.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title,omitempty"`
	Status int          `json:"status,omitempty"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
	// ExpectedSeq is, for a seq-gap, the seq the server expects next.
	ExpectedSeq int64 `json:"expected_seq,omitempty"`
	// UploadOffset is, for an upload-offset problem, the bytes stored.
	UploadOffset *int64 `json:"upload_offset,omitempty"`
	// Current is the server's copy of a record that conflicts.
	Current json.RawMessage `json:"current,omitempty"`
}

// HasType reports whether the problem's type is /problems/<slug>.
func (p *Problem) HasType(slug string) bool {
	return p != nil && (p.Type == "/problems/"+slug || strings.HasSuffix(p.Type, "/problems/"+slug))
}

// Error implements error: the status, the type's slug, the detail and each
// offending field.
func (p *Problem) Error() string {
	var b strings.Builder
	if p.Status != 0 {
		fmt.Fprintf(&b, "%d ", p.Status)
	}
	b.WriteString(strings.TrimPrefix(p.Type, "/problems/"))
	if d := p.Reason(); d != "" {
		b.WriteString(": ")
		b.WriteString(d)
	}
	return b.String()
}

// Reason says in one line what is wrong: each offending field and its
// detail when the problem names fields, the detail or title otherwise.
func (p *Problem) Reason() string {
	if len(p.Errors) > 0 {
		parts := make([]string, len(p.Errors))
		for i, f := range p.Errors {
			if f.Field == "" {
				parts[i] = f.Detail
			} else {
				parts[i] = f.Field + ": " + f.Detail
			}
		}
		return strings.Join(parts, "; ")
	}
	if p.Detail != "" {
		return p.Detail
	}
	return p.Title
}

// parseProblem decodes a problem body; a body that is not one (a proxy's
// HTML page) becomes a problem with the status and a snippet of it.
func parseProblem(status int, body []byte) *Problem {
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil || p.Type == "" {
		snippet := strings.TrimSpace(string(body))
		if len(snippet) > 200 {
			snippet = snippet[:200] + "…"
		}
		p = Problem{Type: "about:blank", Detail: snippet}
	}
	if p.Status == 0 {
		p.Status = status
	}
	return &p
}
