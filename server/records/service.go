// Package records is the field-record service: it creates, corrects and voids
// records through a single group-committing writer that stores each revision
// as an insert with a deterministic _id and appends the audit chain, and it
// answers reads from read models it keeps in memory (record heads and
// per-day totals), built from the store at start (DESIGN.md §2).
package records

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baoshui/baoshui/geo"
	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/paulmach/orb"
)

// Store is what the service needs of the storage adapter. Errors wrap
// enforcement.ErrExists (an _id already stored), enforcement.ErrNotFound and
// enforcement.ErrUnavailable.
type Store interface {
	InsertRevisions(ctx context.Context, revs []enforcement.Record) []error
	GetRevision(ctx context.Context, id string, rev int64) (enforcement.Record, error)
	MarkSuperseded(ctx context.Context, id string, rev, by int64) error
	SetPlaces(ctx context.Context, ups []enforcement.PlaceUpdate) error
	ScanHeads(ctx context.Context, fn func(enforcement.Record) error) error
	InsertTrackChunk(ctx context.Context, c enforcement.TrackChunk) error
	GetTrackChunk(ctx context.Context, patrol string, seq int) (enforcement.TrackChunk, error)
	ScanTrackChunks(ctx context.Context, fn func(enforcement.TrackChunk) error) error
	InsertAudit(ctx context.Context, entries []audit.Entry) (int, error)
	GetAudit(ctx context.Context, seq int64) (audit.Entry, error)
	LastAudit(ctx context.Context) (audit.Entry, error)
	InsertSeqClaim(ctx context.Context, c enforcement.SeqClaim) error
	GetSeqClaim(ctx context.Context, n int64) (enforcement.SeqClaim, error)
	LastSeqClaim(ctx context.Context) (enforcement.SeqClaim, error)
	InsertSeqBody(ctx context.Context, n int64, revs []enforcement.Record) error
	GetSeqBody(ctx context.Context, n int64) ([]enforcement.Record, error)
	ScanAudit(ctx context.Context, fn func(audit.Entry) error) error
	SnapshotToken(ctx context.Context) (string, error)
	SetSnapshotToken(ctx context.Context, token string) error
}

// Actor is who performs a write; the service records it, the caller has
// already decided that the actor may act.
type Actor struct {
	Username string
}

// Service is the field-record service. It is safe for concurrent use.
type Service struct {
	store Store
	units *enforcement.UnitTree
	log   *slog.Logger
	now   func() time.Time

	mu    sync.RWMutex
	heads map[string]int32 // record id → index in all
	all   []head
	pts   []mapPt // the map's view of all, index for index
	// buckets index the located heads by coarse Web-Mercator cell (see
	// bucketOf), so that a small box reads only the heads near it.
	buckets map[uint32][]int32
	totals  map[cellKey]*enforcement.Counts
	names   interner // units, campaigns, users, zones, towns, cells
	crews   interner // officer lists, joined by \x00
	// efforts holds the effort of every patrol head with a track, by index
	// in all.
	efforts map[int32]*patrolEffort
	// chunks holds what the track chunks of a patrol add to its effort, by
	// index in all.
	chunks map[int32]*chunkAgg
	// voids are the server sequence and time of every void, in sequence
	// order: what the tombstone horizon of Changes is computed from.
	voids     []VoidMark
	retention time.Duration

	zones      Zones
	rezone     chan struct{}
	rezoneDone chan struct{}
	jobMu      sync.Mutex
	job        ReclassifyStatus

	ops       chan *op
	chain     *audit.Chain
	pending   []audit.Entry // audit entries made but not yet stored (unchained)
	storedSeq atomic.Int64  // the last audit sequence number known stored
	// lastClaim is the newest claim of the server sequence log known, and
	// queue the claims known but not yet applied, in order (writer only);
	// see follow.go.
	lastClaim   enforcement.SeqClaim
	queue       []*queuedClaim
	frontier    atomic.Int64 // every server sequence up to it is applied
	claimSeen   atomic.Int64 // lastClaim.N, for FollowStats
	queued      atomic.Int64 // len(queue), for FollowStats
	instance    string
	followEvery time.Duration
	shared      bool
	docs        *docQueue
	done        chan struct{}
	closeOnce   sync.Once
	cancel      context.CancelFunc

	snapshotPath string
	// LoadedFrom says how the read models were built: "scan" or "snapshot".
	LoadedFrom string
}

// head is the compact in-memory view of a record's latest revision: what
// lists, filters and authorisation need, about 100 bytes a record with its
// map entry. Strings that repeat are interned as indexes. The full revision
// is read from the store by _id.
type head struct {
	id         string
	rev        int64
	seq        int64 // the server sequence of the head revision
	observedMs int64
	lon, lat   float64 // the record's anchor (see enforcement.Record.Anchor)
	unit       uint32
	campaign   uint32
	createdBy  uint32
	officers   uint32
	kindIx     uint8 // index in enforcement.Kinds
	voided     bool
	located    bool // the record has an anchor; lon, lat are meaningful
	activity   uint8
	// mx, my are the anchor in Web Mercator, the world as [0, 2³²)², for
	// clustering without trigonometry.
	mx, my uint32
	// The place: interned ids of the zone, town and cell containing the
	// anchor or nearest to it, which of them contain it, and the zones
	// generation of the place stored in the record's document.
	zone, town, cell uint32
	inside           uint8 // insideZone | insideTown | insideCell
	placeGen         int32
	summary
}

// summary is what a map popup shows of an incident without reading it.
type summary struct {
	persons, animals, vehicles, items int32
	valueFen, fineFen                 int64
}

// The bits of head.inside.
const (
	insideZone uint8 = 1 << iota
	insideTown
	insideCell
)

// interner maps repeated strings to small indexes. It is guarded by the
// Service's mutex.
type interner struct {
	strs []string
	idx  map[string]uint32
}

func (in *interner) id(s string) uint32 {
	if i, ok := in.idx[s]; ok {
		return i
	}
	if in.idx == nil {
		in.idx = map[string]uint32{}
	}
	i := uint32(len(in.strs))
	in.strs = append(in.strs, s)
	in.idx[s] = i
	return i
}

func (in *interner) str(i uint32) string { return in.strs[i] }

type cellKey struct {
	day      enforcement.Day
	unit     uint32
	campaign uint32
}

// Options configure a Service.
type Options struct {
	// SnapshotPath, when set, is where the read models are written at Close
	// and read back at Open instead of scanning the store, if still valid.
	SnapshotPath string
	Logger       *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Zones, when set, gives every record its place at write time; call
	// ZonesChanged when the layers change.
	Zones Zones
	// TombstoneRetention is how long a void stays in the sync feed
	// (Changes); 0 keeps it for ever.
	TombstoneRetention time.Duration
	// Instance names this instance in the server sequence log; default
	// the host name and process id.
	Instance string
	// Shared says that other instances may share the store: the writer
	// then stores the body of each claim for them to follow, reads their
	// writes every FollowInterval while idle, and Lookup follows on a
	// miss. An instance alone on its store does none of these.
	Shared bool
	// FollowInterval is how often an idle writer reads the writes of other
	// instances sharing the store; default 250 ms.
	FollowInterval time.Duration
	// DocKinds are the kinds of other documents whose revisions are
	// claimed in the server sequence log when audited (Object
	// "{kind}:{id}" with a Rev), so that other instances follow them
	// (FollowDocs).
	DocKinds []string
}

// Open builds the read models from the store, finds the head of the audit
// chain, and starts the writer. Close stops it.
func Open(ctx context.Context, st Store, units *enforcement.UnitTree, opt Options) (*Service, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Instance == "" {
		host, _ := os.Hostname()
		opt.Instance = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	if opt.FollowInterval <= 0 {
		opt.FollowInterval = 250 * time.Millisecond
	}
	// The newest claim is read before the read models are built, so that
	// the claims made while they are built are followed afterwards.
	lastClaim, err := st.LastSeqClaim(ctx)
	if err != nil {
		return nil, fmt.Errorf("records: open: %w", err)
	}
	s := &Service{instance: opt.Instance, followEvery: opt.FollowInterval, shared: opt.Shared, docs: newDocQueue(opt.DocKinds, opt.Logger),
		store: st, units: units, log: opt.Logger, now: opt.Now, snapshotPath: opt.SnapshotPath, LoadedFrom: "scan",
		retention: opt.TombstoneRetention, heads: map[string]int32{}, totals: map[cellKey]*enforcement.Counts{}, efforts: map[int32]*patrolEffort{}, chunks: map[int32]*chunkAgg{},
		ops: make(chan *op, 1024), done: make(chan struct{}), zones: opt.Zones,
		rezone: make(chan struct{}, 1), rezoneDone: make(chan struct{}), job: ReclassifyStatus{State: "idle"},
	}
	loaded, claimN := false, lastClaim.N
	if s.snapshotPath != "" {
		var snapClaim int64
		if loaded, snapClaim, err = s.loadSnapshot(ctx); err != nil {
			return nil, fmt.Errorf("records: open: %w", err)
		}
		if loaded {
			// Follow everything claimed since the snapshot was written.
			claimN = snapClaim
		}
	}
	if loaded {
		s.LoadedFrom = "snapshot"
	} else if err := s.load(ctx); err != nil {
		return nil, fmt.Errorf("records: open: %w", err)
	}
	var maxSeq int64
	for i := range s.all {
		maxSeq = max(maxSeq, s.all[i].seq)
	}
	slices.SortFunc(s.voids, func(a, b VoidMark) int { return cmp.Compare(a.Seq, b.Seq) })
	last, err := st.LastAudit(ctx)
	if err != nil {
		return nil, fmt.Errorf("records: open: audit head: %w", err)
	}
	s.chain = audit.NewChain(last)
	s.storedSeq.Store(last.Seq)
	if err := s.startFollowing(ctx, claimN, maxSeq); err != nil {
		return nil, fmt.Errorf("records: open: %w", err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.writer(wctx)
	go s.docs.run(wctx)
	if s.zones != nil {
		go s.reclassifier(wctx)
		s.ZonesChanged() // resume a job a restart interrupted
	} else {
		close(s.rezoneDone)
	}
	return s, nil
}

// Close stops the writer after the operations already queued are done and,
// with a snapshot path, writes the read models there.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		close(s.ops)
		<-s.done
		s.cancel()
		<-s.rezoneDone
		if s.snapshotPath != "" && len(s.pending) == 0 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.writeSnapshot(ctx); err != nil {
				s.log.Warn("read-model snapshot not written; the next start scans the store", "err", err)
			}
		}
	})
}

// load scans the stored revisions that are not marked superseded and keeps,
// per record, the highest. Two unsuperseded revisions of one record exist
// only when a write stopped between storing a correction and marking the
// revision before it; the lower one is then read again by _id to take its
// contribution back out of the totals.
func (s *Service) load(ctx context.Context) error {
	var stale [][2]int64 // index in all, stale revision
	err := s.store.ScanHeads(ctx, func(r enforcement.Record) error {
		if i, ok := s.heads[r.ID]; ok {
			h := &s.all[i]
			if h.rev >= r.Rev {
				return nil // never counted
			}
			stale = append(stale, [2]int64{int64(i), h.rev}) // counted: take it out below
			s.put(i, s.newHead(&r))
			s.setEffort(i, &r)
		} else {
			s.heads[r.ID] = int32(len(s.all))
			s.put(int32(len(s.all)), s.newHead(&r))
			s.setEffort(int32(len(s.all)-1), &r)
		}
		s.addTotals(&r, 1)
		if r.Voided {
			s.voids = append(s.voids, VoidMark{Seq: r.ServerSeq, AtMs: r.ReceivedAt.UnixMilli()})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, st := range stale {
		h := s.all[st[0]]
		old, err := s.store.GetRevision(ctx, h.id, st[1])
		if err != nil {
			return err
		}
		s.addTotals(&old, -1)
	}
	return s.loadChunks(ctx)
}

// put stores h at index i of the heads (i == len(s.all) appends) and its
// map point beside it; s.mu must be held for writing.
func (s *Service) put(i int32, h head) {
	p := h.pt()
	if int(i) == len(s.all) {
		s.all = append(s.all, h)
		s.pts = append(s.pts, p)
		if h.located {
			s.bucketAdd(bucketOf(p.mx, p.my), i)
		}
		return
	}
	old := s.all[i]
	s.all[i] = h
	s.pts[i] = p
	ko, kn := bucketOf(old.mx, old.my), bucketOf(p.mx, p.my)
	if old.located && (!h.located || ko != kn) {
		b := s.buckets[ko]
		if j := slices.Index(b, i); j >= 0 {
			s.buckets[ko] = slices.Delete(b, j, j+1)
		}
	}
	if h.located && (!old.located || ko != kn) {
		s.bucketAdd(kn, i)
	}
}

func (s *Service) bucketAdd(k uint32, i int32) {
	if s.buckets == nil {
		s.buckets = map[uint32][]int32{}
	}
	s.buckets[k] = append(s.buckets[k], i)
}

// newHead builds the compact view of r; it must be called with s.mu held for
// writing or before the service is shared (it uses the interners).
func (s *Service) newHead(r *enforcement.Record) head {
	h := head{
		id: r.ID, rev: r.Rev, seq: r.ServerSeq, kindIx: kindIndex(r.Kind), unit: s.names.id(r.Unit), campaign: s.names.id(r.Campaign),
		createdBy: s.names.id(r.CreatedBy), officers: s.crews.id(strings.Join(r.Officers, "\x00")),
		observedMs: r.ObservedAt.UnixMilli(), voided: r.Voided,
	}
	if p, ok := r.Anchor(); ok {
		h.lon, h.lat, h.located = p[0], p[1], true
		h.mx, h.my = mercator(p[0], p[1])
	}
	h.setPlace(r.Place, &s.names)
	h.activity = uint8(activityIndex(r.Activity))
	h.summary = summary{persons: int32(r.Persons), animals: int32(r.Animals), vehicles: int32(r.Vehicles),
		items: int32(r.ItemCount()), valueFen: r.ValueFen(), fineFen: r.FineFen}
	return h
}

// setPlace copies p into h, interning the ids in names.
func (h *head) setPlace(p *enforcement.Place, names *interner) {
	h.inside, h.placeGen = 0, 0
	h.zone, h.town, h.cell = names.id(""), names.id(""), names.id("")
	if p == nil {
		return
	}
	h.placeGen = int32(p.ZonesVersion)
	h.zone, h.town, h.cell = names.id(p.Zone), names.id(p.Town), names.id(p.Cell)
	if p.Zone != "" && p.ZoneDistanceM == 0 {
		h.inside |= insideZone
	}
	if p.Town != "" && p.TownDistanceM == 0 {
		h.inside |= insideTown
	}
	if p.Cell != "" && p.CellDistanceM == 0 {
		h.inside |= insideCell
	}
}

// kind returns the record kind of h.
func (h *head) kind() enforcement.Kind { return enforcement.Kinds[h.kindIx] }

func kindIndex(k enforcement.Kind) uint8 {
	for i, x := range enforcement.Kinds {
		if x == k {
			return uint8(i)
		}
	}
	return 0
}

func activityIndex(a enforcement.Activity) int {
	for i, x := range enforcement.Activities {
		if x == a {
			return i
		}
	}
	return 0
}

// addTotals adds (sign +1) or removes (-1) the contributions of revision r,
// counted under its own unit and campaign.
func (s *Service) addTotals(r *enforcement.Record, sign int64) {
	unit, campaign := s.names.id(r.Unit), s.names.id(r.Campaign)
	for _, c := range r.Contributions() {
		k := cellKey{day: c.Day, unit: unit, campaign: campaign}
		cell := s.totals[k]
		if cell == nil {
			cell = &enforcement.Counts{}
			s.totals[k] = cell
		}
		cell.Add(c.Counts, sign)
		if cell.IsZero() {
			delete(s.totals, k)
		}
	}
}

// Prepare turns a decoded input into the first revision of a new record:
// coordinates converted to WGS-84 (the original kept), times cut to the
// millisecond the store keeps, the unit checked against the tree.
func (s *Service) Prepare(in enforcement.Input) (enforcement.Record, error) {
	r := in.Record
	verr := &enforcement.ValidationError{}
	if _, ok := s.units.Get(r.Unit); !ok {
		verr.Fields = append(verr.Fields, enforcement.FieldError{Field: "unit", Detail: "unknown unit"})
	}
	if in.CRS != "" && in.CRS != string(geo.WGS84) {
		crs, err := geo.ParseCRS(in.CRS)
		if err == nil && r.Location != nil {
			orig := r.Location.Coordinates
			var p orb.Point
			p, err = geo.ToWGS84(orb.Point(orig), crs)
			if err == nil {
				r.OriginalLocation = &enforcement.OriginalLocation{CRS: string(crs), Coordinates: orig}
				r.Location = &enforcement.Point{Type: "Point", Coordinates: roundCoords(p)}
			}
			if err == nil && r.Track != nil {
				for i, q := range r.Track.Coordinates {
					w, _ := geo.ToWGS84(orb.Point(q), crs)
					r.Track.Coordinates[i] = roundCoords(w)
				}
			}
		}
		if err != nil {
			verr.Fields = append(verr.Fields, enforcement.FieldError{Field: "crs", Detail: err.Error()})
		}
	}
	if len(verr.Fields) > 0 {
		return enforcement.Record{}, fmt.Errorf("%w: %w", enforcement.ErrInvalid, verr)
	}
	truncateTimes(&r)
	return r, nil
}

// roundCoords keeps 1e-8 degrees (about a millimetre): enough for any GNSS
// fix, and a converted point then has one canonical form.
func roundCoords(p orb.Point) enforcement.Position {
	const f = 1e8
	return enforcement.Position{float64(int64(p[0]*f+copysignHalf(p[0]))) / f, float64(int64(p[1]*f+copysignHalf(p[1]))) / f}
}

func copysignHalf(v float64) float64 {
	if v < 0 {
		return -0.5
	}
	return 0.5
}

func truncateTimes(r *enforcement.Record) {
	ms := func(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
	msp := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		v := ms(*t)
		return &v
	}
	r.ObservedAt = ms(r.ObservedAt)
	r.StartedAt, r.EndedAt, r.FiledAt, r.DecidedAt = msp(r.StartedAt), msp(r.EndedAt), msp(r.FiledAt), msp(r.DecidedAt)
	r.GNSSAt = msp(r.GNSSAt)
	for i, t := range r.TrackTimes {
		r.TrackTimes[i] = ms(t)
	}
}

// Result is the outcome of a write: the stored revision and whether this
// call created it (false: the same record was already stored).
type Result struct {
	Record  enforcement.Record
	Created bool
}

// Create stores r (prepared by Prepare) as revision 1. If a record with the
// same id exists, it returns the stored record with Created false when the
// bodies are the same, and an error wrapping ErrConflict when they differ.
func (s *Service) Create(ctx context.Context, actor Actor, r enforcement.Record) (Result, error) {
	return s.submit(ctx, s.newOp(actor, Write{Op: WriteCreate, Record: r}))
}

// Correct stores r as a new revision superseding baseRev, which must be the
// record's current revision (ErrConflict otherwise, with the current record).
func (s *Service) Correct(ctx context.Context, actor Actor, baseRev int64, r enforcement.Record) (Result, error) {
	return s.submit(ctx, s.newOp(actor, Write{Op: WriteCorrect, Record: r, BaseRev: baseRev}))
}

// Void marks the record void from a new revision on; it then counts nowhere.
func (s *Service) Void(ctx context.Context, actor Actor, id string, baseRev int64, reason string) (Result, error) {
	return s.submit(ctx, s.newOp(actor, Write{Op: WriteVoid, ID: id, BaseRev: baseRev, Reason: reason}))
}

// WriteOp is what a Write does.
type WriteOp int

// The write operations.
const (
	WriteCreate WriteOp = iota
	WriteCorrect
	WriteVoid
)

// Write is one write of a batch: a Create (Record prepared by Prepare), a
// Correct (Record and BaseRev) or a Void (ID, BaseRev, Reason; Sync, when
// set, is recorded as the origin of the void revision).
type Write struct {
	Op      WriteOp
	Record  enforcement.Record
	ID      string
	BaseRev int64
	Reason  string
	Sync    *enforcement.SyncOrigin
}

// WriteBatch performs the writes in order, as Create, Correct and Void do
// one by one, but queues them all before waiting, so that they share group
// commits. Writes to the same record are applied in the order given. It
// returns one result and one error per write.
func (s *Service) WriteBatch(ctx context.Context, actor Actor, ws []Write) ([]Result, []error) {
	ops := make([]*op, len(ws))
	res, errs := make([]Result, len(ws)), make([]error, len(ws))
	queued := 0
	for i, w := range ws {
		ops[i] = s.newOp(actor, w)
		ops[i].done = make(chan struct{})
		if errs[i] = s.enqueue(ctx, ops[i]); errs[i] != nil {
			break
		}
		queued++
	}
	for i := range ws {
		switch {
		case i >= queued:
			if errs[i] == nil {
				errs[i] = errs[queued]
			}
		default:
			select {
			case <-ops[i].done:
				res[i], errs[i] = ops[i].res, ops[i].err
			case <-ctx.Done():
				errs[i] = fmt.Errorf("records: %w: %v", enforcement.ErrUnavailable, ctx.Err())
			}
		}
	}
	return res, errs
}

// newOp prepares the op for w: the derived fields of a created or corrected
// record are filled in the caller's goroutine, not the writer's.
func (s *Service) newOp(actor Actor, w Write) *op {
	r := w.Record
	switch w.Op {
	case WriteCreate:
		r.Rev = 1
		r.CreatedBy, r.RecordedBy = actor.Username, actor.Username
		r.BodySHA256 = r.CanonicalHash()
		r.UnitPath = s.units.Path(r.Unit)
		s.derive(&r)
		return &op{kind: opCreate, rec: r, actor: actor}
	case WriteCorrect:
		r.UnitPath = s.units.Path(r.Unit)
		r.RecordedBy = actor.Username
		r.BodySHA256 = r.CanonicalHash()
		s.derive(&r)
		return &op{kind: opCorrect, rec: r, baseRev: w.BaseRev, actor: actor}
	default:
		return &op{kind: opVoid, rec: enforcement.Record{ID: w.ID}, baseRev: w.BaseRev, reason: w.Reason, actor: actor, sync: w.Sync}
	}
}

// Audit appends an entry for a write made elsewhere (units, users, devices),
// in the same chain as the record writes.
func (s *Service) Audit(ctx context.Context, e audit.Entry) error {
	_, err := s.submit(ctx, &op{kind: opAudit, entry: e})
	return err
}

// ConflictError carries the current stored record of a conflicting write.
type ConflictError struct {
	Current enforcement.Record
	Reason  string
}

func (e *ConflictError) Error() string { return "conflict: " + e.Reason }
func (e *ConflictError) Unwrap() error { return enforcement.ErrConflict }

// Head returns the current revision number and object-level facts of a
// record, from memory.
func (s *Service) Head(id string) (HeadInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.heads[id]
	if !ok {
		return HeadInfo{}, false
	}
	h := &s.all[i]
	return HeadInfo{ID: h.id, Rev: h.rev, Kind: h.kind(), Unit: s.names.str(h.unit), CreatedBy: s.names.str(h.createdBy), Voided: h.voided}, true
}

// HeadInfo is what authorisation needs to know about a record.
type HeadInfo struct {
	ID        string
	Rev       int64
	Kind      enforcement.Kind
	Unit      string
	CreatedBy string
	Voided    bool
}

// Get reads the current revision of a record from the store by _id.
func (s *Service) Get(ctx context.Context, id string) (enforcement.Record, error) {
	h, ok := s.Head(id)
	if !ok {
		return enforcement.Record{}, fmt.Errorf("records: get %s: %w", id, enforcement.ErrNotFound)
	}
	r, err := s.store.GetRevision(ctx, id, h.Rev)
	if err != nil {
		return enforcement.Record{}, fmt.Errorf("records: get: %w", err)
	}
	return s.currentPlace(r), nil
}

// History reads every revision of a record, oldest first.
func (s *Service) History(ctx context.Context, id string) ([]enforcement.Record, error) {
	h, ok := s.Head(id)
	if !ok {
		return nil, fmt.Errorf("records: history %s: %w", id, enforcement.ErrNotFound)
	}
	out := make([]enforcement.Record, 0, h.Rev)
	for rev := int64(1); rev <= h.Rev; rev++ {
		r, err := s.store.GetRevision(ctx, id, rev)
		if err != nil {
			return nil, fmt.Errorf("records: history: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Count is the number of records (voided included) the service knows.
func (s *Service) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.all)
}

var errClosed = errors.New("records: service closed")
