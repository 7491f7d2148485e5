package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
	"github.com/baoshui/baoshui/server/demo"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/store"
)

// benchPush measures sync push throughput: the demo year's records cloned
// to -create records, pushed by each owner's phone in pushes of 500, -clients
// phones at a time, beside the raw driver's InsertMany of the same documents
// in batches of 500 into the same store.
func benchPush(dir string, year demo.Year) {
	ctx := context.Background()
	a, tokens := startWithOfficers(dir, year, true)
	defer a.Close(ctx)
	var err error
	recs := make([]enforcement.Record, *nCreate)
	byOwner := map[string][]int{}
	for i := range recs {
		recs[i] = clone(year.Records[i%len(year.Records)], i/len(year.Records)+1)
		o := recs[i].Officers[0]
		byOwner[o] = append(byOwner[o], i)
	}
	type push struct {
		owner string
		body  []byte
		n     int
	}
	var pushes []push
	for owner, idx := range byOwner {
		seq := int64(0)
		for k := 0; k < len(idx); k += mobilesync.MaxMutations {
			req := mobilesync.PushRequest{DeviceID: "phone-" + owner, SchemaVersion: 1, DeviceTime: time.Now()}
			for _, i := range idx[k:min(k+mobilesync.MaxMutations, len(idx))] {
				seq++
				b, _ := json.Marshal(recs[i])
				req.Mutations = append(req.Mutations, mobilesync.Mutation{Seq: seq, Op: mobilesync.OpCreate, Record: b})
			}
			body, _ := json.Marshal(req)
			pushes = append(pushes, push{owner, body, len(req.Mutations)})
		}
	}
	// One phone's pushes go in order; phones run -clients at a time.
	queue := make(chan []push, len(byOwner))
	perOwner := map[string][]push{}
	for _, p := range pushes {
		perOwner[p.owner] = append(perOwner[p.owner], p)
	}
	for _, ps := range perOwner {
		queue <- ps
	}
	close(queue)
	httpc := &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: *clients}}
	var mu sync.Mutex
	var lat []time.Duration
	failed, applied := 0, 0
	t0 := time.Now()
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		must(err)
		must(pprof.StartCPUProfile(f))
	}
	var wg sync.WaitGroup
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ps := range queue {
				for _, p := range ps {
					req, _ := http.NewRequest("POST", a.URL()+"/api/v1/sync/push", bytes.NewReader(p.body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+tokens[p.owner])
					t := time.Now()
					resp, err := httpc.Do(req)
					d := time.Since(t)
					var out mobilesync.PushResponse
					ok := err == nil && resp.StatusCode == 200
					if resp != nil {
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						_ = json.Unmarshal(b, &out)
					}
					mu.Lock()
					lat = append(lat, d)
					if !ok {
						failed++
					}
					for _, r := range out.Results {
						if r.Status == mobilesync.StatusApplied {
							applied++
						}
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(t0)
	if *cpuProf != "" {
		pprof.StopCPUProfile()
	}

	docs := make([]any, len(recs))
	for i, r := range recs {
		r.Rev, r.CreatedBy, r.RecordedBy, r.ReceivedAt = 1, r.Officers[0], r.Officers[0], time.Now().UTC()
		r.BodySHA256, r.UnitPath = r.CanonicalHash(), a.Accounts.Units.Path(r.Unit)
		docs[i], err = store.EncodeRecord(r)
		must(err)
	}
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(a.Store.URI()))
	must(err)
	defer client.Disconnect(ctx)
	col := client.Database(a.Store.DatabaseName()).Collection("raw_push")
	t1 := time.Now()
	for i := 0; i < len(docs); i += mobilesync.MaxMutations {
		_, err := col.InsertMany(ctx, docs[i:min(i+mobilesync.MaxMutations, len(docs))])
		must(err)
	}
	raw := time.Since(t1)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))].Round(time.Millisecond) }
	pushRate, rawRate := float64(applied)/took.Seconds(), float64(len(docs))/raw.Seconds()
	fmt.Printf("## Sync push, %d records in %d pushes of ≤ 500 from %d phones, %d at a time\n\n", len(recs), len(pushes), len(byOwner), *clients)
	fmt.Printf("| path | time | records/s |\n|---|---|---|\n")
	fmt.Printf("| POST /api/v1/sync/push (applied %d, failed pushes %d; push p50 %s, p95 %s) | %s | %.0f |\n",
		applied, failed, p(0.5), p(0.95), took.Round(time.Millisecond), pushRate)
	fmt.Printf("| raw driver InsertMany, batches of 500, one caller | %s | %.0f |\n", raw.Round(time.Millisecond), rawRate)
	fmt.Printf("\nratio push / raw: **%.2f**\n\n", pushRate/rawRate)
}
