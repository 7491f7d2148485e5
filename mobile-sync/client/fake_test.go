package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
)

// fakeServer implements the server side of PROTOCOL.md closely enough to
// drive the client's state machine: the real push engine over a memory
// ledger, records with revisions and a server sequence for pull, blobs with
// ranges, track chunks, tokens that expire, and faults to inject.
type fakeServer struct {
	t   *testing.T
	srv *httptest.Server
	URL string

	mu      sync.Mutex
	ledger  *mobilesync.MemoryLedger
	engine  *mobilesync.Engine
	devices map[string]string // device id → owner
	users   map[string]string // username → password
	access  map[string]string // access token → username
	expired map[string]bool   // access tokens past their time
	refresh map[string]string // refresh token → username
	tokenN  int

	records   map[string]*fakeRecord
	serverSeq int64
	creates   map[string]int // record id → creates applied
	blobs     map[string]*fakeBlob
	chunks    map[string][]byte // patrol:seq → body
	limits    mobilesync.Limits

	// Faults.
	down          bool  // cut every connection
	cutPushes     int   // apply the next pushes, then cut before answering
	fail503       int   // answer the next pushes 503
	cutBlobAt     int64 // cut a blob upload once this many bytes are stored
	refuseRefresh bool
	cursorGone    bool
	maxPushBytes  int
	noBlobRoutes  bool // an older server: /blobs answers 404

	log      []string // "METHOD path" of every request
	blobPuts []string // Content-Range of every blob PUT
}

type fakeRecord struct {
	body      map[string]any
	rev       int64
	serverSeq int64
	voided    bool
}

type fakeBlob struct {
	data     []byte
	total    int64
	complete bool
}

func newFake(t *testing.T) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, devices: map[string]string{}, users: map[string]string{"wang": "pw", "li": "pw"},
		access: map[string]string{}, expired: map[string]bool{}, refresh: map[string]string{},
		records: map[string]*fakeRecord{}, creates: map[string]int{}, blobs: map[string]*fakeBlob{},
		chunks: map[string][]byte{}, limits: defaultLimits}
	f.ledger = mobilesync.NewMemoryLedger()
	f.engine = mobilesync.NewEngine(f.ledger, f, f, nil)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

// Owner implements mobilesync.Devices.
func (f *fakeServer) Owner(id string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.devices[id]
	return o, ok
}

// Apply implements mobilesync.Applier with the rules of PROTOCOL.md: a
// record with persons beyond 1000 or an unknown kind is rejected, a stale
// base_rev is a conflict.
func (f *fakeServer) Apply(_ context.Context, _ mobilesync.Actor, m mobilesync.Mutation, _ mobilesync.Meta) (mobilesync.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var body map[string]any
	id := m.RecordID
	if m.Op != mobilesync.OpVoid {
		if err := json.Unmarshal(m.Record, &body); err != nil {
			return reject("", "", "not a JSON object"), nil
		}
		id, _ = body["id"].(string)
		if p, _ := body["persons"].(float64); p > 1000 {
			return reject(id, "persons", "must be between 1 and 1000"), nil
		}
		switch body["kind"] {
		case "patrol", "expulsion", "grazing", "vehicle", "confiscation":
		default:
			return reject(id, "kind", "must be one of patrol, expulsion, grazing, vehicle, confiscation, case"), nil
		}
	}
	r := f.records[id]
	switch m.Op {
	case mobilesync.OpCreate:
		if r != nil {
			if fmt.Sprint(r.body) == fmt.Sprint(body) {
				return mobilesync.Outcome{Status: mobilesync.StatusDuplicate, RecordID: id, Rev: r.rev}, nil
			}
			return f.conflict(id, r), nil
		}
		f.serverSeq++
		f.records[id] = &fakeRecord{body: body, rev: 1, serverSeq: f.serverSeq}
		f.creates[id]++
		return mobilesync.Outcome{Status: mobilesync.StatusApplied, RecordID: id, Rev: 1}, nil
	default:
		if r == nil {
			return reject(id, "id", "no such record"), nil
		}
		if m.BaseRev != r.rev {
			return f.conflict(id, r), nil
		}
		f.serverSeq++
		r.rev++
		r.serverSeq = f.serverSeq
		if m.Op == mobilesync.OpVoid {
			r.voided = true
		} else {
			r.body = body
		}
		return mobilesync.Outcome{Status: mobilesync.StatusApplied, RecordID: id, Rev: r.rev}, nil
	}
}

func reject(id, field, detail string) mobilesync.Outcome {
	p, _ := json.Marshal(Problem{Type: "/problems/validation", Status: 422, Title: "The input breaks a rule",
		Errors: []FieldError{{Field: field, Detail: detail}}})
	return mobilesync.Outcome{Status: mobilesync.StatusRejected, RecordID: id, Problem: p}
}

func (f *fakeServer) conflict(id string, r *fakeRecord) mobilesync.Outcome {
	return mobilesync.Outcome{Status: mobilesync.StatusConflict, RecordID: id, Rev: r.rev, Current: f.view(id, r)}
}

func (f *fakeServer) view(id string, r *fakeRecord) []byte {
	v := map[string]any{}
	for k, x := range r.body {
		v[k] = x
	}
	v["id"], v["rev"], v["server_seq"] = id, r.rev, r.serverSeq
	if r.voided {
		v["voided"] = true
	}
	b, _ := json.Marshal(v)
	return b
}

// restoreLedger makes the server forget every seq of device after keep, as
// a server restored from an older backup would (a new engine, as after a
// restart).
func (f *fakeServer) restoreLedger(device string, keep int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := mobilesync.NewMemoryLedger()
	var kept []mobilesync.Result
	for seq := int64(1); seq <= keep; seq++ {
		r, err := f.ledger.Get(context.Background(), device, seq)
		if err != nil {
			f.t.Fatalf("restore: %v", err)
		}
		kept = append(kept, r)
	}
	if err := errors.Join(l.PutMany(context.Background(), device, kept)...); err != nil {
		f.t.Fatalf("restore: %v", err)
	}
	f.ledger = l
	f.engine = mobilesync.NewEngine(l, f, f, nil)
}

func (f *fakeServer) set(fn func(f *fakeServer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeServer) requests(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, l := range f.log {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func cut(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func problem(w http.ResponseWriter, status int, slug, detail string, extra map[string]any) {
	p := map[string]any{"type": "/problems/" + slug, "title": slug, "status": status, "detail": detail}
	for k, v := range extra {
		p[k] = v
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.log = append(f.log, r.Method+" "+r.URL.Path)
	down := f.down
	f.mu.Unlock()
	if down {
		cut(w)
		return
	}
	path := r.URL.Path
	switch {
	case r.Method == "POST" && path == "/api/v1/auth/login":
		f.login(w, r)
		return
	case r.Method == "POST" && path == "/api/v1/auth/refresh":
		f.refreshTokens(w, r)
		return
	}
	user, ok := f.authenticate(w, r)
	if !ok {
		return
	}
	switch {
	case r.Method == "GET" && path == "/api/v1/me":
		reply(w, 200, map[string]string{"username": user, "role": "officer", "unit": "town-a"})
	case r.Method == "POST" && path == "/api/v1/devices":
		var d struct{ ID, Name string }
		_ = json.NewDecoder(r.Body).Decode(&d)
		f.mu.Lock()
		_, exists := f.devices[d.ID]
		if !exists {
			f.devices[d.ID] = user
		}
		f.mu.Unlock()
		if exists {
			problem(w, 409, "already-exists", "device "+d.ID, nil)
			return
		}
		reply(w, 201, map[string]string{"id": d.ID, "name": d.Name, "owner": user})
	case r.Method == "GET" && path == "/api/v1/sync/limits":
		f.mu.Lock()
		l := f.limits
		f.mu.Unlock()
		reply(w, 200, l)
	case r.Method == "POST" && path == "/api/v1/sync/push":
		f.push(w, r, user)
	case r.Method == "GET" && path == "/api/v1/sync/pull":
		f.pull(w, r)
	case strings.HasPrefix(path, "/api/v1/blobs/") && f.noBlobRoutes:
		problem(w, 404, "not-found", "no route "+path, nil)
	case strings.HasPrefix(path, "/api/v1/blobs/"):
		f.blob(w, r, strings.TrimPrefix(path, "/api/v1/blobs/"))
	case r.Method == "PUT" && strings.HasPrefix(path, "/api/v1/patrols/"):
		f.chunk(w, r, strings.TrimPrefix(path, "/api/v1/patrols/"))
	default:
		problem(w, 404, "not-found", "no route "+path, nil)
	}
}

func (f *fakeServer) issue(user string) map[string]any {
	f.tokenN++
	a, rt := fmt.Sprintf("access-%d", f.tokenN), fmt.Sprintf("refresh-%d", f.tokenN)
	f.access[a], f.refresh[rt] = user, user
	return map[string]any{"access_token": a, "refresh_token": rt, "token_type": "Bearer", "expires_in": 900}
}

func (f *fakeServer) login(w http.ResponseWriter, r *http.Request) {
	var req struct{ Username, Password string }
	_ = json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	defer f.mu.Unlock()
	if pw, ok := f.users[req.Username]; !ok || pw != req.Password {
		problem(w, 401, "bad-credentials", "wrong username or password", nil)
		return
	}
	reply(w, 200, f.issue(req.Username))
}

func (f *fakeServer) refreshTokens(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	defer f.mu.Unlock()
	user, ok := f.refresh[req.RefreshToken]
	if !ok || f.refuseRefresh {
		problem(w, 401, "bad-credentials", "refresh token expired", nil)
		return
	}
	delete(f.refresh, req.RefreshToken)
	reply(w, 200, f.issue(user))
}

// expireTokens makes every access token issued so far expire.
func (f *fakeServer) expireTokens() {
	f.set(func(f *fakeServer) {
		for a := range f.access {
			f.expired[a] = true
		}
	})
}

func (f *fakeServer) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	user, ok := f.access[tok]
	expired := f.expired[tok]
	f.mu.Unlock()
	switch {
	case !ok:
		problem(w, 401, "unauthenticated", "send a bearer token", nil)
	case expired:
		problem(w, 401, "token-expired", "the access token has expired", nil)
	default:
		return user, true
	}
	return "", false
}

func (f *fakeServer) push(w http.ResponseWriter, r *http.Request, user string) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	limit, fail := f.maxPushBytes, f.fail503 > 0
	if fail {
		f.fail503--
	}
	engine := f.engine
	f.mu.Unlock()
	if limit > 0 && len(body) > limit {
		problem(w, 413, "too-large", fmt.Sprintf("the body is larger than %d bytes", limit), nil)
		return
	}
	if fail {
		problem(w, 503, "unavailable", "the store is unavailable", nil)
		return
	}
	var req mobilesync.PushRequest
	if err := json.Unmarshal(body, &req); err != nil {
		problem(w, 400, "malformed-request", err.Error(), nil)
		return
	}
	resp, err := engine.Push(r.Context(), mobilesync.Actor{Username: user, Role: "officer", Unit: "town-a"}, req)
	var gap *mobilesync.GapError
	switch {
	case errors.As(err, &gap):
		problem(w, 409, "seq-gap", gap.Error(), map[string]any{"expected_seq": gap.Expected})
		return
	case errors.Is(err, mobilesync.ErrMalformed):
		problem(w, 400, "malformed-request", err.Error(), nil)
		return
	case errors.Is(err, mobilesync.ErrForbidden):
		problem(w, 403, "forbidden", err.Error(), nil)
		return
	case err != nil:
		problem(w, 503, "unavailable", err.Error(), nil)
		return
	}
	f.mu.Lock()
	lose := f.cutPushes > 0
	if lose {
		f.cutPushes--
	}
	f.mu.Unlock()
	if lose {
		cut(w) // applied and in the ledger, but the answer never arrives
		return
	}
	reply(w, 200, resp)
}

func (f *fakeServer) pull(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cursor := r.URL.Query().Get("cursor")
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		limit = 200
	}
	if cursor != "" && f.cursorGone {
		problem(w, 410, "cursor-expired", "tombstones after this cursor were compacted", nil)
		return
	}
	var after int64
	if cursor != "" {
		after, _ = strconv.ParseInt(strings.TrimPrefix(cursor, "c"), 10, 64)
	}
	ids := []string{}
	for id, rec := range f.records {
		if rec.serverSeq > after {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return f.records[ids[i]].serverSeq < f.records[ids[j]].serverSeq })
	more := len(ids) > limit
	if more {
		ids = ids[:limit]
	}
	changes := []json.RawMessage{}
	next := after
	for _, id := range ids {
		changes = append(changes, f.view(id, f.records[id]))
		next = f.records[id].serverSeq
	}
	reply(w, 200, map[string]any{"changes": changes, "next_cursor": fmt.Sprintf("c%d", next), "has_more": more,
		"reference": map[string]any{"units": []map[string]string{{"id": "town-a", "name": "高岭镇", "tier": "town"}}, "zones_generation": 3}})
}

func (f *fakeServer) blob(w http.ResponseWriter, r *http.Request, sha string) {
	f.mu.Lock()
	b := f.blobs[sha]
	f.mu.Unlock()
	switch r.Method {
	case "HEAD":
		if b == nil {
			w.WriteHeader(404)
			return
		}
		f.mu.Lock()
		w.Header().Set("Upload-Offset", strconv.Itoa(len(b.data)))
		w.Header().Set("Upload-Length", strconv.FormatInt(b.total, 10))
		if b.complete {
			w.Header().Set("Upload-Complete", "?1")
		} else {
			w.Header().Set("Upload-Complete", "?0")
		}
		f.mu.Unlock()
		w.WriteHeader(200)
	case "PUT":
		f.putBlob(w, r, sha, b)
	default:
		problem(w, 405, "method-not-allowed", r.Method, nil)
	}
}

func (f *fakeServer) putBlob(w http.ResponseWriter, r *http.Request, sha string, b *fakeBlob) {
	cr := r.Header.Get("Content-Range")
	var first, last, total int64
	if _, err := fmt.Sscanf(cr, "bytes %d-%d/%d", &first, &last, &total); err != nil {
		problem(w, 400, "bad-request", "Content-Range "+cr, nil)
		return
	}
	f.mu.Lock()
	f.blobPuts = append(f.blobPuts, cr)
	if total > f.limits.MaxBlobBytes {
		f.mu.Unlock()
		problem(w, 413, "too-large", "blob too large", nil)
		return
	}
	if b == nil {
		b = &fakeBlob{total: total}
		f.blobs[sha] = b
	}
	if b.complete {
		f.mu.Unlock()
		reply(w, 200, mobilesync.BlobStatus{SHA256: sha, Size: b.total, Received: b.total, Complete: true})
		return
	}
	if total != b.total {
		f.mu.Unlock()
		problem(w, 409, "upload-length", "the upload began with another length", nil)
		return
	}
	if first > int64(len(b.data)) {
		off := len(b.data)
		f.mu.Unlock()
		problem(w, 409, "upload-offset", "resume at the stored offset", map[string]any{"upload_offset": off})
		return
	}
	skip := int64(len(b.data)) - first
	f.mu.Unlock()
	// Store the bytes as they arrive, as the real server does, so that a
	// connection cut midway leaves them stored.
	buf := make([]byte, 256)
	for {
		n, err := r.Body.Read(buf)
		chunk := buf[:n]
		if skip > 0 {
			d := min(skip, int64(len(chunk)))
			chunk, skip = chunk[d:], skip-d
		}
		f.mu.Lock()
		b.data = append(b.data, chunk...)
		cutNow := f.cutBlobAt > 0 && int64(len(b.data)) >= f.cutBlobAt
		if cutNow {
			b.data = b.data[:f.cutBlobAt]
			f.cutBlobAt = 0
		}
		f.mu.Unlock()
		if cutNow {
			cut(w)
			return
		}
		if err != nil {
			break
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st := mobilesync.BlobStatus{SHA256: sha, Size: b.total, Received: int64(len(b.data))}
	if int64(len(b.data)) < b.total {
		reply(w, 200, st)
		return
	}
	sum := sha256.Sum256(b.data)
	if hex.EncodeToString(sum[:]) != sha {
		delete(f.blobs, sha)
		problem(w, 422, "blob-hash-mismatch", "the content does not hash to the address", nil)
		return
	}
	b.complete, st.Complete = true, true
	reply(w, 201, st)
}

func (f *fakeServer) chunk(w http.ResponseWriter, r *http.Request, rest string) {
	patrol, seq, ok := strings.Cut(rest, "/track/")
	if !ok {
		problem(w, 404, "not-found", rest, nil)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var ch mobilesync.TrackChunk
	if err := json.Unmarshal(body, &ch); err != nil || len(ch.Points) == 0 || len(ch.Points) > f.limits.MaxTrackChunkPoints {
		problem(w, 422, "validation", "bad chunk", nil)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if rec := f.records[patrol]; rec == nil || rec.body["kind"] != "patrol" {
		problem(w, 404, "not-found", "no patrol "+patrol, nil)
		return
	}
	key := patrol + ":" + seq
	switch old, ok := f.chunks[key]; {
	case !ok:
		f.chunks[key] = body
		reply(w, 201, map[string]any{"patrol_id": patrol, "chunk_seq": seq})
	case string(old) == string(body):
		reply(w, 200, map[string]any{"patrol_id": patrol, "chunk_seq": seq})
	default:
		problem(w, 409, "conflict", "another chunk is stored under "+seq, nil)
	}
}
