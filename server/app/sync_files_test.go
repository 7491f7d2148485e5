package app_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// upload sends body as bytes first..first+len(body)-1 of a blob of total
// bytes; contentRange "" sends no Content-Range (the whole blob).
func (c *client) upload(sha string, first, total int64, body io.Reader, n int64, contentRange bool) (int, []byte, http.Header, error) {
	c.t.Helper()
	req, err := http.NewRequest("PUT", c.base+"/api/v1/blobs/"+sha, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", "image/jpeg")
	if contentRange {
		req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, first+n-1, total))
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header, nil
}

// cutReader gives n bytes of b and then fails, as a connection that drops.
type cutReader struct {
	b []byte
	n int
}

func (r *cutReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("the link dropped")
	}
	k := copy(p, r.b[:min(len(r.b), r.n, len(p))])
	r.b, r.n = r.b[k:], r.n-k
	return k, nil
}

func photo(seed uint64, n int) ([]byte, string) {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	h := sha256.Sum256(b)
	return b, hex.EncodeToString(h[:])
}

func TestBlobsOverHTTP(t *testing.T) {
	f := newFixture(t, "-max-blob-bytes", "4194304")
	img, sha := photo(1, 3<<20+12345)
	total := int64(len(img))

	// The record arrives before its photo: shown as incomplete.
	body := strings.TrimSuffix(rec("ph1", "town-a", 2), "}") + fmt.Sprintf(`,"photos":[{"sha256":%q,"size":%d,"mime":"image/jpeg"}]}`, sha, total)
	if st := f.offA.do("POST", "/api/v1/records", body, nil); st != 201 {
		t.Fatalf("record with a photo: %d", st)
	}
	pending := func() []string {
		var r struct {
			PhotosPending []string `json:"photos_pending"`
		}
		if st := f.offA.do("GET", "/api/v1/records/ph1", nil, &r); st != 200 {
			t.Fatalf("get: %d", st)
		}
		return r.PhotosPending
	}
	if p := pending(); len(p) != 1 || p[0] != sha {
		t.Fatalf("photos_pending before the upload: %v", p)
	}
	if st, _, _ := f.offA.raw("HEAD", "/api/v1/blobs/"+sha, nil); st != 404 {
		t.Fatalf("HEAD before any byte: %d", st)
	}

	// The upload is cut at 50 %.
	if _, _, _, err := f.offA.upload(sha, 0, total, &cutReader{b: img, n: len(img) / 2}, total, true); err == nil {
		t.Fatal("a cut upload did not fail on the client")
	}
	// HEAD tells that part of it is stored (the server may still be
	// storing what it read).
	var off int64
	for i := 0; i < 100 && off <= 0; i++ {
		time.Sleep(100 * time.Millisecond)
		st, _, h := f.offA.raw("HEAD", "/api/v1/blobs/"+sha, nil)
		off, _ = strconv.ParseInt(h.Get("Upload-Offset"), 10, 64)
		if st == 200 && (h.Get("Upload-Complete") != "?0" || h.Get("Upload-Length") != strconv.FormatInt(total, 10)) {
			t.Fatalf("HEAD after the cut: %v", h)
		}
	}
	if off <= 0 || off > total/2 {
		t.Fatalf("stored after a cut at 50%%: %d of %d", off, total)
	}
	// Resuming beyond anything that arrived is refused with the offset,
	// which is final once the cut upload's writer is done.
	beyond := total/2 + 10
	st, b, _, _ := f.offA.upload(sha, beyond, total, bytes.NewReader(img[beyond:]), total-beyond, true)
	var pr struct {
		Type         string `json:"type"`
		UploadOffset int64  `json:"upload_offset"`
	}
	_ = json.Unmarshal(b, &pr)
	if st != 409 || pr.Type != "/problems/upload-offset" || pr.UploadOffset < off || pr.UploadOffset > total/2 {
		t.Fatalf("resume beyond the offset: %d %s (HEAD said %d)", st, b, off)
	}
	off = pr.UploadOffset
	// Resuming a little before the offset (a re-sent range) completes it.
	from := max(0, off-1000)
	st, b, h, err := f.offA.upload(sha, from, total, bytes.NewReader(img[from:]), total-from, true)
	if err != nil || st != 201 || h.Get("Upload-Complete") != "?1" {
		t.Fatalf("resume: %d %s %v", st, b, err)
	}
	if p := pending(); len(p) != 0 {
		t.Errorf("photos_pending after the upload: %v", p)
	}
	st, got, gh := f.office.raw("GET", "/api/v1/blobs/"+sha, nil)
	if st != 200 || !bytes.Equal(got, img) || gh.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("GET: %d, %d bytes, equal %v, %s", st, len(got), bytes.Equal(got, img), gh.Get("Content-Type"))
	}
	// Again once complete: 200, nothing rewritten.
	if st, _, _, _ := f.offA.upload(sha, 0, total, bytes.NewReader(img), total, false); st != 200 {
		t.Errorf("the same blob again: %d, want 200", st)
	}

	bad, badSHA := photo(2, 1000)
	bad[0] ^= 1
	cases := []struct {
		name   string
		sha    string
		body   []byte
		total  int64
		status int
		typ    string
	}{
		{"content that does not hash to its address", badSHA, bad, 1000, 422, "/problems/blob-hash-mismatch"},
		{"a blob over the limit", badSHA, nil, 4<<20 + 1, 413, "/problems/body-too-large"},
		{"an address that is not a SHA-256", "not-a-hash", []byte("x"), 1, 422, "/problems/validation"},
	}
	for _, c := range cases {
		st, b, _, err := f.offA.upload(c.sha, 0, c.total, bytes.NewReader(c.body), int64(len(c.body)), c.body == nil || int64(len(c.body)) != c.total)
		if c.body == nil {
			req, _ := http.NewRequest("PUT", f.base+"/api/v1/blobs/"+c.sha, bytes.NewReader(make([]byte, 10)))
			req.Header.Set("Content-Range", fmt.Sprintf("bytes 0-9/%d", c.total))
			req.Header.Set("Authorization", "Bearer "+f.offA.token)
			resp, rerr := http.DefaultClient.Do(req)
			if rerr != nil {
				t.Fatal(rerr)
			}
			b, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			st, err = resp.StatusCode, nil
		}
		if err != nil || st != c.status || !strings.Contains(string(b), c.typ) {
			t.Errorf("%s: %d %s %v; want %d %s", c.name, st, b, err, c.status, c.typ)
		}
	}
	// After a mismatch the upload starts again at 0.
	if st, _, _ := f.offA.raw("HEAD", "/api/v1/blobs/"+badSHA, nil); st != 404 {
		t.Errorf("HEAD after a mismatch: %d, want 404", st)
	}
	if st, _, _ := f.anon.raw("GET", "/api/v1/blobs/"+sha, nil); st != 401 {
		t.Errorf("GET without a token: %d", st)
	}
	var limits map[string]int64
	if st := f.offA.do("GET", "/api/v1/sync/limits", nil, &limits); st != 200 || limits["max_blob_bytes"] != 4<<20 ||
		limits["max_mutations"] != 500 || limits["tombstone_retention_s"] != 90*24*3600 || limits["max_track_chunk_points"] != 2000 {
		t.Errorf("limits: %d %v", st, limits)
	}
}

func TestTrackChunksOverHTTP(t *testing.T) {
	f := newFixture(t)
	patrol := `{"id":"pt1","kind":"patrol","observed_at":"2020-07-04T08:00:00+08:00","unit":"town-a","officers":["off-a"],
		"started_at":"2020-07-04T08:00:00+08:00","ended_at":"2020-07-04T16:00:00+08:00","location":{"type":"Point","coordinates":[116.95,40.52]}}`
	if st := f.offA.do("POST", "/api/v1/records", patrol, nil); st != 201 {
		t.Fatalf("patrol: %d", st)
	}
	t0 := time.Date(2020, 7, 4, 0, 0, 0, 0, time.UTC).UnixMilli()
	chunk := func(k, n int) string {
		pts := make([]string, n)
		for i := range pts {
			j := (k-1)*n + i
			pts[i] = fmt.Sprintf("[%.6f,%.6f,%d]", 116.9+float64(j)*0.00005, 40.5+float64(j)*0.00005, t0+int64(j)*5000)
		}
		return `{"points":[` + strings.Join(pts, ",") + `]}`
	}
	cases := []struct {
		name   string
		c      *client
		path   string
		body   string
		status int
	}{
		{"chunk 2 first", f.offA, "/api/v1/patrols/pt1/track/2", chunk(2, 1440), 201},
		{"chunk 1", f.offA, "/api/v1/patrols/pt1/track/1", chunk(1, 1440), 201},
		{"chunk 1 again", f.offA, "/api/v1/patrols/pt1/track/1", chunk(1, 1440), 200},
		{"other fixes under chunk 1", f.offA, "/api/v1/patrols/pt1/track/1", chunk(3, 1440), 409},
		{"another team's officer", f.offB, "/api/v1/patrols/pt1/track/3", chunk(3, 1440), 404},
		{"an unknown patrol", f.offA, "/api/v1/patrols/nope/track/1", chunk(1, 10), 404},
		{"chunk 0", f.offA, "/api/v1/patrols/pt1/track/0", chunk(1, 10), 422},
		{"too many points", f.offA, "/api/v1/patrols/pt1/track/9", chunk(1, 2001), 422},
		{"swapped lat and lon", f.offA, "/api/v1/patrols/pt1/track/9", `{"points":[[40.5,116.9,0]]}`, 422},
		{"not json", f.offA, "/api/v1/patrols/pt1/track/9", `{"points":[`, 422},
	}
	for _, c := range cases {
		if st, b, _ := c.c.raw("PUT", c.path, c.body); st != c.status {
			t.Errorf("%s: %d %.200s, want %d", c.name, st, b, c.status)
		}
	}
	var track struct {
		Geometry struct {
			Coordinates [][2]float64 `json:"coordinates"`
		} `json:"geometry"`
		Properties struct {
			Times  []int64 `json:"times"`
			Chunks []int   `json:"chunks"`
		} `json:"properties"`
	}
	if st := f.office.do("GET", "/api/v1/patrols/pt1/track", nil, &track); st != 200 || len(track.Geometry.Coordinates) != 2880 ||
		fmt.Sprint(track.Properties.Chunks) != "[1 2]" || track.Properties.Times[2879] != t0+2879*5000 {
		t.Fatalf("track: %d, %d points, chunks %v", st, len(track.Geometry.Coordinates), track.Properties.Chunks)
	}
	var effort struct {
		Teams []struct {
			DistanceKM float64 `json:"distance_km"`
			Hours      float64 `json:"hours"`
		} `json:"teams"`
	}
	if st := f.office.do("GET", "/api/v1/reports/patrol-effort?from=2020-07-01&to=2020-08-01", nil, &effort); st != 200 || len(effort.Teams) != 1 ||
		effort.Teams[0].DistanceKM < 10 || effort.Teams[0].Hours < 3.9 {
		t.Errorf("effort with the chunks: %d %+v", st, effort)
	}
}

func TestSyncPullCursorPastRetention(t *testing.T) {
	f := newFixture(t, "-sync-tombstone-retention", "50ms")
	for _, id := range []string{"x1", "x2"} {
		if st := f.offA.do("POST", "/api/v1/records", rec(id, "town-a", 1), nil); st != 201 {
			t.Fatalf("record: %d", st)
		}
	}
	var first struct {
		NextCursor string `json:"next_cursor"`
	}
	f.offA.do("GET", "/api/v1/sync/pull", nil, &first)
	if st := f.offA.do("POST", "/api/v1/records/x1/void", map[string]any{"base_rev": 1, "reason": "twice"}, nil); st != 201 {
		t.Fatalf("void: %d", st)
	}
	time.Sleep(100 * time.Millisecond)
	st, b, _ := f.offA.raw("GET", "/api/v1/sync/pull?cursor="+first.NextCursor, nil)
	if st != 410 || !strings.Contains(string(b), "/problems/cursor-expired") {
		t.Errorf("a cursor from before a compacted void: %d %s", st, b)
	}
	var full struct {
		Changes []struct {
			ID string `json:"id"`
		} `json:"changes"`
	}
	if st := f.offA.do("GET", "/api/v1/sync/pull", nil, &full); st != 200 || len(full.Changes) != 1 || full.Changes[0].ID != "x2" {
		t.Errorf("a full sync after the retention: %d %+v", st, full)
	}
}
