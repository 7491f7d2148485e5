package auth_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/auth"
)

func TestThrottle(t *testing.T) {
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	type attempt struct {
		after    time.Duration // the clock moves on by this first
		user, ip string
		fail     bool // the attempt fails (when allowed)
		allowed  bool
		wait     time.Duration
	}
	tests := []struct {
		name     string
		attempts []attempt
	}{
		{"five failures lock the account for the lockout", []attempt{
			{0, "u", "a", true, true, 0}, {time.Minute, "u", "a", true, true, 0}, {time.Minute, "u", "b", true, true, 0},
			{time.Minute, "u", "c", true, true, 0}, {time.Minute, "u", "a", true, true, 0},
			{time.Minute, "u", "d", false, false, 14 * time.Minute}, // locked, from any address
			{0, "v", "a", false, true, 0},                           // another account is not
			{14 * time.Minute, "u", "a", false, true, 0},            // the lockout is over
		}},
		{"failures older than the window do not count", []attempt{
			{0, "u", "a", true, true, 0}, {time.Minute, "u", "a", true, true, 0}, {time.Minute, "u", "a", true, true, 0},
			{time.Minute, "u", "a", true, true, 0}, {15 * time.Minute, "u", "a", true, true, 0}, {0, "u", "a", false, true, 0},
		}},
		{"a success forgets the failures", []attempt{
			{0, "u", "a", true, true, 0}, {0, "u", "a", true, true, 0}, {0, "u", "a", true, true, 0}, {0, "u", "a", true, true, 0},
			{0, "u", "a", false, true, 0}, // succeeds
			{0, "u", "a", true, true, 0}, {0, "u", "a", false, true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := auth.NewThrottle(auth.ThrottleOptions{Now: clock})
			for i, a := range tt.attempts {
				now = now.Add(a.after)
				wait, ok := th.Allow(a.user, a.ip)
				if ok != a.allowed || wait != a.wait {
					t.Fatalf("attempt %d (%s from %s): allowed %v wait %v, want %v %v", i, a.user, a.ip, ok, wait, a.allowed, a.wait)
				}
				if !ok {
					continue
				}
				if a.fail {
					th.Failed(a.user, a.ip)
				} else {
					th.Succeeded(a.user)
				}
			}
		})
	}
}

// TestThrottlePerClient: one address guessing across many accounts is
// refused after MaxFailuresPerClient failures, until the oldest ages out;
// other addresses are not.
func TestThrottlePerClient(t *testing.T) {
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	th := auth.NewThrottle(auth.ThrottleOptions{Now: func() time.Time { return now }, MaxFailuresPerClient: 3})
	for i := 0; i < 3; i++ {
		if _, ok := th.Allow(fmt.Sprint("user-", i), "10.0.0.9"); !ok {
			t.Fatalf("attempt %d refused", i)
		}
		th.Failed(fmt.Sprint("user-", i), "10.0.0.9")
		now = now.Add(time.Minute)
	}
	if wait, ok := th.Allow("user-9", "10.0.0.9"); ok || wait != 12*time.Minute {
		t.Errorf("the fourth guess: allowed %v, wait %v, want refused for 12m", ok, wait)
	}
	if _, ok := th.Allow("user-9", "10.0.0.10"); !ok {
		t.Error("another address is refused")
	}
	now = now.Add(12 * time.Minute)
	if _, ok := th.Allow("user-9", "10.0.0.9"); !ok {
		t.Error("still refused once the oldest failure aged out")
	}
}
