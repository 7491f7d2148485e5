package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/store/storetest"
)

// TestRevisions stores revisions of versioned documents in each collection
// of every engine and reads them back in order; a revision stored twice is
// a duplicate, and an unknown collection, an empty id or rev 0 are refused.
func TestRevisions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2020, 7, 1, 8, 0, 0, 0, enforcement.Shanghai)
		for _, col := range []string{store.CustodyItems, store.Campaigns, store.Operations} {
			for _, w := range []struct {
				id  string
				rev int
			}{{"b", 1}, {"a", 2}, {"a", 1}, {"b", 2}, {"b", 3}} {
				body := fmt.Sprintf(`{"id":%q,"rev":%d}`, w.id, w.rev)
				if err := s.InsertRevision(ctx, col, w.id, w.rev, "office", at, []byte(body)); err != nil {
					t.Fatalf("%s %s:%d: %v", col, w.id, w.rev, err)
				}
			}
			err := s.InsertRevision(ctx, col, "a", 2, "other", at, []byte(`{}`))
			if !errors.Is(err, store.ErrDuplicate) {
				t.Errorf("%s: the same revision twice: %v", col, err)
			}
			var got []string
			err = s.ScanRevisions(ctx, col, func(id string, rev int, body []byte) error {
				if want := fmt.Sprintf(`{"id":%q,"rev":%d}`, id, rev); string(body) != want {
					t.Errorf("%s %s:%d body %s", col, id, rev, body)
				}
				got = append(got, fmt.Sprintf("%s:%d", id, rev))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"a:1", "a:2", "b:1", "b:2", "b:3"}; !slices.Equal(got, want) {
				t.Errorf("%s scan %v, want %v", col, got, want)
			}
		}
		for _, bad := range []struct {
			col, id string
			rev     int
		}{{"records", "x", 1}, {store.Campaigns, "", 1}, {store.Campaigns, "x", 0}} {
			if err := s.InsertRevision(ctx, bad.col, bad.id, bad.rev, "x", at, nil); !errors.Is(err, enforcement.ErrInvalid) {
				t.Errorf("%+v: %v, want ErrInvalid", bad, err)
			}
		}
	})
}
