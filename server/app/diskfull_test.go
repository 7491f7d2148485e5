package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestDiskFull is the drill of a full disk under the embedded store: the
// data directory is a small tmpfs (mounting needs root; the test skips
// otherwise). Once a filler file has taken the space left, writes fail
// with a clear problem, never a 500; what was stored before stays
// readable and counted; and once the space returns, writes succeed again
// without a restart.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs: make test-integration runs it")
	}
	mnt := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", mnt).CombinedOutput(); err != nil {
		if os.Getenv("BAOSHUI_TEST_REQUIRE_MOUNT") == "1" {
			t.Fatalf("mount a tmpfs: %v %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs (not root?): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	f := newFixture(t, "-data-dir", mnt, "-mqtt-addr", "off")
	for i := range 20 {
		if st := f.offA.do("POST", "/api/v1/records", rec("full-before-"+string(rune('a'+i)), "town-a", 1), nil); st != 201 {
			t.Fatalf("write %d before the disk is full: %d", i, st)
		}
	}
	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	for i := range 5 {
		st, b, h := f.offA.raw("POST", "/api/v1/records", rec("full-during-"+string(rune('a'+i)), "town-a", 1))
		var p problem
		_ = json.Unmarshal(b, &p)
		if st != 503 || p.Type != "/problems/storage-full" || h.Get("Retry-After") == "" {
			t.Fatalf("write %d on a full disk: %d %q Retry-After %q: %s", i, st, p.Type, h.Get("Retry-After"), b)
		}
	}
	// Reads go on.
	if st, b, _ := f.office.raw("GET", "/api/v1/records/full-before-a", nil); st != 200 {
		t.Errorf("a record stored before the disk filled, read on a full disk: %d %s", st, b)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	// Space is back: the same writes succeed, each once, without a restart.
	for i := range 5 {
		if st, b, _ := f.offA.raw("POST", "/api/v1/records", rec("full-during-"+string(rune('a'+i)), "town-a", 1)); st != 201 {
			t.Fatalf("write %d after the space returned: %d %s", i, st, b)
		}
	}
	var totals struct {
		Totals struct {
			PersonsCleared int `json:"persons_cleared"`
		}
	}
	if st := f.office.do("GET", "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01", nil, &totals); st != 200 || totals.Totals.PersonsCleared != 25 {
		t.Errorf("totals: %d, persons %d, want 25 (20 before, 5 after, none twice)", st, totals.Totals.PersonsCleared)
	}
	// What the store holds is intact: a restart reads every record back.
	if err := f.app.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	again := start(t, testConfig(t, mnt, "-mqtt-addr", "off"))
	office := newClient(t, again.URL()).login("office", "password-office")
	totals.Totals.PersonsCleared = 0
	if st := office.do("GET", "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01", nil, &totals); st != 200 || totals.Totals.PersonsCleared != 25 {
		t.Errorf("totals after a restart: %d, persons %d, want 25", st, totals.Totals.PersonsCleared)
	}
	var page struct{ Records []struct{ ID string } }
	if st := office.do("GET", "/api/v1/records?limit=100", nil, &page); st != 200 || len(page.Records) != 25 {
		t.Errorf("records after a restart: %d, %d, want 25", st, len(page.Records))
	}
}

// fill writes zeros to path until the file system has no space left.
func fill(t *testing.T, path string) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := fh.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}
