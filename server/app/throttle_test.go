package app_test

import (
	"encoding/json"
	"strconv"
	"testing"

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
