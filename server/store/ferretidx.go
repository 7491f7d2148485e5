package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL, for FerretDB's tables
	"go.mongodb.org/mongo-driver/mongo"
	_ "modernc.org/sqlite" // SQLite, for FerretDB's files
)

// FerretDB v1.24.2 does not use its own _id index for a find by _id. It asks
// SQLite for `_ferretdb_sjson->'$._id' = ?` while the index is on
// `_ferretdb_sjson->"_id"` (another expression, so SQLite scans), and
// PostgreSQL for `_jsonb->'_id' @> $1`, which its btree index cannot serve.
// A find by _id therefore reads the table up to the match: 1.6 s for the
// last of 100,000 small documents (measured; DESIGN.md §2 assumed an index).
// idIndexes adds, for every collection of ours, the index FerretDB's query
// can use: an expression index on SQLite, a GIN index on PostgreSQL. It
// touches FerretDB's tables directly, which only this adapter knows of, and
// creates only what is missing.
func (s *Store) idIndexes(ctx context.Context) error {
	if s.sqliteDir == "" && s.ferretPG == "" {
		return nil
	}
	// FerretDB creates a collection's table on first use; create them all
	// now so that each gets its index.
	for _, col := range allCollections {
		err := s.db.CreateCollection(ctx, col)
		var ce mongo.CommandError
		if err != nil && !(errors.As(err, &ce) && ce.Code == 48) { // NamespaceExists
			return fmt.Errorf("create collection %s: %w", col, classify(err))
		}
	}
	if s.sqliteDir != "" {
		return s.sqliteIDIndexes(ctx)
	}
	return s.postgresIDIndexes(ctx)
}

func (s *Store) sqliteIDIndexes(ctx context.Context) error {
	file := filepath.Join(s.sqliteDir, s.db.Name()+".sqlite")
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("id indexes: %w", err)
	}
	defer db.Close()
	tables, err := queryStrings(ctx, db, `SELECT table_name FROM "_ferretdb_collections"`)
	if err != nil {
		return fmt.Errorf("id indexes: %s: %w", file, err)
	}
	for _, t := range tables {
		q := fmt.Sprintf(`CREATE UNIQUE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, t+"_baoshui_id", t)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("id indexes: %s: %w", t, err)
		}
	}
	return nil
}

func (s *Store) postgresIDIndexes(ctx context.Context) error {
	db, err := sql.Open("pgx", s.ferretPG)
	if err != nil {
		return fmt.Errorf("id indexes: %w", err)
	}
	defer db.Close()
	schema := s.db.Name()
	tables, err := queryStrings(ctx, db, fmt.Sprintf(`SELECT _jsonb->>'table' FROM %q."_ferretdb_database_metadata"`, schema))
	if err != nil {
		return fmt.Errorf("id indexes: schema %s: %w", schema, err)
	}
	for _, t := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q.%q USING gin ((_jsonb->'_id'))`, t+"_baoshui_id", schema, t)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("id indexes: %s: %w", t, err)
		}
	}
	return nil
}

// querier is a *sql.DB or a *sql.Conn.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func queryStrings(ctx context.Context, db querier, q string) ([]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ExplainFindByID returns the query plan FerretDB's SQL engine uses for a
// find by _id in collection col, as that engine prints it ("" on MongoDB,
// which needs no help). It is a diagnostic for operators and tests.
func (s *Store) ExplainFindByID(ctx context.Context, col string) (string, error) {
	var db *sql.DB
	var err error
	var q string
	switch {
	case s.sqliteDir != "":
		db, err = sql.Open("sqlite", "file:"+filepath.Join(s.sqliteDir, s.db.Name()+".sqlite")+"?_pragma=busy_timeout(10000)")
		q = `SELECT table_name FROM "_ferretdb_collections" WHERE name = ?`
	case s.ferretPG != "":
		db, err = sql.Open("pgx", s.ferretPG)
		q = fmt.Sprintf(`SELECT _jsonb->>'table' FROM %q."_ferretdb_database_metadata" WHERE _jsonb->>'_id' = $1`, s.db.Name())
	default:
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: explain: %w", err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("store: explain: %w", err)
	}
	defer conn.Close()
	var table string
	if err := conn.QueryRowContext(ctx, q, col).Scan(&table); err != nil {
		return "", fmt.Errorf("store: explain %s: %w", col, err)
	}
	var plan []string
	if s.sqliteDir != "" {
		// The statement FerretDB sends for a find by a string _id.
		rows, err := conn.QueryContext(ctx, fmt.Sprintf(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %q WHERE _ferretdb_sjson->'$._id' = ? LIMIT 1`, table), `"x"`)
		if err != nil {
			return "", fmt.Errorf("store: explain %s: %w", col, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				return "", err
			}
			plan = append(plan, detail)
		}
	} else {
		// A small table is scanned whatever the indexes; ask whether the
		// index can serve the query at all.
		if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
			return "", err
		}
		if plan, err = queryStrings(ctx, conn, fmt.Sprintf(`EXPLAIN SELECT _jsonb FROM %q.%q WHERE _jsonb->'_id' @> '"x"'::jsonb LIMIT 1`, s.db.Name(), table)); err != nil {
			return "", fmt.Errorf("store: explain %s: %w", col, err)
		}
	}
	return strings.Join(plan, "\n"), nil
}
