package auth

import (
	"sync"
	"time"
)

// ThrottleOptions bound failed sign-ins. Zero values take the defaults.
type ThrottleOptions struct {
	// MaxFailures failed sign-ins of one account within Window lock it
	// for Lockout (default 5).
	MaxFailures int
	// MaxFailuresPerClient failed sign-ins from one client address within
	// Window, whatever the accounts, refuse further attempts from it until
	// the oldest of them is older than Window (default 20).
	MaxFailuresPerClient int
	// Window is how far back failures count (default 15 minutes).
	Window time.Duration
	// Lockout is how long a locked account stays locked (default 15
	// minutes).
	Lockout time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// maxTracked bounds the accounts and addresses a Throttle remembers; past
// it, entries without a recent failure are forgotten.
const maxTracked = 100_000

// Throttle slows down password guessing: it counts failed sign-ins per
// account and per client address in memory and refuses attempts past the
// limits with the time to wait. It is safe for concurrent use. Each server
// instance keeps its own counts.
type Throttle struct {
	o       ThrottleOptions
	mu      sync.Mutex
	users   map[string]*failures
	clients map[string]*failures
}

// failures are the times of the recent failures, oldest first, and the end
// of a lockout.
type failures struct {
	at          []time.Time
	lockedUntil time.Time
}

// NewThrottle returns a Throttle with o's limits.
func NewThrottle(o ThrottleOptions) *Throttle {
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5
	}
	if o.MaxFailuresPerClient <= 0 {
		o.MaxFailuresPerClient = 20
	}
	if o.Window <= 0 {
		o.Window = 15 * time.Minute
	}
	if o.Lockout <= 0 {
		o.Lockout = 15 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Throttle{o: o, users: map[string]*failures{}, clients: map[string]*failures{}}
}

// recent drops the failures older than the window.
func (f *failures) recent(now time.Time, window time.Duration) {
	i := 0
	for i < len(f.at) && now.Sub(f.at[i]) >= window {
		i++
	}
	f.at = f.at[i:]
}

// Allow reports whether user may try to sign in from client now; when not,
// it says how long to wait.
func (t *Throttle) Allow(user, client string) (wait time.Duration, ok bool) {
	now := t.o.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.users[user]; f != nil && now.Before(f.lockedUntil) {
		wait = f.lockedUntil.Sub(now)
	}
	if f := t.clients[client]; f != nil {
		f.recent(now, t.o.Window)
		if len(f.at) >= t.o.MaxFailuresPerClient {
			wait = max(wait, f.at[0].Add(t.o.Window).Sub(now))
		}
	}
	return wait, wait <= 0
}

// Failed records a failed sign-in of user from client; the failure that
// reaches MaxFailures locks the account.
func (t *Throttle) Failed(user, client string) {
	now := t.o.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prune(now)
	u := t.entry(t.users, user)
	u.recent(now, t.o.Window)
	u.at = append(u.at, now)
	if len(u.at) >= t.o.MaxFailures {
		u.lockedUntil, u.at = now.Add(t.o.Lockout), nil
	}
	c := t.entry(t.clients, client)
	c.recent(now, t.o.Window)
	c.at = append(c.at, now)
}

// Succeeded forgets the failures of user after a successful sign-in.
func (t *Throttle) Succeeded(user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.users, user)
}

func (t *Throttle) entry(m map[string]*failures, key string) *failures {
	f := m[key]
	if f == nil {
		f = &failures{}
		m[key] = f
	}
	return f
}

// prune forgets, once a map holds maxTracked entries, those with no
// failure in the window and no lockout running.
func (t *Throttle) prune(now time.Time) {
	for _, m := range []map[string]*failures{t.users, t.clients} {
		if len(m) < maxTracked {
			continue
		}
		for k, f := range m {
			f.recent(now, t.o.Window)
			if len(f.at) == 0 && !now.Before(f.lockedUntil) {
				delete(m, k)
			}
		}
	}
}
