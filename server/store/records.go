package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/enforcement"
)

// RevisionID is the deterministic _id of revision rev of record id.
func RevisionID(id string, rev int64) string { return id + ":" + strconv.FormatInt(rev, 10) }

// recordDoc is how one revision of a field record is stored. Lines are WKB
// (FerretDB refuses nested arrays); the derived keys (day, month, unit path,
// value) are written once so that a $match/$group can total them.
type recordDoc struct {
	ID         string     `bson:"_id"`
	RecordID   string     `bson:"record_id"`
	Rev        int64      `bson:"rev"`
	Kind       string     `bson:"kind"`
	ObservedAt time.Time  `bson:"observed_at"`
	GNSSAt     *time.Time `bson:"gnss_at,omitempty"`
	Day        string     `bson:"day"`
	Month      string     `bson:"month"`
	Lon        float64    `bson:"lon"`
	Lat        float64    `bson:"lat"`
	Coords     []float64  `bson:"coordinates"`
	Unit       string     `bson:"unit"`
	UnitPath   []string   `bson:"unit_path"`
	Officers   []string   `bson:"officers,omitempty"`
	PatrolID   string     `bson:"patrol_id,omitempty"`
	Campaign   string     `bson:"campaign,omitempty"`
	Note       string     `bson:"note,omitempty"`
	Photos     []photo    `bson:"photos,omitempty"`

	StartedAt  *time.Time  `bson:"started_at,omitempty"`
	EndedAt    *time.Time  `bson:"ended_at,omitempty"`
	TrackWKB   []byte      `bson:"track_wkb,omitempty"`
	TrackTimes []time.Time `bson:"track_times,omitempty"`

	Persons  int64    `bson:"persons,omitempty"`
	Activity string   `bson:"activity,omitempty"`
	Animals  int64    `bson:"animals,omitempty"`
	Vehicles int64    `bson:"vehicles,omitempty"`
	Plates   []string `bson:"plates,omitempty"`
	Items    []item   `bson:"items,omitempty"`
	ItemsQty int64    `bson:"items_quantity,omitempty"`
	ValueFen int64    `bson:"value_fen,omitempty"`

	CaseNo      string     `bson:"case_no,omitempty"`
	Violation   string     `bson:"violation,omitempty"`
	LegalBasis  string     `bson:"legal_basis,omitempty"`
	Party       string     `bson:"party,omitempty"`
	FineFen     int64      `bson:"fine_fen,omitempty"`
	Status      string     `bson:"status,omitempty"`
	FiledAt     *time.Time `bson:"filed_at,omitempty"`
	FiledDay    string     `bson:"filed_day,omitempty"`
	DecidedAt   *time.Time `bson:"decided_at,omitempty"`
	DecidedDay  string     `bson:"decided_day,omitempty"`
	OrigCRS     string     `bson:"orig_crs,omitempty"`
	OrigCoords  []float64  `bson:"orig_coordinates,omitempty"`
	CreatedBy   string     `bson:"created_by"`
	RecordedBy  string     `bson:"recorded_by"`
	ReceivedAt  time.Time  `bson:"received_at"`
	Voided      bool       `bson:"voided"`
	VoidReason  string     `bson:"void_reason,omitempty"`
	BodySHA256  string     `bson:"body_sha256"`
	Superseded  bool       `bson:"superseded"`
	SupersededB int64      `bson:"superseded_by,omitempty"`
	Place       *place     `bson:"place,omitempty"`
	Effort      *effort    `bson:"effort,omitempty"`
	Sync        *syncDoc   `bson:"sync,omitempty"`
	ServerSeq   int64      `bson:"server_seq,omitempty"`
}

type syncDoc struct {
	DeviceID      string `bson:"device_id"`
	Seq           int64  `bson:"seq"`
	ClockOffsetMs int64  `bson:"clock_offset_ms"`
	ClockSuspect  bool   `bson:"clock_suspect,omitempty"`
}

// place is enforcement.Place; zone, town and cell are top-level names in
// the document so that a $match can use them.
type place struct {
	ZonesVersion  int64    `bson:"zones_version"`
	Zone          string   `bson:"zone,omitempty"`
	ZoneDistanceM float64  `bson:"zone_distance_m,omitempty"`
	Town          string   `bson:"town,omitempty"`
	TownDistanceM float64  `bson:"town_distance_m,omitempty"`
	Cell          string   `bson:"cell,omitempty"`
	CellDistanceM float64  `bson:"cell_distance_m,omitempty"`
	Cells         []string `bson:"cells,omitempty"`
}

type effort struct {
	DistanceM float64 `bson:"distance_m"`
	DurationS float64 `bson:"duration_s"`
	MovingS   float64 `bson:"moving_s"`
	StoppedS  float64 `bson:"stopped_s"`
	Fixes     int     `bson:"fixes"`
	Dropped   int     `bson:"dropped,omitempty"`
}

type photo struct {
	SHA256 string `bson:"sha256"`
	Size   int64  `bson:"size"`
	MIME   string `bson:"mime"`
}

type item struct {
	Name         string `bson:"name"`
	Quantity     int64  `bson:"quantity"`
	UnitValueFen int64  `bson:"unit_value_fen"`
}

func toRecordDoc(r enforcement.Record) (recordDoc, error) {
	d := recordDoc{
		ID: RevisionID(r.ID, r.Rev), RecordID: r.ID, Rev: r.Rev, Kind: string(r.Kind),
		ObservedAt: r.ObservedAt, GNSSAt: r.GNSSAt, Day: enforcement.DayOf(r.ObservedAt).String(),
		Month: enforcement.DayOf(r.ObservedAt).Month(), Unit: r.Unit, UnitPath: r.UnitPath,
		Officers: r.Officers, PatrolID: r.PatrolID, Campaign: r.Campaign, Note: r.Note,
		StartedAt: r.StartedAt, EndedAt: r.EndedAt, TrackTimes: r.TrackTimes,
		Persons: r.Persons, Activity: string(r.Activity), Animals: r.Animals,
		Vehicles: r.Vehicles, Plates: r.Plates, ItemsQty: r.ItemCount(), ValueFen: r.ValueFen(),
		CaseNo: r.CaseNo, Violation: r.Violation, LegalBasis: r.LegalBasis, Party: r.Party,
		FineFen: r.FineFen, Status: r.Status, FiledAt: r.FiledAt, DecidedAt: r.DecidedAt,
		CreatedBy: r.CreatedBy, RecordedBy: r.RecordedBy, ReceivedAt: r.ReceivedAt,
		Voided: r.Voided, VoidReason: r.VoidReason, BodySHA256: r.BodySHA256, ServerSeq: r.ServerSeq,
	}
	if r.Location != nil {
		d.Lon, d.Lat = r.Location.Coordinates[0], r.Location.Coordinates[1]
		d.Coords = []float64{d.Lon, d.Lat}
	}
	if r.OriginalLocation != nil {
		d.OrigCRS = r.OriginalLocation.CRS
		d.OrigCoords = r.OriginalLocation.Coordinates[:]
	}
	if r.FiledAt != nil {
		d.FiledDay = enforcement.DayOf(*r.FiledAt).String()
	}
	if r.DecidedAt != nil {
		d.DecidedDay = enforcement.DayOf(*r.DecidedAt).String()
	}
	for _, p := range r.Photos {
		d.Photos = append(d.Photos, photo(p))
	}
	for _, it := range r.Items {
		d.Items = append(d.Items, item(it))
	}
	if r.Place != nil {
		p := place(*r.Place)
		d.Place = &p
	}
	if r.Effort != nil {
		e := effort(*r.Effort)
		d.Effort = &e
	}
	if r.Sync != nil {
		o := syncDoc(*r.Sync)
		d.Sync = &o
	}
	if r.Track != nil {
		ls := make(orb.LineString, len(r.Track.Coordinates))
		for i, p := range r.Track.Coordinates {
			ls[i] = orb.Point(p)
		}
		b, err := wkb.Marshal(ls)
		if err != nil {
			return d, fmt.Errorf("encode track: %w", err)
		}
		d.TrackWKB = b
	}
	return d, nil
}

func fromRecordDoc(d recordDoc) (enforcement.Record, error) {
	r := enforcement.Record{
		ID: d.RecordID, Rev: d.Rev, Kind: enforcement.Kind(d.Kind), ObservedAt: d.ObservedAt.UTC(),
		Unit: d.Unit, UnitPath: d.UnitPath, Officers: d.Officers, PatrolID: d.PatrolID, Campaign: d.Campaign, Note: d.Note,
		StartedAt: utc(d.StartedAt), EndedAt: utc(d.EndedAt), GNSSAt: utc(d.GNSSAt),
		Persons: d.Persons, Activity: enforcement.Activity(d.Activity), Animals: d.Animals,
		Vehicles: d.Vehicles, Plates: d.Plates,
		CaseNo: d.CaseNo, Violation: d.Violation, LegalBasis: d.LegalBasis, Party: d.Party,
		FineFen: d.FineFen, Status: d.Status, FiledAt: utc(d.FiledAt), DecidedAt: utc(d.DecidedAt),
		CreatedBy: d.CreatedBy, RecordedBy: d.RecordedBy, ReceivedAt: d.ReceivedAt.UTC(),
		Voided: d.Voided, VoidReason: d.VoidReason, BodySHA256: d.BodySHA256, ServerSeq: d.ServerSeq,
	}
	if len(d.Coords) == 2 {
		r.Location = &enforcement.Point{Type: "Point", Coordinates: [2]float64{d.Coords[0], d.Coords[1]}}
	}
	if len(d.OrigCoords) == 2 {
		r.OriginalLocation = &enforcement.OriginalLocation{CRS: d.OrigCRS, Coordinates: [2]float64{d.OrigCoords[0], d.OrigCoords[1]}}
	}
	for _, p := range d.Photos {
		r.Photos = append(r.Photos, enforcement.Photo(p))
	}
	for _, it := range d.Items {
		r.Items = append(r.Items, enforcement.Item(it))
	}
	if d.Place != nil {
		p := enforcement.Place(*d.Place)
		r.Place = &p
	}
	if d.Effort != nil {
		e := enforcement.Effort(*d.Effort)
		r.Effort = &e
	}
	if d.Sync != nil {
		o := enforcement.SyncOrigin(*d.Sync)
		r.Sync = &o
	}
	if len(d.TrackTimes) > 0 {
		r.TrackTimes = make([]time.Time, len(d.TrackTimes))
		for i, t := range d.TrackTimes {
			r.TrackTimes[i] = t.UTC()
		}
	}
	if len(d.TrackWKB) > 0 {
		g, err := wkb.Unmarshal(d.TrackWKB)
		if err != nil {
			return enforcement.Record{}, fmt.Errorf("decode track of %s: %w", d.ID, err)
		}
		ls, ok := g.(orb.LineString)
		if !ok {
			return enforcement.Record{}, fmt.Errorf("decode track of %s: not a LineString", d.ID)
		}
		r.Track = &enforcement.LineString{Type: "LineString", Coordinates: make([]enforcement.Position, len(ls))}
		for i, p := range ls {
			r.Track.Coordinates[i] = enforcement.Position(p)
		}
	}
	return r, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// InsertRevisions stores record revisions, unordered, and reports per revision
// nil, an error wrapping ErrDuplicate (that _id — record id and rev — is
// already stored), or another error.
func (s *Store) InsertRevisions(ctx context.Context, revs []enforcement.Record) []error {
	docs := make([]any, len(revs))
	errs := make([]error, len(revs))
	if err := s.invalidateSnapshot(ctx); err != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("store: insert revisions: %w", err)
		}
		return errs
	}
	var todo []int
	for i, rv := range revs {
		d, err := toRecordDoc(rv)
		if err != nil {
			errs[i] = fmt.Errorf("store: insert revisions: %w", err)
			continue
		}
		docs[i] = d
		todo = append(todo, i)
	}
	batch := make([]any, len(todo))
	for j, i := range todo {
		batch[j] = docs[i]
	}
	for j, err := range s.insertMany(ctx, colRecords, batch) {
		if err != nil {
			errs[todo[j]] = fmt.Errorf("store: insert revisions: %w", err)
		}
	}
	return errs
}

// GetRevision loads revision rev of record id.
func (s *Store) GetRevision(ctx context.Context, id string, rev int64) (enforcement.Record, error) {
	var d recordDoc
	if err := s.findByID(ctx, colRecords, RevisionID(id, rev), &d); err != nil {
		return enforcement.Record{}, fmt.Errorf("store: get revision %s:%d: %w", id, rev, err)
	}
	rv, err := fromRecordDoc(d)
	if err != nil {
		return enforcement.Record{}, fmt.Errorf("store: get revision: %w", err)
	}
	return rv, nil
}

// MarkSuperseded flags revision rev of record id as superseded by a newer
// revision. It is an update by _id, done when a person corrects or voids.
func (s *Store) MarkSuperseded(ctx context.Context, id string, rev, by int64) error {
	if err := s.invalidateSnapshot(ctx); err != nil {
		return fmt.Errorf("store: mark superseded: %w", err)
	}
	_, err := s.db.Collection(colRecords).UpdateByID(ctx, RevisionID(id, rev),
		bson.D{{Key: "$set", Value: bson.D{{Key: "superseded", Value: true}, {Key: "superseded_by", Value: by}}}})
	if err != nil {
		return fmt.Errorf("store: mark superseded %s:%d: %w", id, rev, classify(err))
	}
	return nil
}

// ScanHeads calls fn for every stored revision not marked superseded, in no
// particular order. It reads the whole collection: only for building read
// models at start.
func (s *Store) ScanHeads(ctx context.Context, fn func(enforcement.Record) error) error {
	err := scan(ctx, s, colRecords, func(d recordDoc) error {
		if d.Superseded {
			return nil
		}
		rv, err := fromRecordDoc(d)
		if err != nil {
			return err
		}
		return fn(rv)
	})
	if err != nil {
		return fmt.Errorf("store: scan heads: %w", err)
	}
	return nil
}

// auditDoc is how an audit entry is stored; _id is the zero-padded sequence
// number so that the head of the chain is found by _id lookups alone.
type auditDoc struct {
	ID     string    `bson:"_id"`
	Seq    int64     `bson:"seq"`
	At     time.Time `bson:"at"`
	Actor  string    `bson:"actor"`
	Action string    `bson:"action"`
	Object string    `bson:"object"`
	Rev    int64     `bson:"rev,omitempty"`
	Before string    `bson:"before_sha256,omitempty"`
	After  string    `bson:"after_sha256,omitempty"`
	Prev   string    `bson:"prev_hash"`
	Hash   string    `bson:"hash"`
}

// orderedBatch is the most documents one ordered insert holds: fewer than
// FerretDB's internal batch of 100.
const orderedBatch = 50

func auditID(seq int64) string { return fmt.Sprintf("%016d", seq) }

// InsertAudit appends audit entries in order; each one's _id is its
// sequence number. It stops at the first entry it cannot store and returns
// how many were stored before it: an error wrapping ErrDuplicate means
// another writer took that sequence number first.
func (s *Store) InsertAudit(ctx context.Context, entries []audit.Entry) (int, error) {
	docs := make([]any, len(entries))
	for i, e := range entries {
		docs[i] = auditDoc{ID: auditID(e.Seq), Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action,
			Object: e.Object, Rev: e.Rev, Before: e.Before, After: e.After, Prev: e.Prev, Hash: e.Hash}
	}
	// Ordered: an entry stored after one that failed would leave a gap in
	// the chain. FerretDB v1.24.2 keeps to the order only within its own
	// batches of 100 documents and goes on with the next after a duplicate
	// (handler/msg_insert.go), so no insert here holds more than that.
	for start := 0; start < len(docs); start += orderedBatch {
		end := min(start+orderedBatch, len(docs))
		_, err := s.db.Collection(colAudit).InsertMany(ctx, docs[start:end], options.InsertMany().SetOrdered(true))
		if err == nil {
			continue
		}
		var bwe mongo.BulkWriteException
		if errors.As(err, &bwe) && bwe.WriteConcernError == nil && len(bwe.WriteErrors) > 0 {
			we := bwe.WriteErrors[0]
			e := error(we)
			if we.Code == 11000 {
				e = fmt.Errorf("%w: %s", ErrDuplicate, we.Message)
			}
			return start + we.Index, fmt.Errorf("store: insert audit %d: %w", entries[start+we.Index].Seq, e)
		}
		return start, fmt.Errorf("store: insert audit: %w", classify(err))
	}
	return len(entries), nil
}

// GetAudit loads the audit entry with sequence number seq.
func (s *Store) GetAudit(ctx context.Context, seq int64) (audit.Entry, error) {
	var d auditDoc
	if err := s.findByID(ctx, colAudit, auditID(seq), &d); err != nil {
		return audit.Entry{}, fmt.Errorf("store: get audit %d: %w", seq, err)
	}
	return fromAuditDoc(d), nil
}

// LastAudit finds the last entry of the chain with O(log n) lookups by _id
// (see lastSeq), never a scan. It returns the zero Entry for an empty trail.
func (s *Store) LastAudit(ctx context.Context) (audit.Entry, error) {
	var last audit.Entry
	_, err := lastSeq(func(seq int64) (bool, error) {
		e, err := s.GetAudit(ctx, seq)
		if isNotFound(err) {
			return false, nil
		}
		if err == nil {
			last = e
		}
		return err == nil, err
	})
	if err != nil {
		return audit.Entry{}, err
	}
	return last, nil
}

// lastSeq finds the highest n ≥ 1 for which exists(n) holds, in a gap-free
// sequence 1, 2, 3…, with a doubling search and then bisection: O(log n)
// lookups by _id. It returns 0 when exists(1) is false. The last call of
// exists that returned true is always for the result.
func lastSeq(exists func(int64) (bool, error)) (int64, error) {
	ok, err := exists(1)
	if err != nil || !ok {
		return 0, err
	}
	lo, hi := int64(1), int64(2)
	for {
		ok, err := exists(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 { // lo exists, hi does not
		mid := lo + (hi-lo)/2
		ok, err := exists(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	// lo only ever grows on a true call, so the last true call was for lo.
	return lo, nil
}

// ScanAudit calls fn for every audit entry in _id (sequence) order. It reads
// the whole trail: for verification, never for an interactive request.
func (s *Store) ScanAudit(ctx context.Context, fn func(audit.Entry) error) error {
	cur, err := s.db.Collection(colAudit).Find(ctx, bson.D{},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetBatchSize(1000))
	if err != nil {
		return fmt.Errorf("store: scan audit: %w", classify(err))
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d auditDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("store: scan audit: %w", err)
		}
		if err := fn(fromAuditDoc(d)); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("store: scan audit: %w", classify(err))
	}
	return nil
}

func fromAuditDoc(d auditDoc) audit.Entry {
	return audit.Entry{Seq: d.Seq, At: d.At.UTC(), Actor: d.Actor, Action: d.Action, Object: d.Object,
		Rev: d.Rev, Before: d.Before, After: d.After, Prev: d.Prev, Hash: d.Hash}
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// EncodeRecord returns the document the store writes for revision r. The
// benchmarks insert it with the raw driver as the baseline of our write path.
func EncodeRecord(r enforcement.Record) (any, error) {
	return toRecordDoc(r)
}
