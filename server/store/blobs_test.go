package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/gridfs"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/baoshui/baoshui/server/blobs"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/store/storetest"
)

var _ blobs.Store = (*store.Store)(nil)

func randomBlob(t testing.TB, n int) ([]byte, string) {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

// rawDB connects the driver directly to the store's database, as a GridFS
// reader other than ours would.
func rawDB(t testing.TB, s *store.Store) *mongo.Database {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := mongo.Connect(ctx, options.Client().ApplyURI(s.URI()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c.Database(s.DatabaseName())
}

func TestBlobParts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		data, sha := randomBlob(t, 1<<20)
		at := time.Date(2020, 7, 4, 7, 20, 0, 123e6, time.UTC)
		p0 := blobs.Part{SHA256: sha, Offset: 0, Total: 3 << 20, Mime: "image/jpeg", Data: data, At: at}
		p1 := blobs.Part{SHA256: sha, Offset: 1 << 20, Total: 3 << 20, Mime: "image/jpeg", Data: data[:1000], At: at}
		for _, p := range []blobs.Part{p0, p1} {
			if err := s.InsertBlobPart(ctx, p); err != nil {
				t.Fatalf("insert part at %d: %v", p.Offset, err)
			}
		}
		if err := s.InsertBlobPart(ctx, p0); !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("second insert at 0: got %v, want ErrDuplicate", err)
		}
		tests := []struct {
			name     string
			offset   int64
			withData bool
			want     blobs.Part
			wantErr  error
		}{
			{"first with data", 0, true, blobs.Part{SHA256: sha, Total: 3 << 20, Size: 1 << 20, Mime: "image/jpeg", Data: data, At: at}, nil},
			{"first header only", 0, false, blobs.Part{SHA256: sha, Total: 3 << 20, Size: 1 << 20, Mime: "image/jpeg", At: at}, nil},
			{"second header only", 1 << 20, false, blobs.Part{SHA256: sha, Offset: 1 << 20, Total: 3 << 20, Size: 1000, Mime: "image/jpeg", At: at}, nil},
			{"missing", 1<<20 + 1000, false, blobs.Part{}, store.ErrNotFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.BlobPart(ctx, sha, tc.offset, tc.withData)
				if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if got.SHA256 != tc.want.SHA256 || got.Offset != tc.want.Offset || got.Total != tc.want.Total ||
					got.Size != tc.want.Size || got.Mime != tc.want.Mime || !got.At.Equal(tc.want.At) ||
					!bytes.Equal(got.Data, tc.want.Data) || (got.Data == nil) != (tc.want.Data == nil) {
					t.Errorf("got %+v (data %d bytes), want %+v (data %d bytes)", got.Offset, len(got.Data), tc.want.Offset, len(tc.want.Data))
				}
			})
		}
		if err := s.DeleteBlobParts(ctx, sha, []int64{0, 1 << 20, 5 << 20}); err != nil {
			t.Fatalf("delete parts: %v", err)
		}
		for _, off := range []int64{0, 1 << 20} {
			if _, err := s.BlobPart(ctx, sha, off, false); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("part at %d after delete: %v, want ErrNotFound", off, err)
			}
		}
	})
}

func TestPutBlobIsGridFS(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		db := rawDB(t, s)
		ensureGridFSIndexes(t, db)
		bucket, err := gridfs.NewBucket(db)
		if err != nil {
			t.Fatal(err)
		}
		uploaded := time.Date(2020, 7, 4, 7, 20, 0, 123e6, time.UTC)
		tests := []struct {
			name  string
			size  int
			chunk int
		}{
			{"one byte", 1, blobs.DefaultChunkBytes},
			{"exactly one chunk", blobs.DefaultChunkBytes, blobs.DefaultChunkBytes},
			{"three chunks and a bit", 3*blobs.DefaultChunkBytes + 17, blobs.DefaultChunkBytes},
			{"more chunks than one insert", 40*1000 + 1, 1000},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				data, sha := randomBlob(t, tc.size)
				info := blobs.Info{SHA256: sha, Size: int64(tc.size), Mime: "image/png", Uploaded: uploaded, ChunkSize: tc.chunk}
				if err := s.PutBlob(ctx, info, bytes.NewReader(data)); err != nil {
					t.Fatalf("put: %v", err)
				}
				got, err := s.BlobInfo(ctx, sha)
				if err != nil || got.SHA256 != info.SHA256 || got.Size != info.Size || got.Mime != info.Mime ||
					!got.Uploaded.Equal(info.Uploaded) || got.ChunkSize != info.ChunkSize {
					t.Fatalf("info = %+v, %v; want %+v", got, err, info)
				}
				var buf bytes.Buffer
				if _, err := bucket.DownloadToStream(sha, &buf); err != nil {
					t.Fatalf("driver's GridFS download by id: %v", err)
				}
				if !bytes.Equal(buf.Bytes(), data) {
					t.Fatalf("driver's GridFS download: %d bytes differ from the %d put", buf.Len(), len(data))
				}
				var joined []byte
				for n := int64(0); int64(len(joined)) < info.Size; n++ {
					c, err := s.BlobChunk(ctx, sha, n)
					if err != nil {
						t.Fatalf("chunk %d: %v", n, err)
					}
					joined = append(joined, c...)
				}
				if !bytes.Equal(joined, data) {
					t.Fatal("chunks by _id differ from the content")
				}
				// A second put (a retry after a crash) changes nothing.
				if err := s.PutBlob(ctx, info, bytes.NewReader(data)); err != nil {
					t.Fatalf("second put: %v", err)
				}
			})
		}
		ids, err := s.BlobIDs(ctx)
		if err != nil || len(ids) != len(tests) {
			t.Fatalf("BlobIDs = %d ids, %v; want %d", len(ids), err, len(tests))
		}
	})
}

func TestPutBlobRepairsAndRefuses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		db := rawDB(t, s)
		data, sha := randomBlob(t, 2*blobs.DefaultChunkBytes+5)
		info := blobs.Info{SHA256: sha, Size: int64(len(data)), Mime: "image/jpeg", Uploaded: time.Now(), ChunkSize: blobs.DefaultChunkBytes}

		// An attempt whose content stops short writes no fs.files document.
		if err := s.PutBlob(ctx, info, bytes.NewReader(data[:len(data)-1])); err == nil {
			t.Fatal("short content: no error")
		}
		if _, err := s.BlobInfo(ctx, sha); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after a short put: %v, want ErrNotFound", err)
		}
		// A failing reader neither.
		boom := errors.New("boom")
		if err := s.PutBlob(ctx, info, io.MultiReader(bytes.NewReader(data[:100]), &failingReader{boom})); !errors.Is(err, boom) {
			t.Fatalf("failing reader: %v, want boom", err)
		}
		// A chunk left with other bytes is replaced.
		if _, err := db.Collection("fs.chunks").InsertOne(ctx, bson.D{{Key: "_id", Value: store.BlobChunkID(sha, 1)},
			{Key: "files_id", Value: sha}, {Key: "n", Value: int32(1)}, {Key: "data", Value: []byte("garbage")}}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutBlob(ctx, info, bytes.NewReader(data)); err != nil {
			t.Fatalf("put: %v", err)
		}
		c, err := s.BlobChunk(ctx, sha, 1)
		if err != nil || !bytes.Equal(c, data[blobs.DefaultChunkBytes:2*blobs.DefaultChunkBytes]) {
			t.Fatalf("chunk 1 not repaired (%d bytes, %v)", len(c), err)
		}
	})
}

// ensureGridFSIndexes creates the indexes a GridFS bucket has, as
// ensureIndexes does, unless they exist (FerretDB drops the connection when
// asked to create an existing index).
func ensureGridFSIndexes(t testing.TB, db *mongo.Database) {
	t.Helper()
	ctx := context.Background()
	for col, m := range map[string]mongo.IndexModel{
		"fs.chunks": {Keys: bson.D{{Key: "files_id", Value: 1}, {Key: "n", Value: 1}}, Options: options.Index().SetUnique(true).SetName("files_id_1_n_1")},
		"fs.files":  {Keys: bson.D{{Key: "filename", Value: 1}, {Key: "uploadDate", Value: 1}}, Options: options.Index().SetName("filename_1_uploadDate_1")},
	} {
		exists := false
		if cur, err := db.Collection(col).Indexes().List(ctx); err == nil {
			var specs []struct {
				Name string `bson:"name"`
			}
			if err := cur.All(ctx, &specs); err != nil {
				t.Fatal(err)
			}
			for _, sp := range specs {
				exists = exists || sp.Name == *m.Options.Name
			}
		}
		if !exists {
			if _, err := db.Collection(col).Indexes().CreateOne(ctx, m); err != nil {
				t.Fatalf("create index on %s: %v", col, err)
			}
		}
	}
}

type failingReader struct{ err error }

func (r *failingReader) Read([]byte) (int, error) { return 0, r.err }

// BenchmarkBlobWrite compares storing 1 MiB blobs through the blob service
// with a raw GridFS upload through the driver's bucket on the same store.
// "service" is one PUT of the whole blob (hashed in memory, written as GridFS
// chunks; nothing staged); "service-2-ranges" two PUTs of 512 KiB (the first
// half staged as a part, read back by _id at completion, then deleted).
// B/op includes the embedded FerretDB's allocations: it runs in-process.
func BenchmarkBlobWrite(b *testing.B) {
	const size = 1 << 20
	s := storetest.Open(b)
	ctx := context.Background()
	blobsOf := func(n int) ([][]byte, []string) {
		data := make([][]byte, n)
		shas := make([]string, n)
		for i := range data {
			data[i], shas[i] = randomBlob(b, size)
		}
		return data, shas
	}
	b.Run("service", func(b *testing.B) {
		svc := blobs.New(s, blobs.Options{})
		data, shas := blobsOf(b.N)
		b.SetBytes(size)
		b.ResetTimer()
		for i := range b.N {
			_, done, err := svc.Write(ctx, shas[i], 0, size, "image/jpeg", bytes.NewReader(data[i]))
			if err != nil || !done {
				b.Fatalf("write: %v (completed %v)", err, done)
			}
		}
	})
	b.Run("service-2-ranges", func(b *testing.B) {
		svc := blobs.New(s, blobs.Options{})
		data, shas := blobsOf(b.N)
		b.SetBytes(size)
		b.ResetTimer()
		for i := range b.N {
			if _, _, err := svc.Write(ctx, shas[i], 0, size, "image/jpeg", bytes.NewReader(data[i][:size/2])); err != nil {
				b.Fatalf("write first half: %v", err)
			}
			_, done, err := svc.Write(ctx, shas[i], size/2, size, "image/jpeg", bytes.NewReader(data[i][size/2:]))
			if err != nil || !done {
				b.Fatalf("write second half: %v (completed %v)", err, done)
			}
		}
	})
	b.Run("driver-gridfs", func(b *testing.B) {
		bucket, err := gridfs.NewBucket(rawDB(b, s), options.GridFSBucket().SetName(fmt.Sprintf("raw%d", b.N)))
		if err != nil {
			b.Fatal(err)
		}
		data, shas := blobsOf(b.N)
		b.SetBytes(size)
		b.ResetTimer()
		for i := range b.N {
			if err := bucket.UploadFromStreamWithID(shas[i], shas[i], bytes.NewReader(data[i])); err != nil {
				b.Fatalf("upload: %v", err)
			}
		}
	})
}
