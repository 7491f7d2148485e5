package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/baoshui/baoshui/server/blobs"
)

// Collections of blobs: the pieces of uploads in progress, and complete
// blobs in GridFS layout (bucket "fs"), readable by any GridFS reader.
//
// Cost on the embedded FerretDB v1.24.2: a find by _id is pushed down to
// SQLite but does not use the _id index (EXPLAIN: SCAN); it reads the table
// in insertion order and stops at the match, parsing each row's JSON on the
// way (binary data is base64 in it). A lookup therefore costs about 5.5 ms
// per MiB stored before the document, and a missing _id the whole
// collection; PostgreSQL does a sequential scan too.
const (
	colBlobParts = "blob_parts"
	colFSFiles   = "fs.files"
	colFSChunks  = "fs.chunks"
)

// addBlobIndexes adds to idx the indexes the GridFS specification gives its
// bucket, named as drivers name them (ensureIndexes creates them). FerretDB
// does not use them; on MongoDB a GridFS reader other than ours (which reads
// by _id) needs them.
func addBlobIndexes(idx map[string][]mongo.IndexModel) {
	idx[colFSChunks] = append(idx[colFSChunks], mongo.IndexModel{Keys: bson.D{{Key: "files_id", Value: 1}, {Key: "n", Value: 1}},
		Options: options.Index().SetUnique(true)})
	idx[colFSFiles] = append(idx[colFSFiles], mongo.IndexModel{Keys: bson.D{{Key: "filename", Value: 1}, {Key: "uploadDate", Value: 1}}})
}

// blobChunkBatch is how many GridFS chunks go into one insert: 16 chunks of
// 255 KiB is 4 MiB, far below the 48 MB message limit, within MaxBatch.
const blobChunkBatch = 16

// blobPartDoc is one piece of an upload in progress, stored as it arrived
// under {sha}:{offset}.
type blobPartDoc struct {
	ID     string    `bson:"_id"`
	SHA    string    `bson:"sha"`
	Offset int64     `bson:"offset"`
	Total  int64     `bson:"total"`
	Size   int64     `bson:"size"` // len(data), so the chain can be followed without the data
	Mime   string    `bson:"mime"`
	Data   []byte    `bson:"data"`
	At     time.Time `bson:"at"`
}

// fsChunkDoc is a GridFS chunk, stored under {sha}:{n}.
type fsChunkDoc struct {
	ID      string `bson:"_id"`
	FilesID string `bson:"files_id"`
	N       int32  `bson:"n"`
	Data    []byte `bson:"data"`
}

// fsFileDoc is a GridFS file description, stored under the sha; it is
// written after all the chunks and its existence means "complete".
type fsFileDoc struct {
	ID         string     `bson:"_id"`
	Length     int64      `bson:"length"`
	ChunkSize  int32      `bson:"chunkSize"`
	UploadDate time.Time  `bson:"uploadDate"`
	Filename   string     `bson:"filename"`
	Metadata   fsMetadata `bson:"metadata"`
}

type fsMetadata struct {
	ContentType string `bson:"content_type"`
	SHA256      string `bson:"sha256"`
}

// BlobPartID is the deterministic _id of the piece of upload sha that
// begins at offset.
func BlobPartID(sha string, offset int64) string { return fmt.Sprintf("%s:%012d", sha, offset) }

// BlobChunkID is the deterministic _id of GridFS chunk n of blob sha.
func BlobChunkID(sha string, n int64) string { return fmt.Sprintf("%s:%06d", sha, n) }

// InsertBlobPart implements blobs.Store: an insert under {sha}:{offset}; a
// piece already stored there gives an error wrapping ErrDuplicate.
func (s *Store) InsertBlobPart(ctx context.Context, p blobs.Part) error {
	d := blobPartDoc{ID: BlobPartID(p.SHA256, p.Offset), SHA: p.SHA256, Offset: p.Offset, Total: p.Total,
		Size: int64(len(p.Data)), Mime: p.Mime, Data: p.Data, At: p.At}
	if d.Data == nil {
		d.Data = []byte{}
	}
	if err := s.insertMany(ctx, colBlobParts, []any{d})[0]; err != nil {
		return fmt.Errorf("store: insert blob part %s: %w", d.ID, err)
	}
	return nil
}

// BlobPart implements blobs.Store: the piece by _id, without its data
// (projected out) unless withData. A missing piece gives ErrNotFound. The
// projection saves the transfer only: FerretDB reads and decodes the whole
// document either way.
func (s *Store) BlobPart(ctx context.Context, sha string, offset int64, withData bool) (blobs.Part, error) {
	id := BlobPartID(sha, offset)
	opts := options.FindOne()
	if !withData {
		opts.SetProjection(bson.D{{Key: "data", Value: 0}})
	}
	var d blobPartDoc
	err := classify(s.db.Collection(colBlobParts).FindOne(ctx, bson.D{{Key: "_id", Value: id}}, opts).Decode(&d))
	if err != nil {
		return blobs.Part{}, fmt.Errorf("store: blob part %s: %w", id, err)
	}
	p := blobs.Part{SHA256: d.SHA, Offset: d.Offset, Total: d.Total, Size: d.Size, Mime: d.Mime, At: d.At.UTC()}
	if withData {
		p.Data = d.Data
		p.Size = int64(len(d.Data))
	}
	return p, nil
}

// DeleteBlobParts implements blobs.Store: one delete by _id per piece, in
// bulk writes of at most MaxBatch. Pieces already gone are not an error.
func (s *Store) DeleteBlobParts(ctx context.Context, sha string, offsets []int64) error {
	c := s.db.Collection(colBlobParts)
	for start := 0; start < len(offsets); start += MaxBatch {
		var models []mongo.WriteModel
		for _, off := range offsets[start:min(start+MaxBatch, len(offsets))] {
			models = append(models, mongo.NewDeleteOneModel().SetFilter(bson.D{{Key: "_id", Value: BlobPartID(sha, off)}}))
		}
		if _, err := c.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
			return fmt.Errorf("store: delete blob parts of %s: %w", sha, classify(err))
		}
	}
	return nil
}

// PutBlob implements blobs.Store: it reads r to its end and inserts its
// GridFS chunks of info.ChunkSize bytes under {sha}:{n}, blobChunkBatch at a
// time, then the fs.files document under the sha. A chunk or file already
// stored (a retry after a crash) is kept when it holds the same bytes and
// replaced by _id otherwise, so that what a failed attempt left cannot
// outlive it. If r fails or gives other than info.Size bytes, no fs.files
// document is written.
func (s *Store) PutBlob(ctx context.Context, info blobs.Info, r io.Reader) error {
	if info.ChunkSize <= 0 {
		return fmt.Errorf("store: put blob %s: chunk size %d", info.SHA256, info.ChunkSize)
	}
	var length int64
	var n int64
	batch := make([]any, 0, blobChunkBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		errs := s.insertMany(ctx, colFSChunks, batch)
		for i, err := range errs {
			if errors.Is(err, ErrDuplicate) {
				err = s.keepOrReplaceChunk(ctx, batch[i].(fsChunkDoc))
			}
			if err != nil {
				return err
			}
		}
		batch = batch[:0]
		return nil
	}
	for {
		buf := make([]byte, info.ChunkSize)
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			length += int64(k)
			batch = append(batch, fsChunkDoc{ID: BlobChunkID(info.SHA256, n), FilesID: info.SHA256, N: int32(n), Data: buf[:k]})
			n++
			if len(batch) == blobChunkBatch {
				if err := flush(); err != nil {
					return fmt.Errorf("store: put blob %s: %w", info.SHA256, err)
				}
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("store: put blob %s: read content: %w", info.SHA256, err)
		}
	}
	if length != info.Size {
		return fmt.Errorf("store: put blob %s: content is %d bytes, not %d", info.SHA256, length, info.Size)
	}
	if err := flush(); err != nil {
		return fmt.Errorf("store: put blob %s: %w", info.SHA256, err)
	}
	f := fsFileDoc{ID: info.SHA256, Length: info.Size, ChunkSize: int32(info.ChunkSize),
		UploadDate: info.Uploaded.UTC().Truncate(time.Millisecond), Filename: info.SHA256,
		Metadata: fsMetadata{ContentType: info.Mime, SHA256: info.SHA256}}
	err := s.insertMany(ctx, colFSFiles, []any{f})[0]
	if errors.Is(err, ErrDuplicate) {
		err = nil // completed before: its chunks were just checked
	}
	if err != nil {
		return fmt.Errorf("store: put blob %s: %w", info.SHA256, err)
	}
	return nil
}

// keepOrReplaceChunk handles a chunk whose _id is taken: the stored one is
// kept when it holds the same bytes, else replaced by _id.
func (s *Store) keepOrReplaceChunk(ctx context.Context, d fsChunkDoc) error {
	var old fsChunkDoc
	if err := s.findByID(ctx, colFSChunks, d.ID, &old); err != nil && !isNotFound(err) {
		return fmt.Errorf("chunk %s: %w", d.ID, err)
	}
	if old.FilesID == d.FilesID && old.N == d.N && bytes.Equal(old.Data, d.Data) {
		return nil
	}
	_, err := s.db.Collection(colFSChunks).ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, d,
		options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("replace chunk %s: %w", d.ID, classify(err))
	}
	return nil
}

// BlobInfo implements blobs.Store: the fs.files document by _id; ErrNotFound
// until the blob is complete.
func (s *Store) BlobInfo(ctx context.Context, sha string) (blobs.Info, error) {
	var d fsFileDoc
	if err := s.findByID(ctx, colFSFiles, sha, &d); err != nil {
		return blobs.Info{}, fmt.Errorf("store: blob %s: %w", sha, err)
	}
	return blobs.Info{SHA256: d.ID, Size: d.Length, Mime: d.Metadata.ContentType, Uploaded: d.UploadDate.UTC(),
		ChunkSize: int(d.ChunkSize)}, nil
}

// BlobChunk implements blobs.Store: the data of GridFS chunk n of blob sha,
// by _id.
func (s *Store) BlobChunk(ctx context.Context, sha string, n int64) ([]byte, error) {
	var d fsChunkDoc
	if err := s.findByID(ctx, colFSChunks, BlobChunkID(sha, n), &d); err != nil {
		return nil, fmt.Errorf("store: blob %s chunk %d: %w", sha, n, err)
	}
	return d.Data, nil
}

// BlobIDs implements blobs.Store: the string _ids of fs.files, by a scan
// that projects only _id. It is for filling the set of complete blobs at
// start, never for a request.
func (s *Store) BlobIDs(ctx context.Context) ([]string, error) {
	cur, err := s.db.Collection(colFSFiles).Find(ctx, bson.D{},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetBatchSize(10000))
	if err != nil {
		return nil, fmt.Errorf("store: blob ids: %w", classify(err))
	}
	defer cur.Close(ctx)
	var out []string
	for cur.Next(ctx) {
		if id, ok := cur.Current.Lookup("_id").StringValueOK(); ok {
			out = append(out, id)
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("store: blob ids: %w", classify(err))
	}
	return out, nil
}
