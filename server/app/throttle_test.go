package app_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

// TestLoginThrottle guesses an officer's password: the fifth failure locks
// the account, so even the right password is then refused with 429 and a
// Retry-After of about the lockout, while another account signs in.
func TestLoginThrottle(t *testing.T) {
	a := start(t, testConfig(t, t.TempDir(), "-login-lockout", "10m"))
	anon := newClient(t, a.URL())
	root := anon.login("root", "root-password")
	if st := root.do("POST", "/api/v1/units", enforcement.Unit{ID: "miyun", Name: "密云区保水大队", Tier: "district"}, nil); st != 201 {
		t.Fatalf("unit: %d", st)
	}
	for _, u := range []string{"alice", "bob"} {
		body := map[string]string{"username": u, "password": "password-" + u, "role": "officer", "unit": "miyun"}
		if st := root.do("POST", "/api/v1/users", body, nil); st != 201 {
			t.Fatalf("user %s: %d", u, st)
		}
	}
	login := func(user, password string) (int, string, string) {
		st, b, h := anon.raw("POST", "/api/v1/auth/login", map[string]string{"username": user, "password": password})
		var p problem
		_ = json.Unmarshal(b, &p)
		return st, p.Type, h.Get("Retry-After")
	}
	for i := 1; i <= 5; i++ {
		if st, typ, _ := login("alice", "guess-"+strconv.Itoa(i)); st != 401 || typ != "/problems/bad-credentials" {
			t.Fatalf("guess %d: %d %s", i, st, typ)
		}
	}
	st, typ, retry := login("alice", "password-alice")
	secs, _ := strconv.Atoi(retry)
	if st != 429 || typ != "/problems/too-many-attempts" || secs < 590 || secs > 600 {
		t.Errorf("the right password on a locked account: %d %s Retry-After %q", st, typ, retry)
	}
	if st, _, _ := login("bob", "password-bob"); st != 200 {
		t.Errorf("another account: %d", st)
	}
}

// TestWriteRateLimits: past a user's write rate (here one every 2 seconds,
// bursts of 2) the next write is refused with 429 and Retry-After while reads and
// another user's writes go on; with a limit per address, two users on one
// address share it.
func TestWriteRateLimits(t *testing.T) {
	for _, tc := range []struct {
		name      string
		flags     []string
		otherUser int // what the other user's write then gets
	}{
		{"per user", []string{"-write-rate", "0.5"}, 201},
		{"per address", []string{"-write-rate", "0", "-write-rate-per-address", "0.5"}, 429},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := start(t, testConfig(t, t.TempDir(), tc.flags...))
			anon := newClient(t, a.URL())
			root := anon.login("root", "root-password")
			if st := root.do("POST", "/api/v1/units", enforcement.Unit{ID: "miyun", Name: "密云区保水大队", Tier: "district"}, nil); st != 201 && st != 429 {
				t.Fatalf("unit: %d", st)
			}
			for _, u := range []string{"alice", "bob"} {
				body := map[string]string{"username": u, "password": "password-" + u, "role": "officer", "unit": "miyun"}
				for {
					st := root.do("POST", "/api/v1/users", body, nil)
					if st == 201 {
						break
					}
					if st != 429 {
						t.Fatalf("user %s: %d", u, st)
					}
					time.Sleep(time.Second)
				}
			}
			time.Sleep(4 * time.Second) // the buckets fill again
			alice, bob := anon.login("alice", "password-alice"), anon.login("bob", "password-bob")
			for i := 0; i < 2; i++ {
				if st := alice.do("POST", "/api/v1/records", rec(fmt.Sprint("r-", i), "miyun", 1), nil); st != 201 {
					t.Fatalf("write %d: %d", i, st)
				}
			}
			st, b, h := alice.raw("POST", "/api/v1/records", rec("r-2", "miyun", 1))
			var p problem
			_ = json.Unmarshal(b, &p)
			if retry := h.Get("Retry-After"); st != 429 || p.Type != "/problems/rate-limited" || (retry != "1" && retry != "2") {
				t.Errorf("the third write: %d %s Retry-After %q", st, p.Type, h.Get("Retry-After"))
			}
			if st := alice.do("GET", "/api/v1/records", nil, nil); st != 200 {
				t.Errorf("a read: %d", st)
			}
			if st := bob.do("POST", "/api/v1/records", rec("r-bob", "miyun", 1), nil); st != tc.otherUser {
				t.Errorf("the other user's write: %d, want %d", st, tc.otherUser)
			}
		})
	}
}
