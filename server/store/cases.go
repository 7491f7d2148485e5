package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/enforcement"
)

var _ cases.Sequencer = (*Store)(nil)

// CaseRevisionID is the deterministic _id of revision rev of case id:
// "{id}:{rev}", rev zero-padded to 6 digits.
func CaseRevisionID(id string, rev int) string { return fmt.Sprintf("%s:%06d", id, rev) }

// CaseNumberID is the deterministic _id of sequence number seq of prefix and
// year: "{prefix}:{year}:{seq}", seq zero-padded to 6 digits.
func CaseNumberID(prefix string, year, seq int) string {
	return fmt.Sprintf("%s:%d:%06d", prefix, year, seq)
}

// caseDoc is one revision of a penalty case, stored once under
// CaseRevisionID. The case is kept as its JSON text (times in UTC); case_id,
// rev, state, case_no, actor and at are beside it for queries.
type caseDoc struct {
	ID     string    `bson:"_id"`
	CaseID string    `bson:"case_id"`
	Rev    int       `bson:"rev"`
	State  string    `bson:"state"`
	CaseNo string    `bson:"case_no"`
	Actor  string    `bson:"actor"`
	At     time.Time `bson:"at"`
	Case   string    `bson:"case"`
}

// InsertCaseRevision stores revision rev (from 1) of case c, _id
// CaseRevisionID(c.ID, rev) in collection "cases", by actor at at. The case
// is stored with its times in UTC, which is how ScanCaseRevisions gives it
// back. A case without an id or a rev below 1 is an error wrapping
// enforcement.ErrInvalid; a revision already stored is an error wrapping
// ErrDuplicate (two officers raced and the other one won).
func (s *Store) InsertCaseRevision(ctx context.Context, c cases.Case, rev int, actor string, at time.Time) error {
	id := CaseRevisionID(c.ID, rev)
	var bad []enforcement.FieldError
	if c.ID == "" {
		bad = append(bad, enforcement.FieldError{Field: "id", Detail: "required"})
	}
	if rev < 1 {
		bad = append(bad, enforcement.FieldError{Field: "rev", Detail: "must be at least 1"})
	}
	if len(bad) > 0 {
		return fmt.Errorf("store: insert case revision %s: %w: %w", id, enforcement.ErrInvalid,
			&enforcement.ValidationError{Fields: bad})
	}
	b, err := json.Marshal(caseInUTC(c))
	if err != nil {
		return fmt.Errorf("store: insert case revision %s: %w", id, err)
	}
	d := caseDoc{ID: id, CaseID: c.ID, Rev: rev, State: string(c.State), CaseNo: c.CaseNo, Actor: actor,
		At: at, Case: string(b)}
	if err := s.insertMany(ctx, colCases, []any{d})[0]; err != nil {
		return fmt.Errorf("store: insert case revision %s: %w", id, err)
	}
	return nil
}

// GetCaseRevision loads revision rev of case id by _id; ErrNotFound when it
// is not stored.
func (s *Store) GetCaseRevision(ctx context.Context, id string, rev int) (cases.Case, error) {
	var d caseDoc
	if err := s.findByID(ctx, colCases, CaseRevisionID(id, rev), &d); err != nil {
		return cases.Case{}, fmt.Errorf("store: get case revision %s: %w", CaseRevisionID(id, rev), err)
	}
	var c cases.Case
	if err := json.Unmarshal([]byte(d.Case), &c); err != nil {
		return cases.Case{}, fmt.Errorf("store: decode case revision %s: %w", d.ID, err)
	}
	return c, nil
}

// ScanCaseRevisions calls fn with every stored revision of every case,
// ordered by case id, then revision (ascending), so that the last call for a
// case is its latest revision. It is a full scan that holds every revision
// in memory, for the start only.
func (s *Store) ScanCaseRevisions(ctx context.Context, fn func(rev int, c cases.Case) error) error {
	type revision struct {
		rev int
		c   cases.Case
	}
	var all []revision
	err := scan(ctx, s, colCases, func(d caseDoc) error {
		var c cases.Case
		if err := json.Unmarshal([]byte(d.Case), &c); err != nil {
			return fmt.Errorf("decode case revision %s: %w", d.ID, err)
		}
		all = append(all, revision{rev: d.Rev, c: c})
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: scan case revisions: %w", err)
	}
	slices.SortFunc(all, func(a, b revision) int {
		return cmp.Or(strings.Compare(a.c.ID, b.c.ID), cmp.Compare(a.rev, b.rev))
	})
	for _, r := range all {
		if err := fn(r.rev, r.c); err != nil {
			return err
		}
	}
	return nil
}

// caseInUTC returns c with every time in UTC (and without a monotonic
// reading); slices and pointers that hold times are copied, never changed.
func caseInUTC(c cases.Case) cases.Case {
	utc := func(t time.Time) time.Time { return t.UTC() }
	c.FiledAt, c.NoticeAt, c.DecidedAt, c.ServedAt, c.ClosedAt, c.RevokedAt =
		utc(c.FiledAt), utc(c.NoticeAt), utc(c.DecidedAt), utc(c.ServedAt), utc(c.ClosedAt), utc(c.RevokedAt)
	if c.Review != nil {
		r := *c.Review
		r.Date = utc(r.Date)
		c.Review = &r
	}
	if c.Transfer != nil {
		t := *c.Transfer
		t.Date = utc(t.Date)
		c.Transfer = &t
	}
	if c.Steps != nil {
		steps := slices.Clone(c.Steps)
		for i := range steps {
			steps[i].At, steps[i].RecordedAt = utc(steps[i].At), utc(steps[i].RecordedAt)
		}
		c.Steps = steps
	}
	return c
}

// caseNumberDoc is one issued case sequence number.
type caseNumberDoc struct {
	ID     string    `bson:"_id"`
	Prefix string    `bson:"prefix"`
	Year   int       `bson:"year"`
	Seq    int       `bson:"seq"`
	At     time.Time `bson:"at"`
}

// seqCounter is what one Store knows of one prefix and year: the highest
// sequence number known to be stored. Its mutex is held for the whole of
// Next, so that one Store issues one key's numbers one at a time.
type seqCounter struct {
	mu     sync.Mutex
	loaded bool
	last   int
}

// seqCounter returns the Store's counter of key, made on first use.
func (s *Store) seqCounter(key string) *seqCounter {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	if s.seqs == nil {
		s.seqs = map[string]*seqCounter{}
	}
	c := s.seqs[key]
	if c == nil {
		c = &seqCounter{}
		s.seqs[key] = c
	}
	return c
}

// Next implements cases.Sequencer: the next case sequence number for prefix
// and year, from 1, each issued once, never reused and never skipped. It
// inserts CaseNumberID(prefix, year, seq) into collection "case_numbers" for
// the seq after the highest stored one. The highest is found once per key
// and Store with lastSeq's doubling search by _id and then kept in memory;
// when the insert finds the number taken (another server issued it), the
// search runs again from there and the insert is retried after the highest.
//
// A prefix that is empty or contains ':' and a year outside 1000–9999 are
// errors wrapping enforcement.ErrInvalid. When the insert fails otherwise
// (the store unavailable) no number is issued; should it have been stored
// all the same, the next call finds it taken and goes past it.
func (s *Store) Next(ctx context.Context, prefix string, year int) (int, error) {
	var bad []enforcement.FieldError
	if prefix == "" || strings.Contains(prefix, ":") {
		bad = append(bad, enforcement.FieldError{Field: "prefix", Detail: "must be non-empty and without ':'"})
	}
	if year < 1000 || year > 9999 {
		bad = append(bad, enforcement.FieldError{Field: "year", Detail: "must be 1000 to 9999"})
	}
	if len(bad) > 0 {
		return 0, fmt.Errorf("store: next case number %q %d: %w: %w", prefix, year, enforcement.ErrInvalid,
			&enforcement.ValidationError{Fields: bad})
	}
	key := prefix + ":" + strconv.Itoa(year)
	exists := func(seq int64) (bool, error) {
		var d struct {
			ID string `bson:"_id"`
		}
		err := s.findByID(ctx, colCaseNumbers, CaseNumberID(prefix, year, int(seq)), &d)
		if isNotFound(err) {
			return false, nil
		}
		return err == nil, err
	}
	c := s.seqCounter(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		last, err := lastSeq(exists)
		if err != nil {
			return 0, fmt.Errorf("store: next case number %s: %w", key, err)
		}
		c.last, c.loaded = int(last), true
	}
	for {
		seq := c.last + 1
		d := caseNumberDoc{ID: CaseNumberID(prefix, year, seq), Prefix: prefix, Year: year, Seq: seq, At: time.Now().UTC()}
		err := s.insertMany(ctx, colCaseNumbers, []any{d})[0]
		if err == nil {
			c.last = seq
			return seq, nil
		}
		if !errors.Is(err, ErrDuplicate) {
			return 0, fmt.Errorf("store: next case number %s: %w", d.ID, err)
		}
		// Another server issued seq: find the highest it (and others) issued
		// from seq on, O(log n) lookups, and try the one after it.
		n, err := lastSeq(func(i int64) (bool, error) { return exists(int64(seq) - 1 + i) })
		if err != nil {
			return 0, fmt.Errorf("store: next case number %s: %w", key, err)
		}
		c.last = seq - 1 + max(int(n), 1)
	}
}
