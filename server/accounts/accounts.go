// Package accounts keeps the units, users, refresh sessions and devices:
// login with rotation of refresh tokens, the admin writes, and the bootstrap
// admin. Units, users and devices are few; they live in memory, loaded at
// start and kept current by the writes here.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/enforcement"
)

// Store is what accounts need of the storage adapter.
type Store interface {
	InsertUnit(ctx context.Context, u enforcement.Unit) error
	Units(ctx context.Context) ([]enforcement.Unit, error)
	InsertUser(ctx context.Context, u auth.User) error
	GetUser(ctx context.Context, username string) (auth.User, error)
	Users(ctx context.Context) ([]auth.User, error)
	InsertSession(ctx context.Context, s auth.Session) error
	GetSession(ctx context.Context, id string) (auth.Session, error)
	RevokeSession(ctx context.Context, id string) error
	InsertDevice(ctx context.Context, d auth.Device) error
	GetDevice(ctx context.Context, id string) (auth.Device, error)
	Devices(ctx context.Context) ([]auth.Device, error)
}

// Auditor appends entries to the audit chain.
type Auditor interface {
	Audit(ctx context.Context, e audit.Entry) error
}

// ErrBadCredentials is returned for a wrong username, password or refresh token.
var ErrBadCredentials = errors.New("bad credentials")

// Tokens is what a login or refresh returns.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
}

// Service holds the accounts. It is safe for concurrent use.
type Service struct {
	st         Store
	signer     *auth.Signer
	refreshTTL time.Duration
	Units      *enforcement.UnitTree
	auditor    Auditor
	now        func() time.Time

	shared bool

	mu      sync.RWMutex
	users   map[string]auth.User
	devices map[string]auth.Device
}

// Options configure the Service.
type Options struct {
	RefreshTTL time.Duration
	Now        func() time.Time
	// Shared says that other instances write to the store: a user or
	// device this one does not hold is then looked up in the store by _id
	// before it is taken as unknown (Follow adds the rest within its
	// interval).
	Shared bool
}

// Open loads units, users and devices from the store.
func Open(ctx context.Context, st Store, signer *auth.Signer, opt Options) (*Service, error) {
	if opt.RefreshTTL == 0 {
		opt.RefreshTTL = 30 * 24 * time.Hour
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Service{st: st, signer: signer, refreshTTL: opt.RefreshTTL, Units: enforcement.NewUnitTree(), now: opt.Now,
		shared: opt.Shared, users: map[string]auth.User{}, devices: map[string]auth.Device{}}
	if _, err := s.Reload(ctx); err != nil {
		return nil, fmt.Errorf("accounts: open: %w", err)
	}
	return s, nil
}

// Reload reads the units, users and devices from the store and adds the
// ones this instance does not hold: those that another server instance
// sharing the store created. It reports how many it added. Units, users and
// devices are only ever created, never changed or removed, so adding is all
// there is to follow; the collections are small (a district has hundreds of
// accounts), and Follow reads them in the background, never on a request.
func (s *Service) Reload(ctx context.Context) (int, error) {
	units, err := s.st.Units(ctx)
	if err != nil {
		return 0, fmt.Errorf("accounts: reload: %w", err)
	}
	users, err := s.st.Users(ctx)
	if err != nil {
		return 0, fmt.Errorf("accounts: reload: %w", err)
	}
	devices, err := s.st.Devices(ctx)
	if err != nil {
		return 0, fmt.Errorf("accounts: reload: %w", err)
	}
	added := 0
	for _, u := range units {
		if _, ok := s.Units.Get(u.ID); !ok {
			s.Units.Put(u)
			added++
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range users {
		if _, ok := s.users[u.Username]; !ok {
			s.users[u.Username] = u
			added++
		}
	}
	for _, d := range devices {
		if _, ok := s.devices[d.ID]; !ok {
			s.devices[d.ID] = d
			added++
		}
	}
	return added, nil
}

// Follow reloads the accounts every interval until ctx ends, so that an
// instance sharing its store with others knows the units, users and devices
// they create within interval.
func (s *Service) Follow(ctx context.Context, interval time.Duration, log func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Reload(ctx); err != nil && ctx.Err() == nil {
				log(err)
			}
		}
	}
}

// SetAuditor sets where account writes are audited (the record service's
// chain); it is set once while wiring, before requests are served.
func (s *Service) SetAuditor(a Auditor) { s.auditor = a }

func (s *Service) audit(ctx context.Context, actor, action, object string) {
	if s.auditor == nil {
		return
	}
	_ = s.auditor.Audit(ctx, audit.Entry{Actor: actor, Action: action, Object: object})
}

// dummyHash is checked against when the user is unknown, so that a login
// takes the same time whether or not the username exists.
var dummyHash, _ = auth.HashPassword("not a password")

// Login checks a username and password and issues tokens.
func (s *Service) Login(ctx context.Context, username, password string) (Tokens, error) {
	u, ok := s.user(ctx, username)
	if !ok {
		auth.CheckPassword(dummyHash, password)
		return Tokens{}, fmt.Errorf("accounts: login: %w", ErrBadCredentials)
	}
	if !auth.CheckPassword(u.PasswordHash, password) || u.Disabled {
		return Tokens{}, fmt.Errorf("accounts: login: %w", ErrBadCredentials)
	}
	return s.issue(ctx, u)
}

func (s *Service) issue(ctx context.Context, u auth.User) (Tokens, error) {
	if u.Role == auth.RoleDevice {
		return Tokens{}, fmt.Errorf("accounts: login: %w: device accounts have no HTTP access", ErrBadCredentials)
	}
	access, _ := s.signer.Issue(auth.Principal{Username: u.Username, Role: u.Role, Unit: u.Unit})
	refresh, id := auth.NewRefreshToken()
	err := s.st.InsertSession(ctx, auth.Session{ID: id, Username: u.Username, ExpiresAt: s.now().Add(s.refreshTTL).UTC()})
	if err != nil {
		return Tokens{}, fmt.Errorf("accounts: issue tokens: %w", err)
	}
	return Tokens{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", ExpiresIn: int64(s.signer.TTL().Seconds())}, nil
}

// Refresh exchanges a refresh token for new tokens; the old one is revoked
// (rotation), so a stolen token works at most once.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	ss, err := s.st.GetSession(ctx, auth.RefreshID(refreshToken))
	if errors.Is(err, enforcement.ErrNotFound) {
		return Tokens{}, fmt.Errorf("accounts: refresh: %w", ErrBadCredentials)
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("accounts: refresh: %w", err)
	}
	if ss.Revoked || !s.now().Before(ss.ExpiresAt) {
		return Tokens{}, fmt.Errorf("accounts: refresh: %w: revoked or expired", ErrBadCredentials)
	}
	s.mu.RLock()
	u, ok := s.users[ss.Username]
	s.mu.RUnlock()
	if !ok || u.Disabled {
		return Tokens{}, fmt.Errorf("accounts: refresh: %w", ErrBadCredentials)
	}
	if err := s.st.RevokeSession(ctx, ss.ID); err != nil {
		return Tokens{}, fmt.Errorf("accounts: refresh: %w", err)
	}
	return s.issue(ctx, u)
}

// Logout revokes a refresh token. Access tokens expire on their own.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	err := s.st.RevokeSession(ctx, auth.RefreshID(refreshToken))
	if errors.Is(err, enforcement.ErrNotFound) {
		return fmt.Errorf("accounts: logout: %w", ErrBadCredentials)
	}
	return err
}

// CreateUnit adds a unit to the tree.
func (s *Service) CreateUnit(ctx context.Context, actor string, u enforcement.Unit) (enforcement.Unit, error) {
	if err := s.Units.CheckUnit(u); err != nil {
		return u, fmt.Errorf("accounts: create unit: %w: %v", enforcement.ErrInvalid, err)
	}
	if err := s.st.InsertUnit(ctx, u); err != nil {
		return u, fmt.Errorf("accounts: create unit: %w", err)
	}
	s.Units.Put(u)
	s.audit(ctx, actor, "unit.create", "unit:"+u.ID)
	return u, nil
}

// NewUser is an account to create.
type NewUser struct {
	Username string    `json:"username"`
	Password string    `json:"password"`
	Name     string    `json:"name"`
	Role     auth.Role `json:"role"`
	Unit     string    `json:"unit"`
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

// Check validates nu against the unit tree and lists every problem.
func (s *Service) Check(nu NewUser) error {
	verr := &enforcement.ValidationError{}
	add := func(f, d string) { verr.Fields = append(verr.Fields, enforcement.FieldError{Field: f, Detail: d}) }
	if !usernamePattern.MatchString(nu.Username) {
		add("username", "2 to 64 lower-case letters, digits, '.', '_' or '-'")
	}
	if len(nu.Password) < 8 || len(nu.Password) > 256 {
		add("password", "8 to 256 characters")
	}
	if !nu.Role.Valid() {
		add("role", "must be one of officer, supervisor, office, admin, device")
	}
	if _, ok := s.Units.Get(nu.Unit); !ok && (nu.Unit != "" || nu.Role == auth.RoleOfficer || nu.Role == auth.RoleSupervisor) {
		add("unit", "must be an existing unit")
	}
	if len(nu.Name) > 200 {
		add("name", "at most 200 characters")
	}
	if len(verr.Fields) > 0 {
		return fmt.Errorf("%w: %w", enforcement.ErrInvalid, verr)
	}
	return nil
}

// CreateUser adds an account with an argon2id password hash.
func (s *Service) CreateUser(ctx context.Context, actor string, nu NewUser) (auth.User, error) {
	if err := s.Check(nu); err != nil {
		return auth.User{}, fmt.Errorf("accounts: create user: %w", err)
	}
	hash, err := auth.HashPassword(nu.Password)
	if err != nil {
		return auth.User{}, err
	}
	u := auth.User{Username: nu.Username, Name: nu.Name, Role: nu.Role, Unit: nu.Unit, PasswordHash: hash, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	if err := s.st.InsertUser(ctx, u); err != nil {
		return auth.User{}, fmt.Errorf("accounts: create user: %w", err)
	}
	s.mu.Lock()
	s.users[u.Username] = u
	s.mu.Unlock()
	s.audit(ctx, actor, "user.create", "user:"+u.Username)
	return u, nil
}

// User returns an account by username.
func (s *Service) User(username string) (auth.User, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	return s.user(ctx, username)
}

// lookupTimeout bounds the store lookup of an account or device this
// instance does not hold (Options.Shared).
const lookupTimeout = 3 * time.Second

func (s *Service) user(ctx context.Context, username string) (auth.User, bool) {
	s.mu.RLock()
	u, ok := s.users[username]
	s.mu.RUnlock()
	if ok || !s.shared || username == "" {
		return u, ok
	}
	u, err := s.st.GetUser(ctx, username)
	if err != nil {
		return auth.User{}, false
	}
	s.mu.Lock()
	s.users[u.Username] = u
	s.mu.Unlock()
	return u, true
}

// ListUsers returns the accounts whose unit passes visible, by username.
func (s *Service) ListUsers(visible func(unit string) bool) []auth.User {
	s.mu.RLock()
	out := make([]auth.User, 0, len(s.users))
	for _, u := range s.users {
		if visible(u.Unit) {
			out = append(out, u)
		}
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out
}

// UserCount is the number of accounts.
func (s *Service) UserCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.users)
}

// RegisterDevice binds a phone to the officer registering it.
func (s *Service) RegisterDevice(ctx context.Context, owner string, d auth.Device) (auth.Device, error) {
	if !enforcement.ValidID(d.ID) {
		return d, fmt.Errorf("accounts: register device: %w: id must be 1 to 64 letters, digits, '.', '_' or '-'", enforcement.ErrInvalid)
	}
	if d.Name == "" || len(d.Name) > 200 {
		return d, fmt.Errorf("accounts: register device: %w: name required, at most 200 characters", enforcement.ErrInvalid)
	}
	d.Owner = owner
	d.CreatedAt = s.now().UTC().Truncate(time.Millisecond)
	if err := s.st.InsertDevice(ctx, d); err != nil {
		return d, fmt.Errorf("accounts: register device: %w", err)
	}
	s.mu.Lock()
	s.devices[d.ID] = d
	s.mu.Unlock()
	s.audit(ctx, owner, "device.register", "device:"+d.ID)
	return d, nil
}

// Device returns a registered device.
func (s *Service) Device(id string) (auth.Device, bool) {
	s.mu.RLock()
	d, ok := s.devices[id]
	s.mu.RUnlock()
	if ok || !s.shared || id == "" {
		return d, ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	d, err := s.st.GetDevice(ctx, id)
	if err != nil {
		return auth.Device{}, false
	}
	s.mu.Lock()
	s.devices[d.ID] = d
	s.mu.Unlock()
	return d, true
}

// Devices returns the devices whose owner passes keep, by id.
func (s *Service) Devices(keep func(auth.Device) bool) []auth.Device {
	s.mu.RLock()
	out := []auth.Device{} // an empty list, never null
	for _, d := range s.devices {
		if keep(d) {
			out = append(out, d)
		}
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Bootstrap creates the first admin from "user:password" when the store has
// no accounts; it does nothing when accounts exist.
func (s *Service) Bootstrap(ctx context.Context, spec string) (bool, error) {
	if spec == "" || s.UserCount() > 0 {
		return false, nil
	}
	name, pw, ok := strings.Cut(spec, ":")
	if !ok {
		return false, errors.New("accounts: bootstrap admin: want user:password")
	}
	_, err := s.CreateUser(ctx, "bootstrap", NewUser{Username: name, Password: pw, Role: auth.RoleAdmin, Name: "Administrator"})
	return err == nil, err
}
