package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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
			server := func(int) string { return base }
			if err := pushLikeAPhone(httpc, server, ph.token, ph.id, ph.muts, 25, &acked, time.Now().Add(5*time.Minute)); err != nil {
				errs <- err
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

// pushLikeAPhone pushes muts (seqs 1…n) of device in batches of batch as a
// phone retries: the same batch after a transport error or a 5xx (after
// 20 ms), from expected_seq after a 409 gap. server(i) names the server of
// the i-th attempt. Mutations answered as new (not replayed) are counted in
// acked. It returns the first answer a phone could not go on from, or
// being stuck at deadline.
func pushLikeAPhone(httpc *http.Client, server func(attempt int) string, token, device string, muts []mobilesync.Mutation,
	batch int64, acked *atomic.Int64, deadline time.Time) error {
	next := int64(1)
	for attempt := 0; next <= int64(len(muts)); attempt++ {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: stuck at seq %d", device, next)
		}
		end := min(next-1+batch, int64(len(muts)))
		body, _ := json.Marshal(mobilesync.PushRequest{DeviceID: device, SchemaVersion: 1, DeviceTime: time.Now(), Mutations: muts[next-1 : end]})
		req, _ := http.NewRequest("POST", server(attempt)+"/api/v1/sync/push", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := httpc.Do(req)
		if err != nil {
			time.Sleep(20 * time.Millisecond) // the server is down: retry the same batch
			continue
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == 200:
			var pr mobilesync.PushResponse
			if err := json.Unmarshal(out, &pr); err != nil {
				return fmt.Errorf("%s: %v", device, err)
			}
			for _, r := range pr.Results {
				if r.Status != mobilesync.StatusApplied && r.Status != mobilesync.StatusDuplicate {
					return fmt.Errorf("%s seq %d: %s %s", device, r.Seq, r.Status, r.Problem)
				}
				if !r.Replayed {
					acked.Add(1)
				}
			}
			next = pr.NextSeq
		case resp.StatusCode == 409:
			var gap struct {
				ExpectedSeq int64 `json:"expected_seq"`
			}
			_ = json.Unmarshal(out, &gap)
			next = gap.ExpectedSeq
		case resp.StatusCode >= 500:
			time.Sleep(20 * time.Millisecond)
		default:
			return fmt.Errorf("%s: %d %s", device, resp.StatusCode, out)
		}
	}
	return nil
}
