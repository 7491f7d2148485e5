package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

// The collections of versioned documents written through InsertRevision:
// each change is a new document with _id "{id}:{rev}", never an update.
const (
	// CustodyItems holds the revisions of confiscated items in custody.
	CustodyItems = "custody_items"
	// Campaigns holds the revisions of enforcement campaigns.
	Campaigns = "campaigns"
	// Operations holds the revisions of joint enforcement operations.
	Operations = "joint_operations"
)

var revisionCollections = []string{CustodyItems, Campaigns, Operations}

// revisionDoc is one revision of a versioned document: its id, revision,
// who stored it and when, and the document as JSON text.
type revisionDoc struct {
	ID    string    `bson:"_id"`
	Of    string    `bson:"of"`
	Rev   int       `bson:"rev"`
	Actor string    `bson:"actor"`
	At    time.Time `bson:"at"`
	Body  string    `bson:"body"`
}

func knownCollection(col string) bool { return slices.Contains(revisionCollections, col) }

// InsertRevision stores revision rev (from 1) of document id in col, _id
// CaseRevisionID(id, rev), with body its JSON. An unknown collection, an
// empty id or a rev below 1 is an error wrapping enforcement.ErrInvalid; a
// revision already stored is an error wrapping ErrDuplicate (another writer
// stored it first).
func (s *Store) InsertRevision(ctx context.Context, col string, id string, rev int, actor string, at time.Time, body []byte) error {
	did := CaseRevisionID(id, rev)
	var bad []enforcement.FieldError
	if !knownCollection(col) {
		bad = append(bad, enforcement.FieldError{Field: "collection", Detail: "unknown: " + col})
	}
	if id == "" {
		bad = append(bad, enforcement.FieldError{Field: "id", Detail: "required"})
	}
	if rev < 1 {
		bad = append(bad, enforcement.FieldError{Field: "rev", Detail: "must be at least 1"})
	}
	if len(bad) > 0 {
		return fmt.Errorf("store: insert %s revision %s: %w: %w", col, did, enforcement.ErrInvalid,
			&enforcement.ValidationError{Fields: bad})
	}
	d := revisionDoc{ID: did, Of: id, Rev: rev, Actor: actor, At: at.UTC(), Body: string(body)}
	if err := s.insertMany(ctx, col, []any{d})[0]; err != nil {
		return fmt.Errorf("store: insert %s revision %s: %w", col, did, err)
	}
	return nil
}

// GetDocRevision loads revision rev of document id in col by _id and returns
// its JSON; ErrNotFound when it is not stored.
func (s *Store) GetDocRevision(ctx context.Context, col, id string, rev int) ([]byte, error) {
	if !knownCollection(col) {
		return nil, fmt.Errorf("store: get %s revision: %w: unknown collection", col, enforcement.ErrInvalid)
	}
	var d revisionDoc
	if err := s.findByID(ctx, col, CaseRevisionID(id, rev), &d); err != nil {
		return nil, fmt.Errorf("store: get %s revision %s: %w", col, CaseRevisionID(id, rev), err)
	}
	return []byte(d.Body), nil
}

// ScanRevisions calls fn with every stored revision in col, ordered by
// document id, then revision (ascending), so that the last call for an id
// is its latest revision. It is a full scan that holds the collection in
// memory, for the start only.
func (s *Store) ScanRevisions(ctx context.Context, col string, fn func(id string, rev int, body []byte) error) error {
	if !knownCollection(col) {
		return fmt.Errorf("store: scan %s: %w: unknown collection", col, enforcement.ErrInvalid)
	}
	var all []revisionDoc
	if err := scan(ctx, s, col, func(d revisionDoc) error { all = append(all, d); return nil }); err != nil {
		return fmt.Errorf("store: scan %s: %w", col, err)
	}
	slices.SortFunc(all, func(a, b revisionDoc) int {
		return cmp.Or(strings.Compare(a.Of, b.Of), cmp.Compare(a.Rev, b.Rev))
	})
	for _, d := range all {
		if err := fn(d.Of, d.Rev, []byte(d.Body)); err != nil {
			return err
		}
	}
	return nil
}
