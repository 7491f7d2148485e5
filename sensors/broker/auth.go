package broker

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
	"sync"

	"github.com/baoshui/baoshui/sensors"
)

// The topics of the MQTT interface (DESIGN §4). Readings go up on
// ReadingsPrefix + {station_id} + ReadingsSuffix; alerts come down on
// AlertsPrefix + {station_id}.
const (
	ReadingsPrefix = "baoshui/v1/stations/"
	ReadingsSuffix = "/readings"
	AlertsPrefix   = "baoshui/v1/alerts/"
	// ReadingsFilter is the filter that matches every station's readings.
	ReadingsFilter = ReadingsPrefix + "+" + ReadingsSuffix
)

// ReadingsTopic returns the topic station publishes its readings on.
func ReadingsTopic(station string) string { return ReadingsPrefix + station + ReadingsSuffix }

// AlertsTopic returns the topic the alerts of station are published on.
func AlertsTopic(station string) string { return AlertsPrefix + station }

// Kind says what an authenticated MQTT user is.
type Kind string

// The kinds of users.
const (
	// KindDevice is a monitoring station's device: it may publish its own
	// readings and subscribe to its own alerts, nothing else.
	KindDevice Kind = "device"
	// KindServer is the Baoshui server (the ingest and the alert
	// publisher): it may subscribe to every station's readings and publish
	// alerts.
	KindServer Kind = "server"
)

// Role is what an Authenticator grants a user: a device of one station, or
// the server.
type Role struct {
	Kind Kind
	// Station is the station id of a device; empty for the server.
	Station string
}

// DeviceRole returns the role of the device of station.
func DeviceRole(station string) Role { return Role{Kind: KindDevice, Station: station} }

// ServerRole returns the role of the Baoshui server.
func ServerRole() Role { return Role{Kind: KindServer} }

// valid reports whether r is a role the broker can enforce: a server, or a
// device whose station id is a valid one (sensors.ValidStationID), so that
// it can be spliced into a topic without wildcards or separators.
func (r Role) valid() bool {
	switch r.Kind {
	case KindServer:
		return r.Station == ""
	case KindDevice:
		return sensors.ValidStationID(r.Station)
	}
	return false
}

// String renders the role as "server" or "device:{station}".
func (r Role) String() string {
	if r.Kind == KindDevice {
		return "device:" + r.Station
	}
	return string(r.Kind)
}

// Authenticator checks the username and password of a connecting client.
// It returns the user's role and true, or false to refuse the connection.
// It is called once per connection attempt, from the connection's own
// goroutine, possibly from many goroutines at once; it must not block for
// long (a slow hash is fine, a network round trip per attempt is not).
// The broker never calls it for a client without a username: anonymous
// connections are always refused.
type Authenticator interface {
	Authenticate(username, password string) (Role, bool)
}

// AuthFunc adapts a function to an Authenticator.
type AuthFunc func(username, password string) (Role, bool)

// Authenticate calls f.
func (f AuthFunc) Authenticate(username, password string) (Role, bool) { return f(username, password) }

// Users is an in-memory Authenticator holding salted SHA-256 hashes of the
// passwords, never the passwords. A fast hash is adequate for what it is
// meant for: generated secrets of at least 128 random bits, such as the
// device passwords the server issues and the server's own broker password;
// for passwords people choose, implement Authenticator over a slow hash
// instead. The zero value is not usable; call NewUsers. A Users is safe for
// concurrent use.
type Users struct {
	mu sync.RWMutex
	m  map[string]user
}

type user struct {
	salt [16]byte
	hash [sha256.Size]byte
	role Role
}

// NewUsers returns an empty set of users.
func NewUsers() *Users { return &Users{m: make(map[string]user)} }

// Set adds username with password and role, or replaces that user. It
// refuses an empty username or password and a role the broker cannot
// enforce (a device without a valid station id).
func (u *Users) Set(username, password string, role Role) error {
	switch {
	case username == "":
		return fmt.Errorf("broker.Users.Set: empty username")
	case password == "":
		return fmt.Errorf("broker.Users.Set: %q: empty password", username)
	case !role.valid():
		return fmt.Errorf("broker.Users.Set: %q: invalid role %q (a device needs a valid station id)", username, role)
	}
	var us user
	if _, err := rand.Read(us.salt[:]); err != nil {
		return fmt.Errorf("broker.Users.Set: %w", err)
	}
	us.hash = saltedHash(us.salt, password)
	us.role = role
	u.mu.Lock()
	u.m[username] = us
	u.mu.Unlock()
	return nil
}

// Delete removes username; its current connections stay open.
func (u *Users) Delete(username string) {
	u.mu.Lock()
	delete(u.m, username)
	u.mu.Unlock()
}

// Authenticate implements Authenticator, comparing hashes in constant time.
func (u *Users) Authenticate(username, password string) (Role, bool) {
	u.mu.RLock()
	us, ok := u.m[username]
	u.mu.RUnlock()
	if !ok {
		return Role{}, false
	}
	h := saltedHash(us.salt, password)
	if subtle.ConstantTimeCompare(h[:], us.hash[:]) != 1 {
		return Role{}, false
	}
	return us.role, true
}

func saltedHash(salt [16]byte, password string) [sha256.Size]byte {
	b := make([]byte, 0, len(salt)+len(password))
	b = append(b, salt[:]...)
	b = append(b, password...)
	return sha256.Sum256(b)
}

// Allowed reports whether role may publish to topic (write) or subscribe
// to, and receive messages on, topic (read). It is the broker's whole ACL,
// and it denies everything it does not allow:
//
//   - a device may publish only to ReadingsTopic(its station) and subscribe
//     only to AlertsTopic(its station), both exactly;
//   - the server may publish to any topic under AlertsPrefix, and subscribe
//     to ReadingsFilter or to the readings of one station, also through a
//     shared subscription ("$share/{group}/" + one of those);
//   - anything else, including every $SYS topic, is denied.
//
// For a read, topic is either the filter of a SUBSCRIBE or the name of a
// topic a message is delivered on; both forms pass for what a role may read.
func Allowed(role Role, topic string, write bool) bool {
	if !role.valid() {
		return false
	}
	switch role.Kind {
	case KindDevice:
		if write {
			return topic == ReadingsTopic(role.Station)
		}
		return topic == AlertsTopic(role.Station)
	case KindServer:
		if write {
			rest, ok := strings.CutPrefix(topic, AlertsPrefix)
			return ok && rest != "" && !strings.ContainsAny(rest, "+#")
		}
		if rest, ok := strings.CutPrefix(topic, "$share/"); ok {
			group, filter, ok := strings.Cut(rest, "/")
			if !ok || group == "" || strings.ContainsAny(group, "+#") {
				return false
			}
			topic = filter
		}
		rest, ok := strings.CutPrefix(topic, ReadingsPrefix)
		if !ok {
			return false
		}
		station, ok := strings.CutSuffix(rest, ReadingsSuffix)
		return ok && (station == "+" || sensors.ValidStationID(station))
	}
	return false
}
