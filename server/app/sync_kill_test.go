package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
)

// TestSyncKilledMidPushLosesNothingAndDoublesNothing has every officer's
// phone push its share of 2,000 demo records in batches of 25 to the real
// binary, SIGKILLs the server in the middle, restarts it, and lets the phones
// retry as they would (same batch after an error; from expected_seq after a
// 409). Afterwards every phone's ledger ends at its last seq, the totals are
// exactly those of the records captured, each once, and the audit verifies.
func TestSyncKilledMidPushLosesNothingAndDoublesNothing(t *testing.T) {
	k := newKillRig(t)
	y, bin, dir, addr, srv, base := k.year, k.bin, k.dir, k.addr, k.srv, k.base
	recs := y.Records[:2000]
	// One phone per officer, holding that officer's records as mutations.
	type phone struct {
		id, token string
		muts      []mobilesync.Mutation
	}
	phones := map[string]*phone{}
	for _, r := range recs {
		o := r.Officers[0]
		ph := phones[o]
		if ph == nil {
			var pw string
			for _, u := range y.Users {
				if u.Username == o {
					pw = u.Password
				}
			}
			c := newClient(t, base).login(o, pw)
			ph = &phone{id: "phone-" + o, token: c.token}
			if st := c.do("POST", "/api/v1/devices", map[string]string{"id": ph.id, "name": o}, nil); st != 201 {
				t.Fatalf("register %s: %d", ph.id, st)
			}
			phones[o] = ph
		}
		body, _ := json.Marshal(r)
		ph.muts = append(ph.muts, mobilesync.Mutation{Seq: int64(len(ph.muts) + 1), Op: mobilesync.OpCreate, Record: body})
	}
	httpc := &http.Client{Timeout: 30 * time.Second}
	var acked atomic.Int64
	restarted := make(chan struct{})
	var mu sync.Mutex
	go func() {
		for acked.Load() < 600 {
			time.Sleep(5 * time.Millisecond)
		}
		_ = srv.Process.Signal(syscall.SIGKILL)
		_, _ = srv.Process.Wait()
		next := startBinary(t, bin, dir, addr)
		mu.Lock()
		srv = next
		mu.Unlock()
		close(restarted)
	}()
	var wg sync.WaitGroup
	errs := make(chan error, len(phones))
	for _, ph := range phones {
		wg.Add(1)
		go func(ph *phone) {
			defer wg.Done()
			next := int64(1)
			deadline := time.Now().Add(5 * time.Minute)
			for next <= int64(len(ph.muts)) {
				if time.Now().After(deadline) {
					errs <- fmt.Errorf("%s: stuck at seq %d", ph.id, next)
					return
				}
				end := min(next-1+25, int64(len(ph.muts)))
				body, _ := json.Marshal(mobilesync.PushRequest{DeviceID: ph.id, SchemaVersion: 1, DeviceTime: time.Now(), Mutations: ph.muts[next-1 : end]})
				req, _ := http.NewRequest("POST", base+"/api/v1/sync/push", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+ph.token)
				resp, err := httpc.Do(req)
				if err != nil {
					time.Sleep(50 * time.Millisecond) // the server is down: retry the same batch
					continue
				}
				var out mobilesync.PushResponse
				var gap struct {
					ExpectedSeq int64 `json:"expected_seq"`
				}
				b := new(bytes.Buffer)
				_, _ = b.ReadFrom(resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == 200:
					_ = json.Unmarshal(b.Bytes(), &out)
					for _, r := range out.Results {
						if r.Status != mobilesync.StatusApplied && r.Status != mobilesync.StatusDuplicate {
							errs <- fmt.Errorf("%s seq %d: %s %s", ph.id, r.Seq, r.Status, r.Problem)
							return
						}
						if !r.Replayed {
							acked.Add(1)
						}
					}
					next = out.NextSeq
				case resp.StatusCode == 409:
					_ = json.Unmarshal(b.Bytes(), &gap)
					next = gap.ExpectedSeq
				case resp.StatusCode >= 500:
					time.Sleep(50 * time.Millisecond)
				default:
					errs <- fmt.Errorf("%s: %d %s", ph.id, resp.StatusCode, b)
					return
				}
			}
		}(ph)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	<-restarted
	mu.Lock()
	defer func() { _ = srv.Process.Signal(os.Interrupt); _, _ = srv.Process.Wait() }()
	mu.Unlock()
	t.Logf("%d phones: %d of %d mutations answered as new; the rest were applied before the kill and answered from the ledger after it", len(phones), acked.Load(), len(recs))

	k.checkTotalsAndAudit(t, recs)
	// Every phone's next push is expected right after its last mutation.
	for _, ph := range phones {
		last := ph.muts[len(ph.muts)-1]
		body, _ := json.Marshal(mobilesync.PushRequest{DeviceID: ph.id, SchemaVersion: 1, Mutations: []mobilesync.Mutation{last}})
		req, _ := http.NewRequest("POST", base+"/api/v1/sync/push", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+ph.token)
		resp, err := httpc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out mobilesync.PushResponse
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != 200 || out.NextSeq != last.Seq+1 || len(out.Results) != 1 || !out.Results[0].Replayed {
			t.Errorf("%s: %d next %d, want %d with the last seq replayed", ph.id, resp.StatusCode, out.NextSeq, last.Seq+1)
		}
	}
}
