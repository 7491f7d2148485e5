// Package blobs stores photos and evidence files by content: a blob is
// addressed by the lower-case hex SHA-256 of its bytes (mobile-sync/PROTOCOL.md,
// "Photos and evidence files"). An upload arrives in ranges; every piece is
// stored as it arrives, so an upload cut by a broken connection resumes at the
// stored offset. When the last byte has arrived the whole is hashed; if it
// matches its address it is written once in GridFS layout and becomes
// complete, otherwise what was received is discarded.
//
// The service keeps the set of complete blobs in memory (filled by Load at
// start) and a cache of the received offset of the uploads in progress; both
// are checked against the store by _id, so several instances may share one
// store. It never scans the store except in Load.
package blobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

// Defaults of Options.
const (
	// DefaultMaxBytes is the largest blob accepted unless Options say otherwise.
	DefaultMaxBytes = 32 << 20
	// DefaultPartBytes is the largest piece stored at once while an upload
	// is in progress.
	DefaultPartBytes = 1 << 20
	// DefaultChunkBytes is the GridFS chunk size of complete blobs: 255 KiB,
	// the GridFS default.
	DefaultChunkBytes = 255 << 10
	// DefaultMime is the media type of a blob uploaded without one.
	DefaultMime = "application/octet-stream"

	// DefaultInMemoryBytes is the largest blob completed from memory.
	DefaultInMemoryBytes = 8 << 20

	maxPieceBytes = 8 << 20 // parts and chunks stay far below the 16 MiB BSON limit
	maxMimeBytes  = 255
	// storeTimeout bounds each store operation of a write that outlives its
	// request (see Write).
	storeTimeout = 60 * time.Second
	// maxCached bounds the cache of offsets of uploads in progress.
	maxCached = 10000
)

// Errors of Write besides those of the enforcement package. Test them with
// errors.Is; ErrHashMismatch and ErrTooLarge also match enforcement.ErrInvalid,
// ErrLengthMismatch matches enforcement.ErrConflict.
var (
	// ErrHashMismatch means the complete content does not hash to its
	// address. What was received has been discarded; an upload must start
	// again at 0.
	ErrHashMismatch error = &kindError{"content does not hash to its address", enforcement.ErrInvalid}
	// ErrTooLarge means the declared total exceeds Options.MaxBytes.
	ErrTooLarge error = &kindError{"blob too large", enforcement.ErrInvalid}
	// ErrLengthMismatch means the declared total differs from the total the
	// upload began with (or the size of the complete blob).
	ErrLengthMismatch error = &kindError{"total differs from the one the upload began with", enforcement.ErrConflict}
)

// kindError is a sentinel of its own that also matches a generic kind, so
// that the HTTP error table can map it before the generic row.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// OffsetError means a write began beyond the stored offset (or raced with
// another writer of the same blob): the upload must resume at Offset. It
// matches enforcement.ErrConflict.
type OffsetError struct {
	// Offset is the number of bytes stored, where the upload resumes.
	Offset int64
}

func (e *OffsetError) Error() string { return fmt.Sprintf("upload must resume at offset %d", e.Offset) }

// Unwrap makes an *OffsetError match enforcement.ErrConflict.
func (e *OffsetError) Unwrap() error { return enforcement.ErrConflict }

// Part is one piece of an upload in progress, stored as it arrived.
type Part struct {
	SHA256 string
	Offset int64
	// Total is the size of the whole blob declared by the upload.
	Total int64
	// Size is len(Data); it is also set when the store was asked for the
	// part without its data.
	Size int64
	Mime string
	Data []byte
	At   time.Time
}

// Info describes a complete blob.
type Info struct {
	SHA256   string
	Size     int64
	Mime     string
	Uploaded time.Time
	// ChunkSize is the GridFS chunk size the blob is stored with.
	ChunkSize int
}

// Store is what the service needs of the storage adapter. Missing objects
// give errors wrapping enforcement.ErrNotFound, a part already stored under
// the same sha and offset an error wrapping enforcement.ErrExists.
type Store interface {
	// InsertBlobPart stores one piece of an upload under (sha, offset).
	InsertBlobPart(ctx context.Context, p Part) error
	// BlobPart reads the piece stored at offset, with its data only when
	// withData is set.
	BlobPart(ctx context.Context, sha string, offset int64, withData bool) (Part, error)
	// DeleteBlobParts deletes the pieces at the given offsets; missing ones
	// are not an error.
	DeleteBlobParts(ctx context.Context, sha string, offsets []int64) error
	// PutBlob writes the content, read from r to its end, as a complete blob:
	// its chunks of info.ChunkSize bytes, then its description, whose
	// existence means complete. Writing a blob already (partly) stored is
	// harmless. If r fails or does not give exactly info.Size bytes, the
	// description is not written.
	PutBlob(ctx context.Context, info Info, r io.Reader) error
	// BlobInfo reads the description of a complete blob.
	BlobInfo(ctx context.Context, sha string) (Info, error)
	// BlobChunk reads chunk n (from 0) of a complete blob.
	BlobChunk(ctx context.Context, sha string, n int64) ([]byte, error)
	// BlobIDs lists the addresses of all complete blobs. It scans; it is
	// called once at start.
	BlobIDs(ctx context.Context) ([]string, error)
}

// Options configure a Service. Zero values take the defaults.
type Options struct {
	// MaxBytes is the largest blob accepted; default 32 MiB.
	MaxBytes int64
	// PartBytes is the largest piece stored at once during an upload;
	// default 1 MiB, at most 8 MiB.
	PartBytes int
	// ChunkBytes is the GridFS chunk size complete blobs are written with;
	// default 255 KiB, at most 8 MiB.
	ChunkBytes int
	// InMemoryBytes is the largest blob whose pieces are kept in memory
	// from hashing to writing it as a complete blob; a larger one is read
	// from the store twice. Default 8 MiB.
	InMemoryBytes int64
	// Logger receives what the service cannot return (leftover pieces it
	// failed to delete); default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Writers bounds the writes that read bodies and store bytes at once;
	// the others wait (until their context ends) before reading a byte, so
	// that 200 phones uploading at the end of a shift do not hold 200
	// bodies in memory. Default 8.
	Writers int
}

// Status is what is known of a blob.
type Status struct {
	SHA256 string `json:"sha256"`
	// Size is the total size declared by the upload, or the size of the
	// complete blob.
	Size int64 `json:"size"`
	// Received is the number of bytes stored from the start; Size once
	// complete.
	Received int64 `json:"received"`
	// Complete is true once the whole blob is stored and verified.
	Complete bool   `json:"complete"`
	Mime     string `json:"-"`
}

// Service stores and serves blobs. It is safe for concurrent use.
type Service struct {
	st  Store
	opt Options

	slots chan struct{} // one per write in progress (Options.Writers)

	mu       sync.Mutex
	complete map[string]*Info // complete blobs; nil until their Info is read
	uploads  map[string]progress
	locks    map[string]*shaLock
}

// progress is how far an upload has come: its parts cover [0, received).
type progress struct {
	exists   bool
	total    int64
	received int64
	mime     string
}

type shaLock struct {
	ch   chan struct{}
	refs int
}

// New returns a service on st. Call Load before serving requests so that
// complete blobs are known without a lookup.
func New(st Store, opt Options) *Service {
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.PartBytes <= 0 {
		opt.PartBytes = DefaultPartBytes
	}
	opt.PartBytes = min(opt.PartBytes, maxPieceBytes)
	if opt.ChunkBytes <= 0 {
		opt.ChunkBytes = DefaultChunkBytes
	}
	opt.ChunkBytes = min(opt.ChunkBytes, maxPieceBytes)
	if opt.InMemoryBytes <= 0 {
		opt.InMemoryBytes = DefaultInMemoryBytes
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Writers <= 0 {
		opt.Writers = 8
	}
	return &Service{st: st, opt: opt, complete: map[string]*Info{}, uploads: map[string]progress{},
		locks: map[string]*shaLock{}, slots: make(chan struct{}, opt.Writers)}
}

// Load adds every complete blob of the store to the in-memory set. It scans
// the store's list of complete blobs once; call it at start.
func (s *Service) Load(ctx context.Context) error {
	ids, err := s.st.BlobIDs(ctx)
	if err != nil {
		return fmt.Errorf("blobs: load: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if validSHA(id) {
			if _, ok := s.complete[id]; !ok {
				s.complete[id] = nil
			}
		}
	}
	return nil
}

// Stat tells how much of blob sha is stored. It returns an error wrapping
// enforcement.ErrNotFound when nothing is, and one wrapping
// enforcement.ErrInvalid when sha is not 64 lower-case hex digits.
func (s *Service) Stat(ctx context.Context, sha string) (Status, error) {
	if err := checkSHA(sha); err != nil {
		return Status{}, fmt.Errorf("blobs: stat: %w", err)
	}
	if info, ok := s.knownComplete(ctx, sha); ok {
		return completeStatus(info), nil
	}
	// Another instance may have completed the blob: one lookup by _id.
	info, ok, err := s.lookupComplete(ctx, sha)
	if err != nil {
		return Status{}, fmt.Errorf("blobs: stat %s: %w", sha, err)
	}
	if ok {
		return completeStatus(info), nil
	}
	p, err := s.progress(ctx, sha, true)
	if err != nil {
		return Status{}, fmt.Errorf("blobs: stat %s: %w", sha, err)
	}
	if !p.exists {
		return Status{}, fmt.Errorf("blobs: stat %s: %w", sha, enforcement.ErrNotFound)
	}
	return p.status(sha), nil
}

// Write stores the bytes of blob sha that body carries, body beginning at
// offset first of a blob of total bytes with media type mime (empty:
// DefaultMime; the media type of the upload's first write is kept).
//
// The arguments are checked first: sha must be 64 lower-case hex digits,
// 0 ≤ first ≤ total and the media type at most 255 printable ASCII bytes
// (else an error wrapping enforcement.ErrInvalid and a
// *enforcement.ValidationError naming the field), total at most
// Options.MaxBytes (else ErrTooLarge) and equal to the total the upload began
// with (else ErrLengthMismatch), first not beyond the bytes stored (else an
// *OffsetError with the stored offset).
//
// If the blob is already complete, Write reads nothing and returns its
// status with completedNow false. Otherwise the bytes of body before the
// stored offset are skipped and the rest is stored in pieces of
// Options.PartBytes as they arrive. When body ends (io.EOF) before the total,
// what arrived is stored and the status says how much; when it fails, what
// arrived is stored too and the read error is returned wrapped, with the
// status. A body longer than the total is rejected (enforcement.ErrInvalid)
// before its last piece is stored. A piece that another writer stored first
// gives an *OffsetError with the offset read afresh.
//
// When the last byte has arrived the whole content is hashed: the stored
// pieces read back by _id (those this call stored are still in memory when
// the blob is at most Options.InMemoryBytes) and the last piece, which is not stored as a
// piece unless the completion fails. If it matches sha the blob is written in
// GridFS layout, becomes complete, its pieces are deleted and completedNow is
// true; otherwise the pieces are deleted and ErrHashMismatch is returned, and
// an upload must start again at 0. Pieces and the completion are stored even if
// ctx is cancelled meanwhile (the client's connection broke), each store
// operation within a minute. Writers of one blob are serialised; waiting for
// another writer ends when ctx does.
func (s *Service) Write(ctx context.Context, sha string, first, total int64, mime string, body io.Reader) (st Status, completedNow bool, err error) {
	if err := s.checkWrite(sha, first, total, mime); err != nil {
		return Status{}, false, fmt.Errorf("blobs: write: %w", err)
	}
	if mime == "" {
		mime = DefaultMime
	}
	wrap := func(err error) error { return fmt.Errorf("blobs: write %s: %w", sha, err) }
	if info, ok := s.knownComplete(ctx, sha); ok {
		if info.Size != total {
			return completeStatus(info), false, wrap(ErrLengthMismatch)
		}
		return completeStatus(info), false, nil
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	case <-ctx.Done():
		return Status{}, false, wrap(fmt.Errorf("%w: waiting for a write slot: %v", enforcement.ErrUnavailable, ctx.Err()))
	}
	unlock, err := s.lock(ctx, sha)
	if err != nil {
		return Status{}, false, wrap(err)
	}
	defer unlock()
	// From here on what arrives is stored whatever becomes of the request.
	sctx := context.WithoutCancel(ctx)

	// Another instance may have completed the blob: one lookup by _id.
	if info, ok, err := s.lookupComplete(sctx, sha); err != nil {
		return Status{}, false, wrap(err)
	} else if ok {
		if info.Size != total {
			return completeStatus(info), false, wrap(ErrLengthMismatch)
		}
		return completeStatus(info), false, nil
	}
	p, err := s.progress(sctx, sha, false)
	if err == nil && p.exists && first > p.received {
		// Another instance may have stored more than this one knows.
		p, err = s.progress(sctx, sha, true)
	}
	if err != nil {
		return Status{}, false, wrap(err)
	}
	if !p.exists {
		p = progress{total: total, mime: mime}
	}
	if p.total != total {
		return p.status(sha), false, wrap(ErrLengthMismatch)
	}
	if first > p.received {
		return p.status(sha), false, wrap(&OffsetError{Offset: p.received})
	}

	if skip := p.received - first; skip > 0 {
		if _, err := io.CopyN(io.Discard, body, skip); err != nil {
			if errors.Is(err, io.EOF) {
				return p.status(sha), false, nil
			}
			return p.status(sha), false, wrap(fmt.Errorf("read body: %w", err))
		}
	}
	tooLong := func() error {
		return wrap(fmt.Errorf("%w: %w", enforcement.ErrInvalid,
			fieldError("body", "body goes beyond the total of %d bytes", total)))
	}
	// The parts this call stores are kept for the completion when the blob
	// is small enough; the last one is not stored as a part at all unless
	// the completion fails.
	var mem map[int64][]byte
	if total <= s.opt.InMemoryBytes {
		mem = map[int64][]byte{}
	}
	var tail []byte
	for p.received < total {
		want := min(int64(s.opt.PartBytes), total-p.received)
		buf := make([]byte, want)
		n, rerr := fill(body, buf)
		buf = buf[:n]
		if p.received+int64(n) == total {
			// Every byte has arrived (how the body ended then does not
			// matter), and there must be no more.
			if rerr == nil && bodyGoesOn(body) {
				return p.status(sha), false, tooLong()
			}
			tail = buf
			break
		}
		if n > 0 {
			off := p.received
			if err := s.insertPart(sctx, sha, &p, buf); err != nil {
				return p.status(sha), false, wrap(err)
			}
			if mem != nil {
				mem[off] = buf
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return p.status(sha), false, nil
			}
			return p.status(sha), false, wrap(fmt.Errorf("read body at offset %d: %w", p.received, rerr))
		}
	}
	if tail == nil && bodyGoesOn(body) {
		return p.status(sha), false, tooLong()
	}

	info, now, err := s.finish(sctx, sha, p, mem, tail)
	if err != nil {
		var oe *OffsetError
		switch {
		case errors.Is(err, ErrHashMismatch):
			return Status{SHA256: sha, Size: total, Mime: p.mime}, false, wrap(err)
		case errors.As(err, &oe):
			return Status{SHA256: sha, Size: total, Received: oe.Offset, Mime: p.mime}, false, wrap(err)
		}
		// The store failed: keep the last bytes as a part, so that the
		// next write only completes.
		if len(tail) > 0 && s.insertPart(sctx, sha, &p, tail) != nil {
			s.forget(sha)
		}
		return p.status(sha), false, wrap(err)
	}
	return completeStatus(info), now, nil
}

// bodyGoesOn tells whether body has a byte more to give. A read error
// counts as no: all the bytes the write needs have arrived.
func bodyGoesOn(body io.Reader) bool {
	var one [1]byte
	n, _ := fill(body, one[:])
	return n > 0
}

// Open returns a reader of the content of complete blob sha, which loads one
// chunk at a time from the store as it is read (for http.ServeContent), and
// the blob's description. It returns an error wrapping enforcement.ErrNotFound
// until the blob is complete. The reader uses ctx for its store reads.
func (s *Service) Open(ctx context.Context, sha string) (io.ReadSeeker, Info, error) {
	if err := checkSHA(sha); err != nil {
		return nil, Info{}, fmt.Errorf("blobs: open: %w", err)
	}
	info, ok := s.knownComplete(ctx, sha)
	if !ok {
		var err error
		info, ok, err = s.lookupComplete(ctx, sha)
		if err != nil {
			return nil, Info{}, fmt.Errorf("blobs: open %s: %w", sha, err)
		}
		if !ok {
			return nil, Info{}, fmt.Errorf("blobs: open %s: %w", sha, enforcement.ErrNotFound)
		}
	}
	if info.ChunkSize <= 0 {
		return nil, Info{}, fmt.Errorf("blobs: open %s: stored with chunk size %d", sha, info.ChunkSize)
	}
	return &reader{ctx: ctx, st: s.st, info: info, cur: -1}, info, nil
}

// Complete tells whether blob sha is complete: from the in-memory set, or
// for a blob not in it by one lookup by _id (another instance may have
// completed it). A store failure counts as not complete.
func (s *Service) Complete(ctx context.Context, sha string) bool {
	if !validSHA(sha) {
		return false
	}
	s.mu.Lock()
	_, ok := s.complete[sha]
	s.mu.Unlock()
	if ok {
		return true
	}
	_, ok, _ = s.lookupComplete(ctx, sha)
	return ok
}

// Pending returns, in order and without repeats, those of shas that are not
// complete: a record's photos_pending.
func (s *Service) Pending(ctx context.Context, shas []string) []string {
	var out []string
	seen := make(map[string]bool, len(shas))
	for _, sha := range shas {
		if seen[sha] {
			continue
		}
		seen[sha] = true
		if !s.Complete(ctx, sha) {
			out = append(out, sha)
		}
	}
	return out
}

// knownComplete reports a blob of the in-memory set, reading its Info by
// _id the first time it is asked for. A failed read counts as unknown.
func (s *Service) knownComplete(ctx context.Context, sha string) (Info, bool) {
	s.mu.Lock()
	info, ok := s.complete[sha]
	s.mu.Unlock()
	if !ok {
		return Info{}, false
	}
	if info != nil {
		return *info, true
	}
	got, ok, err := s.lookupComplete(ctx, sha)
	if err != nil || !ok {
		return Info{}, false
	}
	return got, true
}

// lookupComplete reads the description of a complete blob by _id and adds
// it to the set.
func (s *Service) lookupComplete(ctx context.Context, sha string) (Info, bool, error) {
	info, err := s.st.BlobInfo(ctx, sha)
	if errors.Is(err, enforcement.ErrNotFound) {
		return Info{}, false, nil
	}
	if err != nil {
		return Info{}, false, err
	}
	s.markComplete(info)
	return info, true, nil
}

func (s *Service) markComplete(info Info) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.complete[info.SHA256] = &info
	delete(s.uploads, info.SHA256)
}

// progress finds how far the upload of sha has come by following its
// parts by _id: offset 0, then offset+size… until one is missing. A cached
// position is trusted: within one process it is exact, since an upload
// changes only under its lock here. With onward the walk goes on from it,
// since another instance may have stored more; without, the cached position
// is returned with no lookup (a write then finds out from the duplicate _id
// of its first part, see insertPart). Should another instance discard the
// parts (a hash mismatch there), the completion, which reads the chain from
// 0, finds out and answers an *OffsetError with the offset read afresh.
func (s *Service) progress(ctx context.Context, sha string, onward bool) (progress, error) {
	s.mu.Lock()
	p, ok := s.uploads[sha]
	s.mu.Unlock()
	if ok && !onward {
		return p, nil
	}
	if !ok {
		first, err := s.st.BlobPart(ctx, sha, 0, false)
		if errors.Is(err, enforcement.ErrNotFound) {
			return progress{}, nil
		}
		if err != nil {
			return progress{}, err
		}
		p = progress{exists: true, total: first.Total, received: first.Size, mime: first.Mime}
	}
	for p.received < p.total {
		hdr, err := s.st.BlobPart(ctx, sha, p.received, false)
		if errors.Is(err, enforcement.ErrNotFound) {
			break
		}
		if err != nil {
			return progress{}, err
		}
		if hdr.Size <= 0 { // never written so; stop rather than loop
			break
		}
		p.received += hdr.Size
	}
	s.remember(sha, p)
	return p, nil
}

func (s *Service) remember(sha string, p progress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.uploads[sha]; !ok && len(s.uploads) >= maxCached {
		clear(s.uploads) // a cache: the chain walk rebuilds any entry
	}
	s.uploads[sha] = p
}

func (s *Service) forget(sha string) {
	s.mu.Lock()
	delete(s.uploads, sha)
	s.mu.Unlock()
}

func (p progress) status(sha string) Status {
	if !p.exists {
		return Status{SHA256: sha, Size: p.total, Mime: p.mime}
	}
	return Status{SHA256: sha, Size: p.total, Received: min(p.received, p.total), Mime: p.mime}
}

func completeStatus(info Info) Status {
	return Status{SHA256: info.SHA256, Size: info.Size, Received: info.Size, Complete: true, Mime: info.Mime}
}

// insertPart stores data as the part at p.received and advances p. A part
// already stored there (another writer) gives an *OffsetError with the
// offset read afresh.
func (s *Service) insertPart(ctx context.Context, sha string, p *progress, data []byte) error {
	part := Part{SHA256: sha, Offset: p.received, Total: p.total, Size: int64(len(data)), Mime: p.mime, Data: data,
		At: s.opt.Now().UTC()}
	ictx, cancel := context.WithTimeout(ctx, storeTimeout)
	err := s.st.InsertBlobPart(ictx, part)
	cancel()
	if errors.Is(err, enforcement.ErrExists) {
		s.forget(sha)
		fresh, ferr := s.progress(ctx, sha, true)
		if ferr != nil {
			return fmt.Errorf("part at %d stored by another writer; reading the offset: %w", p.received, ferr)
		}
		*p = fresh
		return &OffsetError{Offset: fresh.received}
	}
	if err != nil {
		s.forget(sha)
		return fmt.Errorf("store part at %d: %w", p.received, err)
	}
	p.exists = true
	p.received += int64(len(data))
	s.remember(sha, *p)
	return nil
}

// finish verifies the upload of sha, whose parts cover [0, p.received) and
// tail the rest, and writes it as a complete blob. Parts in mem (by offset)
// are not read again. now is false when another writer completed the blob
// meanwhile.
func (s *Service) finish(ctx context.Context, sha string, p progress, mem map[int64][]byte, tail []byte) (info Info, now bool, err error) {
	h := sha256.New()
	var offsets []int64
	var kept [][]byte
	keep := p.total <= s.opt.InMemoryBytes
	off := int64(0)
	for off < p.received {
		data, ok := mem[off]
		if !ok {
			rctx, cancel := context.WithTimeout(ctx, storeTimeout)
			part, err := s.st.BlobPart(rctx, sha, off, true)
			cancel()
			if errors.Is(err, enforcement.ErrNotFound) {
				return s.vanished(ctx, sha)
			}
			if err != nil {
				return Info{}, false, fmt.Errorf("read part at %d: %w", off, err)
			}
			if len(part.Data) == 0 {
				break
			}
			data = part.Data
		}
		h.Write(data)
		offsets = append(offsets, off)
		if keep {
			kept = append(kept, data)
		}
		off += int64(len(data))
	}
	h.Write(tail)
	if keep {
		kept = append(kept, tail)
	}
	if off != p.received || off+int64(len(tail)) != p.total || hex.EncodeToString(h.Sum(nil)) != sha {
		s.forget(sha)
		dctx, cancel := context.WithTimeout(ctx, storeTimeout)
		defer cancel()
		if err := s.st.DeleteBlobParts(dctx, sha, offsets); err != nil {
			return Info{}, false, fmt.Errorf("%w; deleting what was received: %w", ErrHashMismatch, err)
		}
		return Info{}, false, ErrHashMismatch
	}

	info = Info{SHA256: sha, Size: p.total, Mime: p.mime, Uploaded: s.opt.Now().UTC().Truncate(time.Millisecond),
		ChunkSize: s.opt.ChunkBytes}
	var content io.Reader
	if keep {
		rs := make([]io.Reader, len(kept))
		for i, b := range kept {
			rs[i] = bytesReader(b)
		}
		content = io.MultiReader(rs...)
	} else {
		// Read again, and checked again: nothing unverified is ever
		// written as a chunk.
		content = &verifyingReader{r: io.MultiReader(&partsReader{ctx: ctx, st: s.st, sha: sha, total: p.received},
			bytesReader(tail)), h: sha256.New(), want: sha}
	}
	wctx, cancel := context.WithTimeout(ctx, storeTimeout)
	err = s.st.PutBlob(wctx, info, content)
	cancel()
	if err != nil {
		return Info{}, false, fmt.Errorf("write complete blob: %w", err)
	}
	s.markComplete(info)
	if len(offsets) > 0 {
		dctx, cancel := context.WithTimeout(ctx, storeTimeout)
		defer cancel()
		if err := s.st.DeleteBlobParts(dctx, sha, offsets); err != nil {
			s.opt.Logger.Warn("blobs: complete, but its parts were not all deleted", "sha256", sha, "err", err)
		}
	}
	return info, true, nil
}

// vanished handles parts that disappeared during finish: another writer
// completed the blob or discarded the upload.
func (s *Service) vanished(ctx context.Context, sha string) (Info, bool, error) {
	info, ok, err := s.lookupComplete(ctx, sha)
	if err != nil {
		return Info{}, false, err
	}
	if ok {
		return info, false, nil
	}
	s.forget(sha)
	p, err := s.progress(ctx, sha, true)
	if err != nil {
		return Info{}, false, err
	}
	return Info{}, false, &OffsetError{Offset: p.received}
}

// lock serialises the writers of one sha in this process.
func (s *Service) lock(ctx context.Context, sha string) (func(), error) {
	s.mu.Lock()
	l := s.locks[sha]
	if l == nil {
		l = &shaLock{ch: make(chan struct{}, 1)}
		s.locks[sha] = l
	}
	l.refs++
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(s.locks, sha)
		}
		s.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

func (s *Service) checkWrite(sha string, first, total int64, mime string) error {
	if err := checkSHA(sha); err != nil {
		return err
	}
	verr := &enforcement.ValidationError{}
	if total < 1 {
		verr.Fields = append(verr.Fields, enforcement.FieldError{Field: "total", Detail: fmt.Sprintf("must be at least 1, not %d", total)})
	} else if total > s.opt.MaxBytes {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, total, s.opt.MaxBytes)
	}
	if first < 0 || (total >= 1 && first > total) {
		verr.Fields = append(verr.Fields, enforcement.FieldError{Field: "first", Detail: fmt.Sprintf("must be between 0 and the total, not %d", first)})
	}
	if !validMime(mime) {
		verr.Fields = append(verr.Fields, enforcement.FieldError{Field: "mime", Detail: "must be at most 255 printable ASCII bytes"})
	}
	if len(verr.Fields) > 0 {
		return fmt.Errorf("%w: %w", enforcement.ErrInvalid, verr)
	}
	return nil
}

func checkSHA(sha string) error {
	if validSHA(sha) {
		return nil
	}
	return fmt.Errorf("%w: %w", enforcement.ErrInvalid,
		fieldError("sha256", "must be the SHA-256 of the content as 64 lower-case hex digits"))
}

func fieldError(field, format string, args ...any) *enforcement.ValidationError {
	return &enforcement.ValidationError{Fields: []enforcement.FieldError{{Field: field, Detail: fmt.Sprintf(format, args...)}}}
}

func validSHA(sha string) bool {
	if len(sha) != 64 {
		return false
	}
	for i := 0; i < len(sha); i++ {
		c := sha[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func validMime(m string) bool {
	if len(m) > maxMimeBytes {
		return false
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 0x20 || m[i] > 0x7e {
			return false
		}
	}
	return true
}

// fill reads until buf is full or r fails; a read error (io.EOF included)
// comes with the count of bytes read before it.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

type sliceReader struct{ b []byte }

func bytesReader(b []byte) io.Reader { return &sliceReader{b} }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// partsReader reads the parts of an upload in order, by _id.
type partsReader struct {
	ctx   context.Context
	st    Store
	sha   string
	off   int64
	total int64
	buf   []byte
}

func (r *partsReader) Read(p []byte) (int, error) {
	if len(r.buf) == 0 {
		if r.off >= r.total {
			return 0, io.EOF
		}
		ctx, cancel := context.WithTimeout(r.ctx, storeTimeout)
		part, err := r.st.BlobPart(ctx, r.sha, r.off, true)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("read part at %d: %w", r.off, err)
		}
		if len(part.Data) == 0 {
			return 0, fmt.Errorf("read part at %d: empty", r.off)
		}
		r.buf = part.Data
		r.off += int64(len(part.Data))
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// verifyingReader fails instead of ending when what it read does not hash
// to want.
type verifyingReader struct {
	r    io.Reader
	h    hash.Hash
	want string
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if errors.Is(err, io.EOF) && hex.EncodeToString(v.h.Sum(nil)) != v.want {
		return n, ErrHashMismatch
	}
	return n, err
}

// reader reads a complete blob chunk by chunk, each loaded by _id when
// first needed.
type reader struct {
	ctx  context.Context
	st   Store
	info Info
	pos  int64
	cur  int64 // index of the chunk in buf, -1 for none
	buf  []byte
}

// Read implements io.Reader.
func (r *reader) Read(p []byte) (int, error) {
	if r.pos >= r.info.Size {
		return 0, io.EOF
	}
	cs := int64(r.info.ChunkSize)
	n := r.pos / cs
	if n != r.cur {
		data, err := r.st.BlobChunk(r.ctx, r.info.SHA256, n)
		if err != nil {
			return 0, fmt.Errorf("blobs: read %s chunk %d: %w", r.info.SHA256, n, err)
		}
		if want := min(cs, r.info.Size-n*cs); int64(len(data)) != want {
			return 0, fmt.Errorf("blobs: read %s chunk %d: %d bytes, want %d", r.info.SHA256, n, len(data), want)
		}
		r.cur, r.buf = n, data
	}
	k := copy(p, r.buf[r.pos-n*cs:])
	r.pos += int64(k)
	return k, nil
}

// Seek implements io.Seeker.
func (r *reader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.info.Size + offset
	default:
		return 0, fmt.Errorf("blobs: seek: invalid whence %d", whence)
	}
	if abs < 0 {
		return 0, fmt.Errorf("blobs: seek: negative position %d", abs)
	}
	r.pos = abs
	return abs, nil
}
