package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/zones"
)

// zoneDoc is one version of a zone layer. The GeoJSON is kept as the text
// the admin sent, so that the layer served is byte for byte what was checked.
type zoneDoc struct {
	ID        string    `bson:"_id"` // layer:version, version zero-padded
	Layer     string    `bson:"layer"`
	Version   int64     `bson:"version"`
	GeoJSON   string    `bson:"geojson"`
	SHA256    string    `bson:"sha256"`
	Features  int       `bson:"features"`
	CreatedBy string    `bson:"created_by"`
	CreatedAt time.Time `bson:"created_at"`
}

// ZoneVersionID is the deterministic _id of a version of a zone layer.
func ZoneVersionID(layer string, version int64) string {
	return fmt.Sprintf("%s:%08d", layer, version)
}

// InsertZoneVersion stores a new version of a zone layer. A version already
// stored gives an error wrapping ErrDuplicate: two admins raced and the other
// one won.
func (s *Store) InsertZoneVersion(ctx context.Context, v zones.Version) error {
	d := zoneDoc{ID: ZoneVersionID(v.Layer, v.Version), Layer: v.Layer, Version: v.Version, GeoJSON: string(v.GeoJSON),
		SHA256: v.SHA256, Features: v.Features, CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt}
	if err := s.insertMany(ctx, colZones, []any{d})[0]; err != nil {
		return fmt.Errorf("store: insert zone version %s: %w", d.ID, err)
	}
	return nil
}

// GetZoneVersion loads one version of a layer by _id; ErrNotFound when it is
// not stored.
func (s *Store) GetZoneVersion(ctx context.Context, layer string, version int64) (zones.Version, error) {
	var d zoneDoc
	if err := s.findByID(ctx, colZones, ZoneVersionID(layer, version), &d); err != nil {
		return zones.Version{}, fmt.Errorf("store: get zone version %s: %w", ZoneVersionID(layer, version), err)
	}
	return zones.Version{Layer: d.Layer, Version: d.Version, GeoJSON: []byte(d.GeoJSON), SHA256: d.SHA256,
		Features: d.Features, CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt.UTC()}, nil
}

// ZoneVersions reads every stored version of every zone layer. The
// collection holds a handful of documents per layer; it is read at start.
func (s *Store) ZoneVersions(ctx context.Context) ([]zones.Version, error) {
	var out []zones.Version
	err := scan(ctx, s, colZones, func(d zoneDoc) error {
		out = append(out, zones.Version{Layer: d.Layer, Version: d.Version, GeoJSON: []byte(d.GeoJSON), SHA256: d.SHA256,
			Features: d.Features, CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt.UTC()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: zone versions: %w", err)
	}
	return out, nil
}

// SetPlaces replaces the places of stored revisions: updates by _id, in bulk
// writes of at most MaxBatch, made by the reclassification that follows an
// admin's change of the zones. A revision that is not stored is skipped.
func (s *Store) SetPlaces(ctx context.Context, ups []enforcement.PlaceUpdate) error {
	if err := s.invalidateSnapshot(ctx); err != nil {
		return fmt.Errorf("store: set places: %w", err)
	}
	c := s.db.Collection(colRecords)
	for start := 0; start < len(ups); start += MaxBatch {
		var models []mongo.WriteModel
		for _, u := range ups[start:min(start+MaxBatch, len(ups))] {
			models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: RevisionID(u.ID, u.Rev)}}).
				SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "place", Value: place(u.Place)}}}}))
		}
		if _, err := c.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
			return fmt.Errorf("store: set places: %w", classify(err))
		}
	}
	return nil
}
