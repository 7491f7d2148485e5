// Package casesvc is the server's side of the administrative penalty cases:
// it files cases (issuing their numbers), applies the steps of their
// procedure through the pure domain core server/cases, stores every change
// as a new revision and audits it, and answers the queries from memory.
//
// Everything it writes is an insert by deterministic _id (DESIGN §2): case
// revision "{id}:{rev}", where a duplicate means that another server stored
// that revision first. The current case of each id (its latest revision) is
// built by one scan at start and kept current by the write path.
package casesvc

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/enforcement"
)

// DefaultPrefix is the prefix of the case numbers the service issues when
// Options.Prefix is empty: 密保罚〔2020〕第0001号.
const DefaultPrefix = "密保罚"

// Store is what the service needs of the store adapter.
type Store interface {
	// InsertCaseRevision stores revision rev of case c (_id "{id}:{rev}"),
	// taken by actor at at; an error wrapping enforcement.ErrExists when
	// that revision is already stored.
	InsertCaseRevision(ctx context.Context, c cases.Case, rev int, actor string, at time.Time) error
	// ScanCaseRevisions calls fn for every stored revision, in no set
	// order. It runs only at start.
	ScanCaseRevisions(ctx context.Context, fn func(rev int, c cases.Case) error) error
	// GetCaseRevision loads revision rev of case id; an error wrapping
	// enforcement.ErrNotFound when it is not stored.
	GetCaseRevision(ctx context.Context, id string, rev int) (cases.Case, error)
}

// Auditor appends entries to the audit chain (the record service's).
type Auditor interface {
	Audit(ctx context.Context, e audit.Entry) error
}

// Options configure a Service.
type Options struct {
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Auditor, when set, receives an entry for every filing and step.
	Auditor Auditor
	// Prefix of the case numbers issued; DefaultPrefix when "".
	Prefix string
	// Changed, when set, is called with the case after its filing or a
	// step is stored, outside the service's lock (the server mirrors the
	// outcome into the field record of the case, which the totals count).
	// Its error is logged: the filing or step stands.
	Changed func(ctx context.Context, c cases.Case) error
}

// Service holds the cases. It is safe for concurrent use; writes are
// serialised by one mutex.
type Service struct {
	store Store
	seq   cases.Sequencer
	rules cases.Rules
	opt   Options
	log   *slog.Logger

	mu     sync.RWMutex
	cases  map[string]*head
	caseNo map[string]string // case number → case id
	// byState holds the cases of each state, so that the open ones are
	// found without visiting the closed ones.
	byState map[cases.State]map[string]*head
	// order is every case in list order (latest filing first, then case
	// number, then id); a case's filing never changes, so its place does
	// not either.
	order []*head
}

// head is the current revision of a case.
type head struct {
	c   cases.Case
	rev int
}

// CaseView is the summary of a case that lists show.
type CaseView struct {
	ID              string      `json:"id"`
	CaseNo          string      `json:"case_no"`
	Unit            string      `json:"unit,omitempty"`
	Violation       string      `json:"violation"`
	Party           cases.Party `json:"party"`
	State           cases.State `json:"state"`
	ProposedFineFen int64       `json:"proposed_fine_fen"`
	DecidedFineFen  int64       `json:"decided_fine_fen"`
	ConfiscationFen int64       `json:"confiscation_fen"`
	Major           bool        `json:"major,omitempty"`
	FiledAt         time.Time   `json:"filed_at"`
	DecidedAt       time.Time   `json:"decided_at,omitzero"`
	ClosedAt        time.Time   `json:"closed_at,omitzero"`
	// UpdatedAt is when the last step was recorded.
	UpdatedAt time.Time `json:"updated_at"`
	Rev       int       `json:"rev"`
}

// OverdueItem is a case with the deadlines binding the office that have
// passed.
type OverdueItem struct {
	ID     string          `json:"id"`
	CaseNo string          `json:"case_no"`
	Unit   string          `json:"unit,omitempty"`
	State  cases.State     `json:"state"`
	Items  []cases.DueItem `json:"items"`
}

// Open validates the rules, reads every stored case revision and keeps the
// latest of each case. The scan runs at start only, never on a request.
func Open(ctx context.Context, st Store, seq cases.Sequencer, rules cases.Rules, opt Options) (*Service, error) {
	if err := rules.Validate(); err != nil {
		return nil, fmt.Errorf("casesvc.Open: rules: %w", err)
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Prefix == "" {
		opt.Prefix = DefaultPrefix
	}
	s := &Service{store: st, seq: seq, rules: rules, opt: opt, log: opt.Logger,
		cases: map[string]*head{}, caseNo: map[string]string{}, byState: map[cases.State]map[string]*head{}}
	began := time.Now()
	err := st.ScanCaseRevisions(ctx, func(rev int, c cases.Case) error {
		if cur, ok := s.cases[c.ID]; ok && cur.rev >= rev {
			return nil
		}
		s.cases[c.ID] = &head{c: c, rev: rev}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("casesvc.Open: %w", err)
	}
	loaded := s.cases
	s.cases = map[string]*head{}
	heads := make([]*head, 0, len(loaded))
	for _, h := range loaded {
		heads = append(heads, h)
	}
	slices.SortFunc(heads, compareHeads)
	for _, h := range heads {
		s.put(h)
	}
	s.log.Info("cases loaded", "cases", len(s.cases), "elapsed_ms", time.Since(began).Milliseconds())
	return s, nil
}

// Rules returns the rules in force.
func (s *Service) Rules() cases.Rules { return s.rules }

// now is the clock at the precision the store keeps (milliseconds, UTC),
// so that a case reads the same before and after a restart.
func (s *Service) now() time.Time { return nowMs(s.opt.Now) }

func instant(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Millisecond)
}

func invalid(field, detail string) error {
	return fmt.Errorf("%w: %w", enforcement.ErrInvalid,
		&enforcement.ValidationError{Fields: []enforcement.FieldError{{Field: field, Detail: detail}}})
}

// File opens a case (立案) as actor and stores it as revision 1. f.ID is the
// client-generated id (1 to 64 letters, digits, '.', '_' or '-'). When
// f.CaseNo is empty the service issues the next number of the filing's
// Asia/Shanghai year; the filing is validated before a number is issued,
// so a refused filing uses none. Errors: enforcement.ErrInvalid (with a
// *enforcement.ValidationError), enforcement.ErrForbidden for an actor
// who may not act, enforcement.ErrExists when a case with this id exists.
func (s *Service) File(ctx context.Context, actor cases.Actor, f cases.Filing) (cases.Case, int, error) {
	c, rev, err := s.file(ctx, actor, f)
	if err == nil {
		s.changed(ctx, c, rev)
	}
	return c, rev, err
}

func (s *Service) file(ctx context.Context, actor cases.Actor, f cases.Filing) (cases.Case, int, error) {
	if !enforcement.ValidID(f.ID) {
		return cases.Case{}, 0, fmt.Errorf("casesvc: file: %w", invalid("id",
			fmt.Sprintf("required: 1 to %d letters, digits, '.', '_' or '-' (a UUID or ULID)", enforcement.MaxIDLength)))
	}
	f.FiledAt = instant(f.FiledAt)
	now := s.now()

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cases[f.ID]; ok {
		return cases.Case{}, 0, fmt.Errorf("casesvc: file %s: %w", f.ID, enforcement.ErrExists)
	}
	if f.CaseNo != "" {
		if other, ok := s.caseNo[f.CaseNo]; ok {
			return cases.Case{}, 0, fmt.Errorf("casesvc: file %s: %w", f.ID, invalid("case_no", "is the number of case "+other))
		}
	} else {
		// Validate with a stand-in number first: a number once issued is
		// never reused, so it is issued only for a filing that will pass.
		probe := f
		year := cases.YearOf(f.FiledAt)
		if year < 1000 || year > 9999 {
			year = 2000
		}
		probe.CaseNo = cases.FormatCaseNo(s.opt.Prefix, year, 1)
		if _, err := cases.File(probe, actor, now); err != nil {
			return cases.Case{}, 0, err
		}
		n, err := s.seq.Next(ctx, s.opt.Prefix, cases.YearOf(f.FiledAt))
		if err != nil {
			return cases.Case{}, 0, fmt.Errorf("casesvc: file %s: case number: %w", f.ID, err)
		}
		f.CaseNo = cases.FormatCaseNo(s.opt.Prefix, cases.YearOf(f.FiledAt), n)
	}
	c, err := cases.File(f, actor, now)
	if err != nil {
		return cases.Case{}, 0, err
	}
	if err := s.store.InsertCaseRevision(ctx, c, 1, actor.ID, now); err != nil {
		if errors.Is(err, enforcement.ErrExists) {
			return cases.Case{}, 0, fmt.Errorf("casesvc: file %s: %w", f.ID, enforcement.ErrExists)
		}
		return cases.Case{}, 0, fmt.Errorf("casesvc: file %s: %w", f.ID, err)
	}
	s.put(&head{c: c, rev: 1})
	s.audit(ctx, actor, cases.ActionFile, c.ID, 1, nil, &c, now)
	return c, 1, nil
}

// Step applies one step of the procedure to case id as actor, on top of
// revision baseRev, and stores the result as the next revision. Errors:
// enforcement.ErrNotFound for an unknown case; enforcement.ErrConflict
// when baseRev is not the current revision (the case changed: reload) or
// another server stored the next revision first; and those of
// cases.Transition (*cases.TransitionError for a step the state does not
// allow, enforcement.ErrForbidden for a role that may not take it,
// enforcement.ErrInvalid for its fields).
func (s *Service) Step(ctx context.Context, actor cases.Actor, id string, baseRev int, step cases.Step) (cases.Case, int, error) {
	c, rev, err := s.step(ctx, actor, id, baseRev, step)
	if err == nil {
		s.changed(ctx, c, rev)
	}
	return c, rev, err
}

// changed calls Options.Changed and logs its failure.
func (s *Service) changed(ctx context.Context, c cases.Case, rev int) {
	if s.opt.Changed == nil {
		return
	}
	if err := s.opt.Changed(ctx, c); err != nil {
		s.log.Warn("case stored, its mirror not", "case", c.ID, "rev", rev, "err", err)
	}
}

func (s *Service) step(ctx context.Context, actor cases.Actor, id string, baseRev int, step cases.Step) (cases.Case, int, error) {
	step.At = instant(step.At)
	if step.Review != nil {
		r := *step.Review
		r.Date = instant(r.Date)
		step.Review = &r
	}
	if step.Transfer != nil {
		t := *step.Transfer
		t.Date = instant(t.Date)
		step.Transfer = &t
	}
	now := s.now()

	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.cases[id]
	if !ok {
		return cases.Case{}, 0, fmt.Errorf("casesvc: case %s: %w", id, enforcement.ErrNotFound)
	}
	if baseRev != cur.rev {
		return cases.Case{}, 0, fmt.Errorf("casesvc: case %s: %w: base_rev %d is not the current revision %d; the case changed, reload it",
			id, enforcement.ErrConflict, baseRev, cur.rev)
	}
	next, err := cases.Transition(cur.c, step, actor, s.rules, now)
	if err != nil {
		return cases.Case{}, 0, err
	}
	if err := cases.CheckAmendment(cur.c, next); err != nil {
		return cases.Case{}, 0, err
	}
	rev := cur.rev + 1
	if err := s.store.InsertCaseRevision(ctx, next, rev, actor.ID, now); err != nil {
		if errors.Is(err, enforcement.ErrExists) {
			return cases.Case{}, 0, fmt.Errorf("casesvc: case %s: %w: revision %d was stored by another server; reload the case",
				id, enforcement.ErrConflict, rev)
		}
		return cases.Case{}, 0, fmt.Errorf("casesvc: case %s: %w", id, err)
	}
	old := cur.c
	s.put(&head{c: next, rev: rev})
	s.audit(ctx, actor, step.Action, id, rev, &old, &next, now)
	return next, rev, nil
}

// audit appends the entry of a write; a failure is logged (the case is
// stored and the chain keeps what it could not store pending).
func (s *Service) audit(ctx context.Context, actor cases.Actor, action, id string, rev int, before, after *cases.Case, at time.Time) {
	if s.opt.Auditor == nil {
		return
	}
	e := audit.Entry{At: at, Actor: actor.ID, Action: "case." + action, Object: "case:" + id, Rev: int64(rev),
		Before: digest(before), After: digest(after)}
	if err := s.opt.Auditor.Audit(ctx, e); err != nil {
		s.log.Warn("case stored, its audit entry not", "case", id, "rev", rev, "action", action, "err", err)
	}
}

// digest is the SHA-256 of the case's JSON, "" for none.
func digest(c *cases.Case) string {
	if c == nil {
		return ""
	}
	b, err := json.Marshal(c)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Get returns the current case with id and its revision, or
// enforcement.ErrNotFound.
func (s *Service) Get(id string) (cases.Case, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, ok := s.cases[id]
	if !ok {
		return cases.Case{}, 0, fmt.Errorf("casesvc: case %s: %w", id, enforcement.ErrNotFound)
	}
	return h.c, h.rev, nil
}

// Follow makes revision rev of case id, which another server instance
// stored, current here unless a newer one is; it is the case registry's
// records.DocFollower.
func (s *Service) Follow(ctx context.Context, id string, rev int64) error {
	if _, cur, err := s.Get(id); err == nil && int64(cur) >= rev {
		return nil
	}
	c, err := s.store.GetCaseRevision(ctx, id, int(rev))
	if err != nil {
		return fmt.Errorf("casesvc: follow case %s: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.cases[id]; !ok || int64(cur.rev) < rev {
		s.put(&head{c: c, rev: int(rev)})
	}
	return nil
}

// Count is the number of cases.
func (s *Service) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.cases)
}

// put makes h the current revision of its case and files it in the
// indexes; the caller holds the write lock.
func (s *Service) put(h *head) {
	id := h.c.ID
	if old, ok := s.cases[id]; ok {
		delete(s.byState[old.c.State], id)
		i, found := slices.BinarySearchFunc(s.order, old, compareHeads)
		if found {
			s.order[i] = h
		}
	} else {
		i, _ := slices.BinarySearchFunc(s.order, h, compareHeads)
		s.order = slices.Insert(s.order, i, h)
	}
	s.cases[id] = h
	s.caseNo[h.c.CaseNo] = id
	if s.byState[h.c.State] == nil {
		s.byState[h.c.State] = map[string]*head{}
	}
	s.byState[h.c.State][id] = h
}

// compareHeads is the list order: the latest filing first, then by case
// number, then by id.
func compareHeads(a, b *head) int {
	return cmp.Or(b.c.FiledAt.Compare(a.c.FiledAt), cmp.Compare(a.c.CaseNo, b.c.CaseNo), cmp.Compare(a.c.ID, b.c.ID))
}

// MaxPage is the largest page List and OverduePage return.
const MaxPage = 1000

// ListQuery selects a page of cases: the state ("" = any), the units the
// caller may see (nil = all), the page size (1 to MaxPage, default 100) and
// the Next of the previous page ("" = the first page).
type ListQuery struct {
	State   cases.State
	Visible func(unit string) bool
	Limit   int
	After   string
}

// Page is a page of cases in list order: Total counts every case the query
// selects, and Next is the After of the following page ("" on the last).
type Page struct {
	Cases []CaseView `json:"cases"`
	Total int        `json:"total"`
	Next  string     `json:"next,omitempty"`
}

// ErrBadCursor wraps enforcement.ErrInvalid for an After that no page gave.
var ErrBadCursor = fmt.Errorf("%w: bad cursor", enforcement.ErrInvalid)

// cursor is the position after a case in list order.
type cursor struct {
	FiledAt time.Time `json:"f"`
	CaseNo  string    `json:"n"`
	ID      string    `json:"i"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == "" {
		return cursor{}, ErrBadCursor
	}
	return c, nil
}

// List returns a page of the cases q selects, in list order. It visits the
// cases in order from the cursor on, so a page costs its own size plus the
// cases of other states or units it passes. Errors: ErrBadCursor.
func (s *Service) List(q ListQuery) (Page, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, MaxPage)
	s.mu.RLock()
	defer s.mu.RUnlock()
	start := 0
	if q.After != "" {
		c, err := decodeCursor(q.After)
		if err != nil {
			return Page{}, err
		}
		probe := &head{c: cases.Case{ID: c.ID, CaseNo: c.CaseNo, FiledAt: c.FiledAt}}
		i, found := slices.BinarySearchFunc(s.order, probe, compareHeads)
		if found {
			i++
		}
		start = i
	}
	match := func(h *head) bool {
		return (q.State == "" || h.c.State == q.State) && (q.Visible == nil || q.Visible(h.c.Unit))
	}
	p := Page{Cases: []CaseView{}}
	switch {
	case q.Visible == nil && q.State == "":
		p.Total = len(s.order)
	case q.Visible == nil:
		p.Total = len(s.byState[q.State])
	case q.State != "":
		for _, h := range s.byState[q.State] {
			if q.Visible(h.c.Unit) {
				p.Total++
			}
		}
	default:
		for _, h := range s.order {
			if q.Visible(h.c.Unit) {
				p.Total++
			}
		}
	}
	for i := start; i < len(s.order); i++ {
		h := s.order[i]
		if !match(h) {
			continue
		}
		if len(p.Cases) == q.Limit {
			last := p.Cases[len(p.Cases)-1]
			p.Next = encodeCursor(cursor{FiledAt: last.FiledAt, CaseNo: last.CaseNo, ID: last.ID})
			break
		}
		p.Cases = append(p.Cases, view(h))
	}
	return p, nil
}

// CountByState returns the number of cases in each state.
func (s *Service) CountByState() map[cases.State]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[cases.State]int, len(s.byState))
	for st, m := range s.byState {
		out[st] = len(m)
	}
	return out
}

func view(h *head) CaseView {
	c := h.c
	v := CaseView{ID: c.ID, CaseNo: c.CaseNo, Unit: c.Unit, Violation: c.Violation, Party: c.Party, State: c.State,
		ProposedFineFen: c.ProposedFineFen, DecidedFineFen: c.DecidedFineFen, ConfiscationFen: c.ConfiscationFen,
		Major: c.Major, FiledAt: c.FiledAt, DecidedAt: c.DecidedAt, ClosedAt: c.ClosedAt, Rev: h.rev}
	if n := len(c.Steps); n > 0 {
		v.UpdatedAt = c.Steps[n-1].RecordedAt
	}
	return v
}

// finalStates are the states in which no deadline of the office runs.
var finalStates = []cases.State{cases.StateClosed, cases.StateWithdrawn, cases.StateTransferred}

// Overdue returns the cases whose units visible accepts (nil = all) with
// deadlines of the office that have passed at now (cases.Overdue), the most
// overdue first. It visits only the cases not in a final state.
func (s *Service) Overdue(now time.Time, visible func(unit string) bool) []OverdueItem {
	s.mu.RLock()
	out := []OverdueItem{}
	for st, m := range s.byState {
		if slices.Contains(finalStates, st) {
			continue
		}
		for _, h := range m {
			if visible != nil && !visible(h.c.Unit) {
				continue
			}
			if items := cases.Overdue(h.c, s.rules, now); len(items) > 0 {
				out = append(out, OverdueItem{ID: h.c.ID, CaseNo: h.c.CaseNo, Unit: h.c.Unit, State: h.c.State, Items: items})
			}
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b OverdueItem) int {
		return cmp.Or(a.Items[0].DueBy.Compare(b.Items[0].DueBy), cmp.Compare(a.CaseNo, b.CaseNo), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// All returns the current revision of every case that visible accepts
// (nil = all), in no set order.
func (s *Service) All(visible func(unit string) bool) []cases.Case {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]cases.Case, 0, len(s.cases))
	for _, h := range s.cases {
		if visible == nil || visible(h.c.Unit) {
			out = append(out, h.c)
		}
	}
	return out
}

// Import stores a case whose history was built elsewhere through the state
// machine (the demo year's, or one migrated from an earlier system) as its
// revision len(c.Steps), by actor. Its number must be the next one the
// sequencer issues for its prefix and year, so that numbers stay issued
// once, in order, and are never reused; import cases in number order.
// Errors: enforcement.ErrExists for a known id, enforcement.ErrInvalid for
// a case without steps, with a malformed number or a number other than the
// next one.
func (s *Service) Import(ctx context.Context, actor string, c cases.Case) error {
	if len(c.Steps) == 0 || c.Steps[0].Action != cases.ActionFile {
		return fmt.Errorf("casesvc: import %s: %w", c.ID, invalid("steps", "required: the history from its filing"))
	}
	prefix, year, seq, err := cases.ParseCaseNo(c.CaseNo)
	if err != nil {
		return fmt.Errorf("casesvc: import %s: %w", c.ID, err)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cases[c.ID]; ok {
		return fmt.Errorf("casesvc: import %s: %w", c.ID, enforcement.ErrExists)
	}
	n, err := s.seq.Next(ctx, prefix, year)
	if err != nil {
		return fmt.Errorf("casesvc: import %s: case number: %w", c.ID, err)
	}
	if n != seq {
		return fmt.Errorf("casesvc: import %s: %w", c.ID, invalid("case_no",
			fmt.Sprintf("the next number of %s %d is %d, not %d; import cases in number order into a store without them", prefix, year, n, seq)))
	}
	rev := len(c.Steps)
	if err := s.store.InsertCaseRevision(ctx, c, rev, actor, now); err != nil {
		return fmt.Errorf("casesvc: import %s: %w", c.ID, err)
	}
	s.put(&head{c: c, rev: rev})
	s.audit(ctx, cases.Actor{ID: actor}, "import", c.ID, rev, nil, &c, now)
	return nil
}
