// Package store is Baoshui's MongoDB adapter: the only package that imports
// the MongoDB driver. It starts the embedded FerretDB (SQLite in the data
// directory, or PostgreSQL) or connects to an external MongoDB, and offers the
// few operations the design allows on the interactive path: inserts with
// deterministic _ids, lookups and person-driven updates by _id, and full
// scans only when read models are built at start (DESIGN.md §2).
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/baoshui/baoshui/server/enforcement"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"
)

// Errors the store returns, to be tested with errors.Is.
var (
	// ErrNotFound means no document has the requested _id.
	ErrNotFound = enforcement.ErrNotFound
	// ErrDuplicate means a document with the same _id is already stored:
	// for the insert-only write path it means "already stored".
	ErrDuplicate = enforcement.ErrExists
	// ErrUnavailable means the store could not be reached or timed out.
	ErrUnavailable = enforcement.ErrUnavailable
	// ErrStorageFull means the store's disk is full (it is also an
	// ErrUnavailable).
	ErrStorageFull = enforcement.ErrStorageFull
)

// MaxBatch is the largest bulk write the store sends at once. FerretDB holds a
// pooled connection per statement that matches an existing document and hangs
// from 50 (PostgreSQL) or 100 (SQLite) of them (DESIGN.md §2).
const MaxBatch = 40

// MaxInsertBatch is the most documents one InsertMany sends. The hang above
// is one of statements that match stored documents (updates, deletes):
// InsertMany of 500 documents that all exist already, from 4 callers at
// once, answers in well under a second on both FerretDB backends (measured
// in TestInsertManyOfDuplicatesDoesNotHang). The driver splits a batch that
// exceeds the wire message size.
const MaxInsertBatch = 500

// Config selects and configures the engine.
type Config struct {
	// MongoURI, when set, connects to an external MongoDB and ignores the rest.
	MongoURI string
	// DataDir holds the embedded store's SQLite files (created if missing).
	DataDir string
	// FerretPostgresURL switches the embedded FerretDB to its PostgreSQL backend.
	// With MongoURI set it says that the URI is a FerretDB on that
	// PostgreSQL, so that the store adds the _id indexes FerretDB lacks.
	FerretPostgresURL string
	// FerretSQLiteDir, with MongoURI set, says that the URI is a FerretDB
	// whose SQLite files are in this directory (tests share one FerretDB).
	FerretSQLiteDir string
	// Database is the database name; default "baoshui".
	Database string
	// Logger receives the store's own messages; FerretDB logs only errors.
	Logger *slog.Logger
	// Serve, when set, also serves the embedded store to other server
	// instances at this address, over TLS with client certificates signed
	// by ServeCA required (mutual TLS is the authentication: FerretDB's
	// SQLite backend has no users). ServeCert and ServeKey are the
	// server's certificate and key files.
	Serve, ServeCert, ServeKey, ServeCA string
}

// Store is an open connection to the engine. It is safe for concurrent use.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	uri    string
	engine string
	// serveURI is where other instances reach the embedded store (Serve).
	serveURI string

	stopFerret context.CancelFunc
	ferretDone chan struct{}
	// sqliteDir or ferretPG is set when the engine is FerretDB: where its
	// tables are, for the _id indexes it lacks (ferretidx.go).
	sqliteDir, ferretPG string

	snapMu       sync.Mutex
	tokenCleared atomic.Bool // the snapshot token was cleared before this Store's first record write
	// sensorsTokenCleared: the same for the monitoring snapshot and the
	// first water-quality write.
	sensorsTokenCleared atomic.Bool

	// seqs are the case-number counters this Store knows (cases.go).
	seqMu sync.Mutex
	seqs  map[string]*seqCounter
}

// Open starts the embedded FerretDB unless cfg.MongoURI is set, connects, and
// creates the indexes (idempotently).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Database == "" {
		cfg.Database = "baoshui"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Store{uri: cfg.MongoURI, engine: "mongodb"}
	if s.uri != "" {
		s.sqliteDir, s.ferretPG = cfg.FerretSQLiteDir, cfg.FerretPostgresURL
	}
	if s.uri == "" {
		if err := s.startFerret(cfg); err != nil {
			return nil, fmt.Errorf("store: open: %w", err)
		}
	}
	opts := options.Client().ApplyURI(s.uri).
		SetServerSelectionTimeout(10 * time.Second).
		SetMaxPoolSize(64)
	client, err := mongo.Connect(ctx, opts)
	if err != nil {
		s.closeFerret()
		return nil, fmt.Errorf("store: open: connect: %w", err)
	}
	s.client = client
	s.db = client.Database(cfg.Database)
	if err := s.Ping(ctx); err != nil {
		_ = s.Close(context.Background())
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := s.ensureIndexes(ctx); err != nil {
		_ = s.Close(context.Background())
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := s.idIndexes(ctx); err != nil {
		_ = s.Close(context.Background())
		return nil, fmt.Errorf("store: open: %w", err)
	}
	return s, nil
}

func (s *Store) startFerret(cfg Config) error {
	self := "127.0.0.1:0"
	if cfg.Serve != "" {
		if cfg.ServeCert == "" || cfg.ServeKey == "" || cfg.ServeCA == "" {
			return errors.New("serving the store needs a certificate, its key and the CA of the clients' certificates")
		}
		// With a TLS listener FerretDB names only that one in its URI; this
		// process keeps its own loopback listener, on a port chosen here.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("embedded FerretDB: %w", err)
		}
		self = ln.Addr().String()
		ln.Close()
	}
	fc := &ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: self, TLS: cfg.Serve, TLSCertFile: cfg.ServeCert, TLSKeyFile: cfg.ServeKey,
			TLSCAFile: cfg.ServeCA},
		// FerretDB logs every duplicate-key insert at ERROR, and on this write
		// path a duplicate key is the normal "already stored"; only the
		// levels above ERROR (panics in a connection) are worth seeing.
		Logger: slog.New(&lazyHandler{next: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 1})}),
	}
	if cfg.FerretPostgresURL != "" {
		fc.Handler = "postgresql"
		fc.PostgreSQLURL = cfg.FerretPostgresURL
		s.ferretPG = cfg.FerretPostgresURL
		s.engine = "ferretdb-postgresql"
	} else {
		dir := cfg.DataDir
		if dir == "" {
			dir = "data"
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		if err := os.MkdirAll(abs, 0o750); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		fc.Handler = "sqlite"
		fc.SQLiteURL = "file:" + strings.TrimSuffix(abs, "/") + "/"
		s.sqliteDir = abs
		s.engine = "ferretdb-sqlite"
	}
	f, err := ferretdb.New(fc)
	if err != nil {
		return fmt.Errorf("embedded FerretDB: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopFerret = cancel
	s.ferretDone = make(chan struct{})
	go func() {
		defer close(s.ferretDone)
		_ = f.Run(ctx)
	}()
	if cfg.Serve != "" {
		s.serveURI = f.MongoDBURI()
		s.uri = "mongodb://" + self + "/"
	} else {
		s.uri = f.MongoDBURI()
	}
	return nil
}

// ServeURI is where other instances reach the embedded store when it is
// served (Config.Serve), without the client certificate options each adds:
// tlsCAFile and tlsCertificateKeyFile. It is "" otherwise.
func (s *Store) ServeURI() string { return s.serveURI }

func (s *Store) closeFerret() {
	if s.stopFerret != nil {
		s.stopFerret()
		<-s.ferretDone
		s.stopFerret = nil
	}
}

// Close disconnects and stops the embedded engine, if any.
func (s *Store) Close(ctx context.Context) error {
	var err error
	if s.client != nil {
		err = s.client.Disconnect(ctx)
	}
	s.closeFerret()
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Ping checks that the store answers; it is what /readyz reports.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("store: ping: %w: %v", ErrUnavailable, err)
	}
	return nil
}

// URI is the connection string of the engine; for the embedded store it is a
// loopback address, used by benchmarks to compare with the raw driver.
func (s *Store) URI() string { return s.uri }

// Engine names the engine: ferretdb-sqlite, ferretdb-postgresql or mongodb.
func (s *Store) Engine() string { return s.engine }

// DatabaseName is the name of the database this store writes to.
func (s *Store) DatabaseName() string { return s.db.Name() }

// Drop deletes the whole database. Tests use it to clean up.
func (s *Store) Drop(ctx context.Context) error {
	if err := s.db.Drop(ctx); err != nil {
		return fmt.Errorf("store: drop: %w", err)
	}
	return nil
}

// Collection names.
const (
	colRecords     = "records"
	colAudit       = "audit"
	colUnits       = "units"
	colUsers       = "users"
	colDevices     = "devices"
	colSessions    = "sessions"
	colMeta        = "meta"
	colZones       = "zones"
	colSyncLedger  = "sync_ledger"
	colCases       = "cases"
	colCaseNumbers = "case_numbers"
)

// allCollections are the collections this store writes.
var allCollections = []string{colRecords, colAudit, colUnits, colUsers, colDevices, colSessions, colMeta, colZones,
	colSyncLedger, colTrackChunks, colBlobParts, colFSFiles, colFSChunks,
	colStations, colStationCredentials, colReadings, colSensorQuarantine, colAlertEvents,
	colCases, colCaseNumbers, CustodyItems, Campaigns, Operations, colSeqLog, colSeqBodies,
	colMonitoringLog, colMonitoringCheckpoints, colMonitoringCheckpointParts}

// ensureIndexes creates the secondary indexes on MongoDB, where they serve
// the report pipelines, GridFS readers and ad-hoc queries. FerretDB never
// uses a secondary index for a query, and each one costs every insert, so
// it gets none (its _id lookups get theirs from idIndexes).
func (s *Store) ensureIndexes(ctx context.Context) error {
	if s.sqliteDir != "" || s.ferretPG != "" {
		return nil
	}
	idx := map[string][]mongo.IndexModel{
		colRecords: {
			{Keys: bson.D{{Key: "record_id", Value: 1}, {Key: "rev", Value: 1}}, Options: options.Index().SetUnique(true)},
			{Keys: bson.D{{Key: "unit", Value: 1}, {Key: "day", Value: 1}}},
			{Keys: bson.D{{Key: "kind", Value: 1}, {Key: "day", Value: 1}}},
		},
		colUsers: {
			{Keys: bson.D{{Key: "unit", Value: 1}}},
		},
		colReadings: {
			{Keys: bson.D{{Key: "station", Value: 1}, {Key: "ts", Value: 1}}},
			{Keys: bson.D{{Key: "day", Value: 1}, {Key: "station", Value: 1}}},
		},
		colAlertEvents: {
			{Keys: bson.D{{Key: "alert_id", Value: 1}, {Key: "rev", Value: 1}}},
			{Keys: bson.D{{Key: "station", Value: 1}, {Key: "state", Value: 1}}},
		},
		colCases: {
			{Keys: bson.D{{Key: "case_id", Value: 1}, {Key: "rev", Value: 1}}, Options: options.Index().SetUnique(true)},
			{Keys: bson.D{{Key: "case_no", Value: 1}}},
		},
	}
	addBlobIndexes(idx)
	for col, models := range idx {
		// FerretDB v1.24.2 drops the connection (a panic inside it) when
		// createIndexes names an index that already exists, so only the
		// missing ones are created: idempotent on every engine.
		existing, err := s.indexNames(ctx, col)
		if err != nil {
			return fmt.Errorf("list indexes on %s: %w", col, err)
		}
		var missing []mongo.IndexModel
		for _, m := range models {
			name := indexName(m.Keys.(bson.D))
			if !existing[name] {
				if m.Options == nil {
					m.Options = options.Index()
				}
				missing = append(missing, mongo.IndexModel{Keys: m.Keys, Options: m.Options.SetName(name)})
			}
		}
		if len(missing) == 0 {
			continue
		}
		if _, err := s.db.Collection(col).Indexes().CreateMany(ctx, missing); err != nil {
			return fmt.Errorf("create indexes on %s: %w", col, classify(err))
		}
	}
	return nil
}

func indexName(keys bson.D) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s_%v", k.Key, k.Value))
	}
	return strings.Join(parts, "_")
}

func (s *Store) indexNames(ctx context.Context, col string) (map[string]bool, error) {
	cur, err := s.db.Collection(col).Indexes().List(ctx)
	if err != nil {
		return nil, classify(err)
	}
	var specs []struct {
		Name string `bson:"name"`
	}
	if err := cur.All(ctx, &specs); err != nil {
		return nil, classify(err)
	}
	names := map[string]bool{}
	for _, sp := range specs {
		names[sp.Name] = true
	}
	return names, nil
}

// classify maps driver errors to the store's sentinel errors.
// outOfDiskSpace is MongoDB's error code for a full disk.
const outOfDiskSpace = 14031

// diskFull reports whether err says the disk under the store is full, in
// the words of SQLite ("database or disk is full", which FerretDB passes on
// as an InternalError) or of the operating system (ENOSPC, as PostgreSQL
// reports it).
func diskFull(err error) bool {
	m := err.Error()
	return strings.Contains(m, "database or disk is full") || strings.Contains(m, "No space left on device")
}

func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return ErrNotFound
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("%w: %v", ErrDuplicate, err)
	case mongo.IsNetworkError(err), mongo.IsTimeout(err), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, mongo.ErrClientDisconnected):
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var se mongo.ServerError
	if diskFull(err) || errors.As(err, &se) && se.HasErrorCode(outOfDiskSpace) {
		return fmt.Errorf("%w: %v", ErrStorageFull, err)
	}
	if errors.As(err, &se) {
		return err
	}
	if strings.Contains(err.Error(), "server selection") {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

// insertMany inserts docs unordered in batches of MaxInsertBatch and reports, per
// document, nil, an error wrapping ErrDuplicate, or another error.
func (s *Store) insertMany(ctx context.Context, col string, docs []any) []error {
	errs := make([]error, len(docs))
	c := s.db.Collection(col)
	for start := 0; start < len(docs); start += MaxInsertBatch {
		end := min(start+MaxInsertBatch, len(docs))
		_, err := c.InsertMany(ctx, docs[start:end], options.InsertMany().SetOrdered(false))
		if err == nil {
			continue
		}
		var bwe mongo.BulkWriteException
		if errors.As(err, &bwe) && bwe.WriteConcernError == nil {
			for _, we := range bwe.WriteErrors {
				e := error(we)
				if we.Code == 11000 {
					e = fmt.Errorf("%w: %s", ErrDuplicate, we.Message)
				}
				if i := start + we.Index; i < end {
					errs[i] = e
				}
			}
			continue
		}
		err = classify(err)
		for i := start; i < end; i++ {
			errs[i] = err
		}
	}
	return errs
}

// findByID decodes the document with _id into out.
func (s *Store) findByID(ctx context.Context, col string, id any, out any) error {
	err := s.db.Collection(col).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(out)
	return classify(err)
}

// scan decodes every document of col into a fresh T and calls fn; it is for
// building read models at start, never for an interactive request.
func scan[T any](ctx context.Context, s *Store, col string, fn func(T) error) error {
	cur, err := s.db.Collection(col).Find(ctx, bson.D{}, options.Find().SetBatchSize(1000))
	if err != nil {
		return classify(err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var v T
		if err := cur.Decode(&v); err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return classify(cur.Err())
}
