package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/demo"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
)

// TestKilledMidLoadLosesNothingAndDoublesNothing runs the real binary, has 16
// clients post records, SIGKILLs the server in the middle, restarts it on
// the same data directory and replays every record (as phones that never
// got an answer do). Afterwards the totals are exactly those of the records
// sent, each once, and the audit chain verifies.
func TestKilledMidLoadLosesNothingAndDoublesNothing(t *testing.T) {
	k := newKillRig(t)
	y, bin, dir, addr, srv, base := k.year, k.bin, k.dir, k.addr, k.srv, k.base
	recs := y.Records[:2500]
	tokens := map[string]string{}
	for _, u := range y.Users {
		if u.Role == demo.RoleOfficer {
			tokens[u.Username] = newClient(t, base).login(u.Username, u.Password).token
		}
	}
	httpc := &http.Client{Timeout: 30 * time.Second}
	post := func(r enforcement.Record) (int, error) {
		body, _ := json.Marshal(r)
		req, _ := http.NewRequest("POST", base+"/api/v1/records", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokens[r.Officers[0]])
		resp, err := httpc.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var acked atomic.Int64
	killed := make(chan struct{})
	go func() {
		for acked.Load() < 800 {
			time.Sleep(5 * time.Millisecond)
		}
		_ = srv.Process.Signal(syscall.SIGKILL)
		_, _ = srv.Process.Wait()
		close(killed)
	}()
	_ = parallel(recs, 16, func(r enforcement.Record) error {
		st, err := post(r)
		if err == nil && st == 201 {
			acked.Add(1)
		}
		return nil // after the kill, requests fail: that is the point
	})
	<-killed
	t.Logf("%d of %d records acknowledged before the kill", acked.Load(), len(recs))

	srv = startBinary(t, bin, dir, addr)
	defer func() { _ = srv.Process.Signal(os.Interrupt); _, _ = srv.Process.Wait() }()
	// The access tokens issued before the kill stay valid: the signing key
	// is kept in the data directory.
	var created, again atomic.Int64
	err := parallel(recs, 16, func(r enforcement.Record) error {
		st, err := post(r)
		switch {
		case err != nil:
			return err
		case st == 201:
			created.Add(1)
		case st == 200:
			again.Add(1)
		default:
			return fmt.Errorf("replay of %s: status %d", r.ID, st)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if again.Load() < acked.Load() {
		t.Errorf("only %d replays were recognised as stored, but %d were acknowledged before the kill: acknowledged records were lost", again.Load(), acked.Load())
	}
	k.checkTotalsAndAudit(t, recs)
}

// checkTotalsAndAudit checks that the 2020 totals are exactly those of recs,
// each counted once, and that the audit chain verifies.
func (k killRig) checkTotalsAndAudit(t *testing.T, recs []enforcement.Record) {
	t.Helper()
	var want enforcement.Counts
	for _, r := range recs {
		for _, c := range r.Contributions() {
			want.Add(c.Counts, 1)
		}
	}
	office := newClient(t, k.base).login("office", demo.Password)
	var rep records.TotalsReport
	office.do("GET", "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01", nil, &rep)
	if fmt.Sprint(rep.Totals) != fmt.Sprint(want.Totals()) {
		t.Errorf("totals after the kill\n got %+v\nwant %+v", rep.Totals, want.Totals())
	}
	var ver records.AuditReport
	if st := office.do("GET", "/api/v1/audit/verify", nil, &ver); st != 200 || !ver.OK {
		t.Errorf("audit after the kill: %d %+v", st, ver)
	}
}

// killRig is the real binary, built and started on a fresh data directory
// with the demo year's units and accounts created over HTTP.
type killRig struct {
	year                 demo.Year
	bin, dir, addr, base string
	srv                  *exec.Cmd
}

func newKillRig(t *testing.T) killRig {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	k := killRig{dir: t.TempDir()}
	k.bin = filepath.Join(k.dir, "baoshui")
	if out, err := exec.Command("go", "build", "-o", k.bin, "github.com/baoshui/baoshui/server/cmd/baoshui").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	y, err := demo.Load(repoPath(t, "testdata/demo2020"))
	if err != nil {
		t.Fatal(err)
	}
	k.year, k.addr = y, freeAddr(t)
	k.srv = startBinary(t, k.bin, k.dir, k.addr)
	k.base = "http://" + k.addr
	root := newClient(t, k.base).login("root", "root-password")
	for _, u := range y.Units {
		root.do("POST", "/api/v1/units", u, nil)
	}
	for _, u := range y.Users {
		root.do("POST", "/api/v1/users", u, nil)
	}
	return k
}

func startBinary(t *testing.T, bin, dir, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "-data-dir", dir, "-http-addr", addr, "-mqtt-addr", "127.0.0.1:0", "-bootstrap-admin", "root:root-password", "-log-level", "error")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	t.Fatal("server not ready")
	return nil
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
