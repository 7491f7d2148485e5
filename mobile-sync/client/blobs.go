package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
)

// AttachPhoto copies the photo at path into the outbox's blob directory,
// queues its upload and returns how a record names it; put the Photo in the
// record's Photos. The copy is what is uploaded, so the original may be
// moved or deleted at once. The file must be an image (by its extension or
// its first bytes), not empty, and no larger than the server's
// max_blob_bytes. Attaching the same content twice queues it once.
func (c *Client) AttachPhoto(path string) (Photo, error) {
	ph, err := c.attach(path)
	if err != nil {
		return Photo{}, fmt.Errorf("client: attach %s: %w", path, err)
	}
	return ph, nil
}

func (c *Client) attach(path string) (Photo, error) {
	src, err := os.Open(path)
	if err != nil {
		return Photo{}, err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return Photo{}, err
	}
	if !st.Mode().IsRegular() || st.Size() == 0 {
		return Photo{}, fmt.Errorf("%w: not a non-empty file", ErrInvalid)
	}
	if lim := c.Limits(); st.Size() > lim.MaxBlobBytes {
		return Photo{}, fmt.Errorf("%w: %d bytes; the server accepts at most %d", ErrInvalid, st.Size(), lim.MaxBlobBytes)
	}
	mt, err := photoType(path, src)
	if err != nil {
		return Photo{}, err
	}
	if err := os.MkdirAll(c.blobDir, 0o700); err != nil {
		return Photo{}, err
	}
	tmp, err := os.CreateTemp(c.blobDir, "incoming-*")
	if err != nil {
		return Photo{}, err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err == nil {
		// The copy must survive a crash once the queue names it.
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Photo{}, err
	}
	ph := Photo{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n, MIME: mt}
	dst := filepath.Join(c.blobDir, ph.SHA256)
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return Photo{}, err
	}
	err = c.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bBlobs).Get([]byte(ph.SHA256)) != nil {
			return nil
		}
		return putJSON(tx, bBlobs, []byte(ph.SHA256), PendingBlob{Photo: ph, Path: dst, QueuedAt: c.now().UTC()})
	})
	return ph, err
}

// photoType returns the image media type of a file, by its extension or
// else by sniffing its first bytes; anything but image/* is refused.
func photoType(path string, f *os.File) (string, error) {
	mt := mime.TypeByExtension(strings.ToLower(filepath.Ext(path)))
	if mt != "" {
		mt, _, _ = mime.ParseMediaType(mt)
	}
	if !strings.HasPrefix(mt, "image/") {
		head := make([]byte, 512)
		n, _ := f.ReadAt(head, 0)
		mt, _, _ = mime.ParseMediaType(http.DetectContentType(head[:n]))
	}
	if !strings.HasPrefix(mt, "image/") {
		return "", fmt.Errorf("%w: not an image (%s)", ErrInvalid, mt)
	}
	return mt, nil
}

// uploadBlobs uploads every pending blob, resuming each where the server's
// HEAD says it stopped. A blob the server refuses is kept aside; a failure
// that stops the sync (see stopsSync) stops the uploads (what arrived stays
// on the server); any other failure leaves that blob queued, the others go
// on, and the failures are returned together.
func (c *Client) uploadBlobs(ctx context.Context, lim mobilesync.Limits, rep *Report) error {
	q, err := c.Queue()
	if err != nil {
		return err
	}
	var failed []error
	for _, b := range q.Blobs {
		sent, refusal, err := c.uploadBlob(ctx, b, lim)
		rep.BlobBytes += sent
		if err != nil {
			err = fmt.Errorf("blob %s: %w", b.SHA256, err)
			if stopsSync(err) {
				return err
			}
			// One blob the server cannot take now must not hold back the
			// others, nor the pull.
			failed = append(failed, err)
			continue
		}
		err = c.db.Update(func(tx *bolt.Tx) error {
			if err := tx.Bucket(bBlobs).Delete([]byte(b.SHA256)); err != nil {
				return err
			}
			if refusal != nil {
				bb := b
				return putAside(tx, Aside{What: AsideBlob, Blob: &bb, Status: mobilesync.StatusRejected, Problem: refusal, At: c.now().UTC()})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("blob %s: %w", b.SHA256, err)
		}
		if refusal != nil {
			rep.BlobsKeptAside++
			continue
		}
		_ = os.Remove(b.Path)
		rep.BlobsUploaded++
	}
	return errors.Join(failed...)
}

// uploadBlob sends one blob from the offset the server reports, in parts of
// lim.BlobPartBytes. It returns the bytes sent, and a problem when the
// server refuses the blob for good (it is then kept aside).
func (c *Client) uploadBlob(ctx context.Context, b PendingBlob, lim mobilesync.Limits) (int64, *Problem, error) {
	offset, complete, err := c.headBlob(ctx, b.SHA256)
	if err != nil || complete {
		return 0, nil, err
	}
	f, err := os.Open(b.Path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, &Problem{Type: "about:blank", Detail: "the local copy " + b.Path + " is gone"}, nil
	}
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	var sent int64
	restarted := false
	for {
		n := min(lim.BlobPartBytes, b.Size-offset)
		if n <= 0 {
			return sent, nil, fmt.Errorf("the server has all %d bytes but does not call the blob complete", b.Size)
		}
		part := make([]byte, n)
		if _, err := f.ReadAt(part, offset); err != nil {
			return sent, nil, fmt.Errorf("reading %s: %w", b.Path, err)
		}
		resp, err := c.do(ctx, request{method: http.MethodPut, path: "/api/v1/blobs/" + b.SHA256, body: part,
			contentType: b.MIME, auth: true, header: map[string]string{
				"Content-Range": fmt.Sprintf("bytes %d-%d/%d", offset, offset+n-1, b.Size)}})
		if err != nil {
			return sent, nil, err
		}
		p := resp.problem()
		switch {
		case resp.status == http.StatusOK || resp.status == http.StatusCreated:
			sent += n
			var st mobilesync.BlobStatus
			if err := resp.decode(&st); err != nil {
				return sent, nil, err
			}
			if st.Complete {
				return sent, nil, nil
			}
			if st.Received <= offset {
				return sent, nil, fmt.Errorf("the server stored nothing of bytes %d-%d", offset, offset+n-1)
			}
			offset = st.Received
		case resp.status == http.StatusConflict && p.HasType(ProblemUploadOffset):
			if p.UploadOffset != nil {
				offset = *p.UploadOffset
			} else if offset, complete, err = c.headBlob(ctx, b.SHA256); err != nil || complete {
				return sent, nil, err
			}
		case resp.status == http.StatusUnprocessableEntity && p.HasType(ProblemHashMismatch):
			if restarted {
				return sent, p, nil
			}
			if ok, err := fileHashes(b.Path, b.SHA256); err != nil || !ok {
				p.Detail = "the local copy no longer hashes to its address: " + p.Detail
				return sent, p, err
			}
			// The server discarded what it had; start again, once.
			restarted, offset = true, 0
		case resp.status == http.StatusRequestEntityTooLarge, resp.status == http.StatusConflict,
			resp.status == http.StatusUnprocessableEntity, resp.status == http.StatusBadRequest:
			return sent, p, nil
		default:
			return sent, nil, p
		}
	}
}

// headBlob asks how much of a blob the server holds: 404 is nothing yet.
func (c *Client) headBlob(ctx context.Context, sha string) (offset int64, complete bool, err error) {
	resp, err := c.do(ctx, request{method: http.MethodHead, path: "/api/v1/blobs/" + sha, auth: true})
	if err != nil {
		return 0, false, err
	}
	switch resp.status {
	case http.StatusNotFound:
		return 0, false, nil
	case http.StatusOK:
	default:
		return 0, false, &Problem{Type: "about:blank", Status: resp.status, Detail: "HEAD of the blob answered " + http.StatusText(resp.status)}
	}
	if v := resp.header.Get("Upload-Offset"); v != "" {
		if offset, err = strconv.ParseInt(v, 10, 64); err != nil || offset < 0 {
			return 0, false, fmt.Errorf("HEAD of the blob: Upload-Offset %q is not a byte count", v)
		}
	}
	return offset, resp.header.Get("Upload-Complete") == "?1", nil
}

// fileHashes reports whether the file at path hashes to sha.
func fileHashes(path, sha string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == sha, nil
}
