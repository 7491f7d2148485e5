// Package auth holds accounts, passwords, bearer tokens and the one policy
// function through which every authorisation decision goes.
package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Role is what a user may do.
type Role string

// The roles. Device accounts carry telemetry only and have no HTTP data access.
const (
	RoleOfficer    Role = "officer"
	RoleSupervisor Role = "supervisor"
	RoleOffice     Role = "office"
	RoleAdmin      Role = "admin"
	RoleDevice     Role = "device"
)

// Roles lists every role.
var Roles = []Role{RoleOfficer, RoleSupervisor, RoleOffice, RoleAdmin, RoleDevice}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// User is an account. Username is its id and never changes.
type User struct {
	Username     string    `json:"username"`
	Name         string    `json:"name,omitempty"`
	Role         Role      `json:"role"`
	Unit         string    `json:"unit"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	Disabled     bool      `json:"disabled,omitempty"`
}

// Principal is who a request acts for, as carried in an access token.
type Principal struct {
	Username string `json:"sub"`
	Role     Role   `json:"role"`
	Unit     string `json:"unit"`
}

// argon2id parameters: the OWASP baseline (19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash of password in the PHC string format.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the PHC argon2id hash.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil ||
		t < 1 || t > 10 || p == 0 || m < 8*uint32(p) || m > 1<<20 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Token errors.
var (
	ErrTokenInvalid = errors.New("invalid token")
	ErrTokenExpired = errors.New("token expired")
)

// Signer issues and verifies access tokens: base64url(JSON claims) "."
// base64url(HMAC-SHA256). Any instance holding the same key verifies them.
type Signer struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewSigner returns a Signer with key (at least 32 bytes) whose tokens live ttl.
func NewSigner(key []byte, ttl time.Duration) (*Signer, error) {
	if len(key) < 32 {
		return nil, errors.New("auth: token key must be at least 32 bytes")
	}
	return &Signer{key: key, ttl: ttl, now: time.Now}, nil
}

type claims struct {
	Principal
	Exp int64 `json:"exp"`
}

// Issue returns a token for p and the instant it expires.
func (s *Signer) Issue(p Principal) (string, time.Time) {
	exp := s.now().Add(s.ttl).Truncate(time.Second)
	body, _ := json.Marshal(claims{Principal: p, Exp: exp.Unix()})
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + s.sign(payload), exp
}

// TTL is how long issued tokens live.
func (s *Signer) TTL() time.Duration { return s.ttl }

func (s *Signer) sign(payload string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks a token's signature and expiry and returns its principal.
func (s *Signer) Verify(token string) (Principal, error) {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 4096 || !hmac.Equal([]byte(sig), []byte(s.sign(payload))) {
		return Principal{}, ErrTokenInvalid
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return Principal{}, ErrTokenInvalid
	}
	var c claims
	if err := json.Unmarshal(body, &c); err != nil || !c.Role.Valid() || c.Username == "" {
		return Principal{}, ErrTokenInvalid
	}
	if s.now().Unix() >= c.Exp {
		return Principal{}, ErrTokenExpired
	}
	return c.Principal, nil
}

// NewRefreshToken returns a random opaque refresh token and the id under
// which its hash is stored (the token itself is never stored).
func NewRefreshToken() (token, id string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, RefreshID(token)
}

// RefreshID is the storage id of a refresh token: its SHA-256.
func RefreshID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Session is the stored state of a refresh token; ID is the token's hash.
type Session struct {
	ID        string
	Username  string
	ExpiresAt time.Time
	Revoked   bool
}

// Device is an officer's registered phone; only its owner may sync with it.
type Device struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Owner     string    `json:"owner"`
	CreatedAt time.Time `json:"created_at"`
}
