package blobs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/blobs"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/store/storetest"
)

// Small pieces and chunks, so that small blobs cross many boundaries.
var small = blobs.Options{MaxBytes: 1 << 20, PartBytes: 4096, ChunkBytes: 1000}

var errCut = errors.New("connection reset by peer")

// content returns n pseudo-random bytes (distinct per seed) and their hash.
func content(seed uint64, n int) ([]byte, string) {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

var seeds atomic.Uint64

func init() { seeds.Store(uint64(time.Now().UnixNano())) }

// freshContent returns content no other test of this run uses.
func freshContent(n int) ([]byte, string) { return content(seeds.Add(1), n) }

// cutReader gives its bytes up to cut, then fails as a broken connection.
type cutReader struct {
	r    io.Reader
	left int64
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errCut
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// countingStore counts the calls that write.
type countingStore struct {
	blobs.Store
	parts, puts, deletes atomic.Int64
}

func (c *countingStore) InsertBlobPart(ctx context.Context, p blobs.Part) error {
	c.parts.Add(1)
	return c.Store.InsertBlobPart(ctx, p)
}

func (c *countingStore) PutBlob(ctx context.Context, info blobs.Info, r io.Reader) error {
	c.puts.Add(1)
	return c.Store.PutBlob(ctx, info, r)
}

func (c *countingStore) DeleteBlobParts(ctx context.Context, sha string, offsets []int64) error {
	c.deletes.Add(1)
	return c.Store.DeleteBlobParts(ctx, sha, offsets)
}

// readAll reads complete blob sha through Open.
func readAll(t testing.TB, svc *blobs.Service, sha string) []byte {
	t.Helper()
	r, _, err := svc.Open(context.Background(), sha)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return b
}

// step is one Write of an upload: the body is data[first:end], cut after
// cut bytes when cut > 0, with one byte flipped when corrupt, with extra
// bytes appended.
type step struct {
	first, end int64
	total      int64 // 0: len(data)
	cut        int64
	corrupt    bool
	extra      int

	wantErr      error // errors.Is; nil: no error
	wantOffset   int64 // the *OffsetError's offset when wantErr is errOffset
	wantReceived int64 // Status.Received
	wantComplete bool
	wantNow      bool
	// wantStat is the Received Stat then reports; -1: not found.
	wantStat int64
}

// errOffset stands for "an *OffsetError" in the table.
var errOffset = errors.New("offset error")

func (st step) run(t *testing.T, svc *blobs.Service, data []byte, sha string) {
	t.Helper()
	ctx := context.Background()
	body := append([]byte(nil), data[st.first:st.end]...)
	if st.corrupt {
		body[len(body)/2] ^= 0xff
	}
	body = append(body, bytes.Repeat([]byte{'x'}, st.extra)...)
	var r io.Reader = bytes.NewReader(body)
	if st.cut > 0 {
		r = &cutReader{r: r, left: st.cut}
	}
	total := st.total
	if total == 0 {
		total = int64(len(data))
	}
	got, now, err := svc.Write(ctx, sha, st.first, total, "image/jpeg", r)
	switch {
	case st.wantErr == errOffset:
		var oe *blobs.OffsetError
		if !errors.As(err, &oe) || oe.Offset != st.wantOffset {
			t.Fatalf("write [%d,%d): err = %v, want *OffsetError at %d", st.first, st.end, err, st.wantOffset)
		}
		if !errors.Is(err, enforcement.ErrConflict) {
			t.Errorf("an *OffsetError does not match enforcement.ErrConflict")
		}
	case st.wantErr != nil:
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("write [%d,%d): err = %v, want %v", st.first, st.end, err, st.wantErr)
		}
	case err != nil:
		t.Fatalf("write [%d,%d): %v", st.first, st.end, err)
	}
	if got.Received != st.wantReceived || got.Complete != st.wantComplete || now != st.wantNow {
		t.Fatalf("write [%d,%d): status %+v completedNow %v; want received %d complete %v completedNow %v",
			st.first, st.end, got, now, st.wantReceived, st.wantComplete, st.wantNow)
	}
	stat, err := svc.Stat(ctx, sha)
	if st.wantStat < 0 {
		if !errors.Is(err, enforcement.ErrNotFound) {
			t.Fatalf("stat after [%d,%d): %+v, %v; want not found", st.first, st.end, stat, err)
		}
		return
	}
	if err != nil || stat.Received != st.wantStat || stat.Size != int64(len(data)) || stat.Complete != st.wantComplete ||
		stat.Mime != "image/jpeg" || stat.SHA256 != sha {
		t.Fatalf("stat after [%d,%d): %+v, %v; want received %d of %d, complete %v", st.first, st.end, stat, err,
			st.wantStat, len(data), st.wantComplete)
	}
}

func TestWrite(t *testing.T) {
	const n = 10_000 // 3 parts of 4096, 10 chunks of 1000
	tests := []struct {
		name  string
		steps []step
	}{
		{"whole in one go", []step{
			{first: 0, end: n, wantReceived: n, wantComplete: true, wantNow: true, wantStat: n},
		}},
		{"in ranges", []step{
			{first: 0, end: 3000, wantReceived: 3000, wantStat: 3000},
			{first: 3000, end: 7000, wantReceived: 7000, wantStat: 7000},
			{first: 7000, end: n, wantReceived: n, wantComplete: true, wantNow: true, wantStat: n},
		}},
		{"a re-sent overlapping range", []step{
			{first: 0, end: 5000, wantReceived: 5000, wantStat: 5000},
			{first: 2000, end: 8000, wantReceived: 8000, wantStat: 8000},
			{first: 0, end: 8000, wantReceived: 8000, wantStat: 8000},
			{first: 0, end: n, wantReceived: n, wantComplete: true, wantNow: true, wantStat: n},
		}},
		{"first beyond the offset", []step{
			{first: 0, end: 3000, wantReceived: 3000, wantStat: 3000},
			{first: 4000, end: n, wantErr: errOffset, wantOffset: 3000, wantReceived: 3000, wantStat: 3000},
			{first: 3000, end: n, wantReceived: n, wantComplete: true, wantNow: true, wantStat: n},
		}},
		{"first beyond nothing stored", []step{
			{first: 10, end: n, wantErr: errOffset, wantOffset: 0, wantStat: -1},
		}},
		{"a body cut at 50%", []step{
			{first: 0, end: n, cut: n / 2, wantErr: errCut, wantReceived: n / 2, wantStat: n / 2},
			{first: n / 2, end: n, wantReceived: n, wantComplete: true, wantNow: true, wantStat: n},
		}},
		{"a body cut in its last piece, resumed from 0", []step{
			{first: 0, end: n, cut: n - 1, wantErr: errCut, wantReceived: n - 1, wantStat: n - 1},
			{first: 0, end: n, wantReceived: n, wantComplete: true, wantNow: true, wantStat: n},
		}},
		{"a body ending early", []step{
			{first: 0, end: 5000, wantReceived: 5000, wantStat: 5000},
			{first: 5000, end: 5000, wantReceived: 5000, wantStat: 5000},
			{first: 5000, end: n, wantReceived: n, wantComplete: true, wantNow: true, wantStat: n},
		}},
		{"an empty body on nothing stored", []step{
			{first: 0, end: 0, wantStat: -1},
		}},
		{"hash mismatch, in one go", []step{
			{first: 0, end: n, corrupt: true, wantErr: blobs.ErrHashMismatch, wantStat: -1},
			{first: 0, end: n, wantReceived: n, wantComplete: true, wantNow: true, wantStat: n},
		}},
		{"hash mismatch in ranges restarts at 0", []step{
			{first: 0, end: 6000, corrupt: true, wantReceived: 6000, wantStat: 6000},
			{first: 6000, end: n, wantErr: blobs.ErrHashMismatch, wantStat: -1},
			{first: 6000, end: n, wantErr: errOffset, wantOffset: 0, wantStat: -1},
			{first: 0, end: n, wantReceived: n, wantComplete: true, wantNow: true, wantStat: n},
		}},
		{"total mismatch", []step{
			{first: 0, end: 3000, wantReceived: 3000, wantStat: 3000},
			{first: 3000, end: n, total: n + 1, wantErr: blobs.ErrLengthMismatch, wantReceived: 3000, wantStat: 3000},
			{first: 3000, end: n, wantReceived: n, wantComplete: true, wantNow: true, wantStat: n},
		}},
		{"a body beyond the total", []step{
			{first: 0, end: n, extra: 1, wantErr: enforcement.ErrInvalid, wantReceived: 8192, wantStat: 8192},
			{first: 8192, end: n, wantReceived: n, wantComplete: true, wantNow: true, wantStat: n},
		}},
		{"the connection breaks right after the last byte", []step{
			{first: 0, end: n, cut: n, wantReceived: n, wantComplete: true, wantNow: true, wantStat: n},
		}},
		{"already complete", []step{
			{first: 0, end: n, wantReceived: n, wantComplete: true, wantNow: true, wantStat: n},
			{first: 0, end: n, wantReceived: n, wantComplete: true, wantStat: n},
			{first: 5000, end: n, wantReceived: n, wantComplete: true, wantStat: n},
			{first: 0, end: n, total: n + 1, wantErr: blobs.ErrLengthMismatch, wantReceived: n, wantComplete: true, wantStat: n},
		}},
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				data, sha := freshContent(n)
				svc := blobs.New(s, small)
				for _, st := range tc.steps {
					st.run(t, svc, data, sha)
				}
				if last := tc.steps[len(tc.steps)-1]; last.wantComplete {
					if got := readAll(t, svc, sha); !bytes.Equal(got, data) {
						t.Fatalf("content differs (%d bytes read)", len(got))
					}
				}
			})
		}
	})
}

func TestWriteRejects(t *testing.T) {
	_, sha := freshContent(10)
	tests := []struct {
		name      string
		sha       string
		first     int64
		total     int64
		mime      string
		wantErr   error
		wantField string
	}{
		{"upper-case sha", "A" + sha[1:], 0, 10, "", enforcement.ErrInvalid, "sha256"},
		{"short sha", sha[:63], 0, 10, "", enforcement.ErrInvalid, "sha256"},
		{"not hex", "g" + sha[1:], 0, 10, "", enforcement.ErrInvalid, "sha256"},
		{"empty sha", "", 0, 10, "", enforcement.ErrInvalid, "sha256"},
		{"zero total", sha, 0, 0, "", enforcement.ErrInvalid, "total"},
		{"negative first", sha, -1, 10, "", enforcement.ErrInvalid, "first"},
		{"first beyond the total", sha, 11, 10, "", enforcement.ErrInvalid, "first"},
		{"control character in the media type", sha, 0, 10, "image/jpeg\n", enforcement.ErrInvalid, "mime"},
		{"too large", sha, 0, small.MaxBytes + 1, "", blobs.ErrTooLarge, ""},
	}
	s := storetest.Open(t)
	svc := blobs.New(s, small)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingReader{r: bytes.NewReader(make([]byte, 10))}
			_, _, err := svc.Write(context.Background(), tc.sha, tc.first, tc.total, tc.mime, body)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !errors.Is(err, enforcement.ErrInvalid) {
				t.Errorf("err = %v does not match enforcement.ErrInvalid", err)
			}
			if tc.wantField != "" {
				var verr *enforcement.ValidationError
				if !errors.As(err, &verr) || len(verr.Fields) != 1 || verr.Fields[0].Field != tc.wantField {
					t.Errorf("err = %v, want a *ValidationError naming %s", err, tc.wantField)
				}
			}
			if body.n != 0 {
				t.Errorf("read %d bytes of a rejected body", body.n)
			}
		})
	}
	if _, err := svc.Stat(context.Background(), "nope"); !errors.Is(err, enforcement.ErrInvalid) {
		t.Errorf("stat of a bad sha: %v, want ErrInvalid", err)
	}
}

func TestErrorKinds(t *testing.T) {
	tests := []struct {
		name string
		err  error
		is   error
	}{
		{"hash mismatch is invalid input", blobs.ErrHashMismatch, enforcement.ErrInvalid},
		{"too large is invalid input", blobs.ErrTooLarge, enforcement.ErrInvalid},
		{"length mismatch is a conflict", blobs.ErrLengthMismatch, enforcement.ErrConflict},
		{"offset error is a conflict", fmt.Errorf("x: %w", &blobs.OffsetError{Offset: 3}), enforcement.ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.is) {
				t.Errorf("%v does not match %v", tc.err, tc.is)
			}
		})
	}
	if errors.Is(blobs.ErrHashMismatch, blobs.ErrTooLarge) || errors.Is(enforcement.ErrInvalid, blobs.ErrHashMismatch) {
		t.Error("the blob errors are not distinct sentinels")
	}
}

func TestAlreadyCompleteWritesNothing(t *testing.T) {
	s := storetest.Open(t)
	cs := &countingStore{Store: s}
	var clock atomic.Int64
	opt := small
	opt.Now = func() time.Time { return time.Unix(1_600_000_000+clock.Add(1), 0) }
	svc := blobs.New(cs, opt)
	ctx := context.Background()
	data, sha := freshContent(5000)
	if _, now, err := svc.Write(ctx, sha, 0, 5000, "image/png", bytes.NewReader(data)); err != nil || !now {
		t.Fatalf("first write: %v (completed now %v)", err, now)
	}
	_, info1, _ := svc.Open(ctx, sha)
	parts, puts := cs.parts.Load(), cs.puts.Load()
	// Also through a service that knows nothing yet (another instance).
	for i, svc := range []*blobs.Service{svc, blobs.New(cs, opt)} {
		body := &countingReader{r: bytes.NewReader(data)}
		st, now, err := svc.Write(ctx, sha, 0, 5000, "image/png", body)
		if err != nil || now || !st.Complete || st.Received != 5000 || st.Mime != "image/png" {
			t.Fatalf("service %d: second write: %+v, completed now %v, %v", i, st, now, err)
		}
		if body.n != 0 {
			t.Errorf("service %d: read %d bytes of the body of a complete blob", i, body.n)
		}
		if cs.parts.Load() != parts || cs.puts.Load() != puts {
			t.Errorf("service %d: wrote again (%d parts, %d puts)", i, cs.parts.Load()-parts, cs.puts.Load()-puts)
		}
		_, info2, err := svc.Open(ctx, sha)
		if err != nil || !info2.Uploaded.Equal(info1.Uploaded) {
			t.Errorf("service %d: uploaded %v, was %v (%v)", i, info2.Uploaded, info1.Uploaded, err)
		}
	}
}

func TestRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		data, sha := freshContent(9000)
		done, doneSHA := freshContent(3000)
		first := blobs.New(s, small)
		if _, _, err := first.Write(ctx, doneSHA, 0, 3000, "image/jpeg", bytes.NewReader(done)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := first.Write(ctx, sha, 0, 9000, "image/jpeg", &cutReader{r: bytes.NewReader(data), left: 6000}); !errors.Is(err, errCut) {
			t.Fatalf("cut write: %v", err)
		}

		// A new service on the same store, as after a restart.
		cs := &countingStore{Store: s}
		second := blobs.New(cs, small)
		if err := second.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if !second.Complete(ctx, doneSHA) {
			t.Error("a blob completed before the restart is not complete")
		}
		st, err := second.Stat(ctx, sha)
		if err != nil || st.Received != 6000 || st.Size != 9000 || st.Complete {
			t.Fatalf("stat after restart: %+v, %v; want 6000 of 9000", st, err)
		}
		if _, _, err := second.Write(ctx, sha, 4000, 9000, "image/jpeg", bytes.NewReader(data[4000:])); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, second, sha); !bytes.Equal(got, data) {
			t.Fatal("content differs after resuming on another service")
		}
		// The first service learns of the completion from the store.
		if st, err := first.Stat(ctx, sha); err != nil || !st.Complete {
			t.Fatalf("stat on the first service: %+v, %v", st, err)
		}
		if got := readAll(t, first, sha); !bytes.Equal(got, data) {
			t.Fatal("content differs read from the first service")
		}
	})
}

func TestOpenAndSeek(t *testing.T) {
	const n = 10_500 // 10 chunks of 1000 and one of 500
	s := storetest.Open(t)
	svc := blobs.New(s, small)
	ctx := context.Background()
	data, sha := freshContent(n)
	if _, err := svc.Stat(ctx, sha); !errors.Is(err, enforcement.ErrNotFound) {
		t.Fatalf("stat of an unknown blob: %v", err)
	}
	if _, _, err := svc.Write(ctx, sha, 0, n, "image/jpeg", bytes.NewReader(data[:5000])); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Open(ctx, sha); !errors.Is(err, enforcement.ErrNotFound) {
		t.Fatalf("open of an incomplete blob: %v, want not found", err)
	}
	if _, _, err := svc.Write(ctx, sha, 5000, n, "image/jpeg", bytes.NewReader(data[5000:])); err != nil {
		t.Fatal(err)
	}
	r, info, err := svc.Open(ctx, sha)
	if err != nil || info.Size != n || info.Mime != "image/jpeg" || info.SHA256 != sha || info.Uploaded.IsZero() {
		t.Fatalf("open: %+v, %v", info, err)
	}
	tests := []struct {
		name   string
		offset int64
		whence int
		n      int
		want   int64 // position after the seek
	}{
		{"start", 0, io.SeekStart, 10, 0},
		{"across one boundary", 995, io.SeekStart, 10, 995},
		{"across several chunks", 1999, io.SeekStart, 3002, 1999},
		{"exactly one chunk", 3000, io.SeekStart, 1000, 3000},
		{"relative", -500, io.SeekCurrent, 700, 3500},
		{"into the short last chunk", -600, io.SeekEnd, 600, n - 600},
		{"the last byte", -1, io.SeekEnd, 1, n - 1},
		{"everything", 0, io.SeekStart, n, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pos, err := r.Seek(tc.offset, tc.whence)
			if err != nil || pos != tc.want {
				t.Fatalf("seek: %d, %v; want %d", pos, err, tc.want)
			}
			buf := make([]byte, tc.n)
			if _, err := io.ReadFull(r, buf); err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(buf, data[pos:pos+int64(tc.n)]) {
				t.Fatalf("bytes [%d,%d) differ", pos, pos+int64(tc.n))
			}
		})
	}
	if k, err := r.Read(make([]byte, 1)); k != 0 || err != io.EOF {
		t.Errorf("read at the end: %d, %v; want EOF", k, err)
	}
	if _, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Error("seek before the start: no error")
	}

	// As the GET handler serves it.
	req := httptest.NewRequest(http.MethodGet, "/api/v1/blobs/"+sha, nil)
	req.Header.Set("Range", "bytes=999-2001")
	rec := httptest.NewRecorder()
	http.ServeContent(rec, req, "", info.Uploaded, r)
	if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), data[999:2002]) {
		t.Errorf("ServeContent of a range: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestConcurrentWriters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t.Run("one service", func(t *testing.T) {
			data, sha := freshContent(20_000)
			svc := blobs.New(s, small)
			var wg sync.WaitGroup
			var completed atomic.Int32
			errs := make([]error, 2)
			for i := range 2 {
				wg.Go(func() {
					st, now, err := svc.Write(ctx, sha, 0, int64(len(data)), "image/jpeg", bytes.NewReader(data))
					if now {
						completed.Add(1)
					}
					if err == nil && !st.Complete {
						err = fmt.Errorf("not complete: %+v", st)
					}
					errs[i] = err
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if completed.Load() != 1 {
				t.Errorf("%d writers completed the blob, want 1", completed.Load())
			}
			if got := readAll(t, svc, sha); !bytes.Equal(got, data) {
				t.Fatal("content differs")
			}
		})
		t.Run("two instances resuming", func(t *testing.T) {
			data, sha := freshContent(20_000)
			total := int64(len(data))
			var wg sync.WaitGroup
			var raced atomic.Int32
			errs := make([]error, 2)
			for i := range 2 {
				svc := blobs.New(s, small)
				wg.Go(func() {
					for try := 0; ; try++ {
						if try == 50 {
							errs[i] = errors.New("no progress after 50 tries")
							return
						}
						first := int64(0)
						if st, err := svc.Stat(ctx, sha); err == nil {
							if st.Complete {
								return
							}
							first = st.Received
						}
						// Send 3000 bytes at a time, as a phone with a poor link.
						end := min(first+3000, total)
						_, _, err := svc.Write(ctx, sha, first, total, "image/jpeg", bytes.NewReader(data[first:end]))
						var oe *blobs.OffsetError
						if errors.As(err, &oe) {
							raced.Add(1)
						} else if err != nil {
							errs[i] = err
							return
						}
					}
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, blobs.New(s, small), sha); !bytes.Equal(got, data) {
				t.Fatal("content differs")
			}
			t.Logf("%d writes raced with the other instance", raced.Load())
		})
	})
}

func TestPending(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	svc := blobs.New(s, small)
	other := blobs.New(s, small) // another instance
	a, shaA := freshContent(100)
	b, shaB := freshContent(100)
	_, shaC := freshContent(100)
	if _, _, err := svc.Write(ctx, shaA, 0, 100, "", bytes.NewReader(a)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Write(ctx, shaB, 0, 100, "", bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		shas []string
		want []string
	}{
		{"none", nil, nil},
		{"complete here", []string{shaA}, nil},
		{"completed by another instance", []string{shaB}, nil},
		{"unknown, repeated", []string{shaC, shaA, shaC}, []string{shaC}},
		{"not a sha", []string{"x", shaB}, []string{"x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := svc.Pending(ctx, tc.shas)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("Pending = %v, want %v", got, tc.want)
			}
		})
	}
	if st, _ := svc.Stat(ctx, shaA); st.Mime != blobs.DefaultMime {
		t.Errorf("mime without a Content-Type: %q, want %q", st.Mime, blobs.DefaultMime)
	}
}

func TestDefaultSizes(t *testing.T) {
	// 1.5 MiB with the default 1 MiB parts and 255 KiB chunks, once from
	// memory and once read back from the store (InMemoryBytes below it).
	tests := []struct {
		name string
		opt  blobs.Options
	}{
		{"completed from memory", blobs.Options{}},
		{"completed from the store", blobs.Options{InMemoryBytes: 1 << 20}},
	}
	s := storetest.Open(t)
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, sha := freshContent(3 << 19)
			svc := blobs.New(s, tc.opt)
			if _, _, err := svc.Write(ctx, sha, 0, int64(len(data)), "image/jpeg", bytes.NewReader(data[:1<<20+1])); err != nil {
				t.Fatal(err)
			}
			st, now, err := svc.Write(ctx, sha, 1<<20, int64(len(data)), "image/jpeg", bytes.NewReader(data[1<<20:]))
			if err != nil || !now || !st.Complete {
				t.Fatalf("write: %+v %v %v", st, now, err)
			}
			_, info, _ := svc.Open(ctx, sha)
			if info.ChunkSize != blobs.DefaultChunkBytes {
				t.Errorf("chunk size %d", info.ChunkSize)
			}
			if got := readAll(t, svc, sha); !bytes.Equal(got, data) {
				t.Fatal("content differs")
			}
		})
	}
}

// FuzzWrite writes a blob in random ranges, some re-sent, some beyond the
// stored offset, some cut: whatever the sequence, each write leaves the
// offset where it should be, and once complete the content is the original.
func FuzzWrite(f *testing.F) {
	f.Add(uint16(3000), []byte{0, 10, 0, 5, 0, 0, 200, 0, 30, 255})
	f.Add(uint16(1), []byte{})
	f.Add(uint16(4096), []byte{1, 0, 16, 0, 2, 128})
	f.Add(uint16(9000), []byte{3, 1, 1, 1, 5, 5, 5, 5, 9, 200, 200, 200})
	// The seeds run on the real store; fuzzing runs on a store in memory
	// with the same contract, some thousand times faster.
	var s blobs.Store
	if fl := flag.Lookup("test.fuzz"); fl != nil && fl.Value.String() != "" {
		s = newMemStore()
	} else {
		s = storetest.Open(f)
	}
	opt := blobs.Options{MaxBytes: 1 << 20, PartBytes: 512, ChunkBytes: 300}
	f.Fuzz(func(t *testing.T, size uint16, ops []byte) {
		n := int64(size)%9000 + 1
		data, sha := content(binary.LittleEndian.Uint64(sha256sum(ops, size)), int(n))
		ctx := context.Background()
		svc := blobs.New(s, opt)
		received := int64(0)
		if st, err := svc.Stat(ctx, sha); err == nil {
			if st.Complete {
				return // the same input ran before
			}
			received = st.Received
		}
		// Each op is 3 bytes: how far before the offset to begin (or, odd
		// first byte, beyond it), how long the body is, where it is cut.
		for len(ops) >= 3 {
			back, length, cut := int64(ops[0]), int64(ops[1])*37, int64(ops[2])*29
			ops = ops[3:]
			first := max(received-back*17, 0)
			beyond := back%2 == 1 && back > 200
			if beyond {
				first = received + 1
			}
			end := min(first+length, n)
			if first > n {
				first, end = n, n
			}
			var r io.Reader = bytes.NewReader(data[first:end])
			cutting := cut > 0 && cut < end-first
			if cutting {
				r = &cutReader{r: r, left: cut}
			}
			st, _, err := svc.Write(ctx, sha, first, n, "application/pdf", r)
			var oe *blobs.OffsetError
			switch {
			case first > received:
				if !errors.As(err, &oe) || oe.Offset != received {
					t.Fatalf("write at %d beyond %d: %v", first, received, err)
				}
				continue
			case cutting:
				if !errors.Is(err, errCut) && !(st.Complete && err == nil) {
					t.Fatalf("cut write: %v", err)
				}
				received = max(received, first+cut)
			case err != nil:
				t.Fatalf("write [%d,%d) at offset %d: %v", first, end, received, err)
			default:
				received = max(received, end)
			}
			if st.Received != received {
				t.Fatalf("write [%d,%d): received %d, want %d", first, end, st.Received, received)
			}
			if st.Complete != (received == n) {
				t.Fatalf("complete %v with %d of %d received", st.Complete, received, n)
			}
			if st.Complete {
				break
			}
		}
		if received < n {
			st, _, err := svc.Write(ctx, sha, received, n, "application/pdf", bytes.NewReader(data[received:]))
			if err != nil || !st.Complete {
				t.Fatalf("final write: %+v, %v", st, err)
			}
		}
		if got := readAll(t, svc, sha); !bytes.Equal(got, data) {
			t.Fatalf("content differs (%d bytes, want %d)", len(got), n)
		}
	})
}

func sha256sum(b []byte, size uint16) []byte {
	h := sha256.New()
	h.Write(b)
	h.Write([]byte{byte(size), byte(size >> 8)})
	return h.Sum(nil)
}

// memStore keeps blobs in memory under the contract of blobs.Store.
type memStore struct {
	mu     sync.Mutex
	parts  map[string]blobs.Part
	files  map[string]blobs.Info
	chunks map[string][]byte
}

func newMemStore() *memStore {
	return &memStore{parts: map[string]blobs.Part{}, files: map[string]blobs.Info{}, chunks: map[string][]byte{}}
}

func (m *memStore) InsertBlobPart(_ context.Context, p blobs.Part) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := store.BlobPartID(p.SHA256, p.Offset)
	if _, ok := m.parts[id]; ok {
		return fmt.Errorf("part %s: %w", id, enforcement.ErrExists)
	}
	p.Data = append([]byte(nil), p.Data...)
	p.Size = int64(len(p.Data))
	m.parts[id] = p
	return nil
}

func (m *memStore) BlobPart(_ context.Context, sha string, offset int64, withData bool) (blobs.Part, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.parts[store.BlobPartID(sha, offset)]
	if !ok {
		return blobs.Part{}, fmt.Errorf("part %s:%d: %w", sha, offset, enforcement.ErrNotFound)
	}
	if !withData {
		p.Data = nil
	}
	return p, nil
}

func (m *memStore) DeleteBlobParts(_ context.Context, sha string, offsets []int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, off := range offsets {
		delete(m.parts, store.BlobPartID(sha, off))
	}
	return nil
}

func (m *memStore) PutBlob(_ context.Context, info blobs.Info, r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(data)) != info.Size {
		return fmt.Errorf("%d bytes, not %d", len(data), info.Size)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for n := int64(0); n*int64(info.ChunkSize) < info.Size; n++ {
		m.chunks[store.BlobChunkID(info.SHA256, n)] = data[n*int64(info.ChunkSize) : min((n+1)*int64(info.ChunkSize), info.Size)]
	}
	if _, ok := m.files[info.SHA256]; !ok {
		m.files[info.SHA256] = info
	}
	return nil
}

func (m *memStore) BlobInfo(_ context.Context, sha string) (blobs.Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	info, ok := m.files[sha]
	if !ok {
		return blobs.Info{}, fmt.Errorf("blob %s: %w", sha, enforcement.ErrNotFound)
	}
	return info, nil
}

func (m *memStore) BlobChunk(_ context.Context, sha string, n int64) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.chunks[store.BlobChunkID(sha, n)]
	if !ok {
		return nil, fmt.Errorf("chunk %s:%d: %w", sha, n, enforcement.ErrNotFound)
	}
	return c, nil
}

func (m *memStore) BlobIDs(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for id := range m.files {
		out = append(out, id)
	}
	return out, nil
}
