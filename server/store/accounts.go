package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/enforcement"
)

type unitDoc struct {
	ID     string `bson:"_id"`
	Name   string `bson:"name"`
	NameEN string `bson:"name_en,omitempty"`
	Tier   string `bson:"tier"`
	Parent string `bson:"parent,omitempty"`
}

// InsertUnit stores a new unit; ErrDuplicate if its id is taken.
func (s *Store) InsertUnit(ctx context.Context, u enforcement.Unit) error {
	d := unitDoc{ID: u.ID, Name: u.Name, NameEN: u.NameEN, Tier: string(u.Tier), Parent: u.Parent}
	if err := s.insertMany(ctx, colUnits, []any{d})[0]; err != nil {
		return fmt.Errorf("store: insert unit %s: %w", u.ID, err)
	}
	return nil
}

// Units returns every unit. The collection is small; it is read at start.
func (s *Store) Units(ctx context.Context) ([]enforcement.Unit, error) {
	var out []enforcement.Unit
	err := scan(ctx, s, colUnits, func(d unitDoc) error {
		out = append(out, enforcement.Unit{ID: d.ID, Name: d.Name, NameEN: d.NameEN, Tier: enforcement.Tier(d.Tier), Parent: d.Parent})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: units: %w", err)
	}
	return out, nil
}

type userDoc struct {
	ID           string    `bson:"_id"`
	Name         string    `bson:"name,omitempty"`
	Role         string    `bson:"role"`
	Unit         string    `bson:"unit"`
	PasswordHash string    `bson:"password_hash"`
	CreatedAt    time.Time `bson:"created_at"`
	Disabled     bool      `bson:"disabled"`
}

// InsertUser stores a new account; ErrDuplicate if the username is taken.
func (s *Store) InsertUser(ctx context.Context, u auth.User) error {
	d := userDoc{ID: u.Username, Name: u.Name, Role: string(u.Role), Unit: u.Unit, PasswordHash: u.PasswordHash,
		CreatedAt: u.CreatedAt, Disabled: u.Disabled}
	if err := s.insertMany(ctx, colUsers, []any{d})[0]; err != nil {
		return fmt.Errorf("store: insert user %s: %w", u.Username, err)
	}
	return nil
}

// Users returns every account; read at start.
func (s *Store) Users(ctx context.Context) ([]auth.User, error) {
	var out []auth.User
	err := scan(ctx, s, colUsers, func(d userDoc) error {
		out = append(out, auth.User{Username: d.ID, Name: d.Name, Role: auth.Role(d.Role), Unit: d.Unit,
			PasswordHash: d.PasswordHash, CreatedAt: d.CreatedAt.UTC(), Disabled: d.Disabled})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	return out, nil
}

// GetUser loads one account by username (its _id); ErrNotFound when there
// is none.
func (s *Store) GetUser(ctx context.Context, username string) (auth.User, error) {
	var d userDoc
	if err := s.findByID(ctx, colUsers, username, &d); err != nil {
		return auth.User{}, fmt.Errorf("store: get user %s: %w", username, err)
	}
	return auth.User{Username: d.ID, Name: d.Name, Role: auth.Role(d.Role), Unit: d.Unit,
		PasswordHash: d.PasswordHash, CreatedAt: d.CreatedAt.UTC(), Disabled: d.Disabled}, nil
}

type sessionDoc struct {
	ID        string    `bson:"_id"`
	Username  string    `bson:"username"`
	ExpiresAt time.Time `bson:"expires_at"`
	Revoked   bool      `bson:"revoked"`
}

// InsertSession stores a new refresh session.
func (s *Store) InsertSession(ctx context.Context, ss auth.Session) error {
	if err := s.insertMany(ctx, colSessions, []any{sessionDoc(ss)})[0]; err != nil {
		return fmt.Errorf("store: insert session: %w", err)
	}
	return nil
}

// GetSession loads a refresh session by id.
func (s *Store) GetSession(ctx context.Context, id string) (auth.Session, error) {
	var d sessionDoc
	if err := s.findByID(ctx, colSessions, id, &d); err != nil {
		return auth.Session{}, fmt.Errorf("store: get session: %w", err)
	}
	d.ExpiresAt = d.ExpiresAt.UTC()
	return auth.Session(d), nil
}

// RevokeSession marks a refresh session revoked (an update by _id, done when
// a person logs out or refreshes).
func (s *Store) RevokeSession(ctx context.Context, id string) error {
	res, err := s.db.Collection(colSessions).UpdateByID(ctx, id, bson.D{{Key: "$set", Value: bson.D{{Key: "revoked", Value: true}}}})
	if err != nil {
		return fmt.Errorf("store: revoke session: %w", classify(err))
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("store: revoke session: %w", ErrNotFound)
	}
	return nil
}

type deviceDoc struct {
	ID        string    `bson:"_id"`
	Name      string    `bson:"name"`
	Owner     string    `bson:"owner"`
	CreatedAt time.Time `bson:"created_at"`
}

// InsertDevice registers a device; ErrDuplicate if its id is taken.
func (s *Store) InsertDevice(ctx context.Context, d auth.Device) error {
	if err := s.insertMany(ctx, colDevices, []any{deviceDoc(d)})[0]; err != nil {
		return fmt.Errorf("store: insert device %s: %w", d.ID, err)
	}
	return nil
}

// GetDevice loads one device by id; ErrNotFound when there is none.
func (s *Store) GetDevice(ctx context.Context, id string) (auth.Device, error) {
	var d deviceDoc
	if err := s.findByID(ctx, colDevices, id, &d); err != nil {
		return auth.Device{}, fmt.Errorf("store: get device %s: %w", id, err)
	}
	d.CreatedAt = d.CreatedAt.UTC()
	return auth.Device(d), nil
}

// Devices returns every registered device; read at start.
func (s *Store) Devices(ctx context.Context) ([]auth.Device, error) {
	var out []auth.Device
	err := scan(ctx, s, colDevices, func(d deviceDoc) error {
		d.CreatedAt = d.CreatedAt.UTC()
		out = append(out, auth.Device(d))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: devices: %w", err)
	}
	return out, nil
}
