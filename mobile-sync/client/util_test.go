package client

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
)

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestBackoffWait(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}.withDefaults()
	for _, tc := range []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		lo, hi     time.Duration
	}{
		{"first retry", 1, 0, 50 * time.Millisecond, 100 * time.Millisecond},
		{"third retry doubles twice", 3, 0, 200 * time.Millisecond, 400 * time.Millisecond},
		{"capped at max", 10, 0, 500 * time.Millisecond, time.Second},
		{"retry-after honoured", 1, 700 * time.Millisecond, 700 * time.Millisecond, 700 * time.Millisecond},
		{"retry-after capped at max", 1, time.Minute, time.Second, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < 50; i++ {
				if d := b.wait(tc.attempt, tc.retryAfter); d < tc.lo || d > tc.hi {
					t.Fatalf("wait %v, want %v to %v", d, tc.lo, tc.hi)
				}
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2020, 7, 4, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, v string
		want    time.Duration
	}{
		{"none", "", 0},
		{"seconds", "5", 5 * time.Second},
		{"date", "Sat, 04 Jul 2020 10:00:30 GMT", 30 * time.Second},
		{"past date", "Sat, 04 Jul 2020 09:00:00 GMT", 0},
		{"garbage", "soon", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseRetryAfter(tc.v, now); got != tc.want {
				t.Errorf("%v, want %v", got, tc.want)
			}
		})
	}
}

func TestTrackPointWire(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, wantErr string
	}{
		{"round trip", `[116.951,40.521,1593846000000]`, `[116.951,40.521,1593846000000]`, ""},
		{"two numbers", `[116.951,40.521]`, "", "got 2 numbers"},
		{"fractional time", `[116.951,40.521,1.5]`, "", "must be an integer"},
		{"not an array", `{"lon":1}`, "", "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p mobilesync.TrackPoint
			err := json.Unmarshal([]byte(tc.in), &p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			out, _ := json.Marshal(p)
			if err != nil || string(out) != tc.want {
				t.Errorf("%s %v, want %s", out, err, tc.want)
			}
		})
	}
}
