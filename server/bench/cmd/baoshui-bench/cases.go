package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/baoshui/baoshui/server/app"
	"github.com/baoshui/baoshui/server/blobs"
	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/store"
)

// benchCases is issue 7's benchmark: an open-case dashboard over -cases
// stored cases (the overdue list and the list of open cases, p50/p95 under
// 4 concurrent clients) beside the raw driver counting the open cases on
// the same store, and the dossier export of a case with 50 documents of
// 200 KB each.
func benchCases(dir string) {
	ctx := context.Background()
	data := filepath.Join(dir, "data")
	must(os.MkdirAll(data, 0o750))
	st, err := store.Open(ctx, store.Config{DataDir: data, Logger: quiet()})
	must(err)

	// The histories go through the real state machine; 4 in 100 are still
	// open, filed over the whole span, so the older ones are overdue.
	rules := cases.DefaultRules()
	now := time.Now().UTC()
	first := now.AddDate(-11, 0, 0)
	span := now.Add(-60 * 24 * time.Hour).Sub(first)
	officer := cases.Actor{ID: "officer", Role: cases.RoleOfficer}
	lead := cases.Actor{ID: "sup", Role: cases.RoleSupervisor}
	doc := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	r := rand.New(rand.NewPCG(7, 7))
	seqs := map[int]int{}
	type rev struct {
		c   cases.Case
		rev int
	}
	all := make([]rev, 0, *nCases)
	open := 0
	t0 := time.Now()
	for i := 0; i < *nCases; i++ {
		filed := first.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Second)
		year := cases.YearOf(filed)
		seqs[year]++
		c, err := cases.File(cases.Filing{ID: fmt.Sprintf("bench-%06d", i), CaseNo: cases.FormatCaseNo("密保罚", year, seqs[year]),
			Unit: "miyun", Violation: "fishing_first_zone", Party: cases.Party{Name: "张某"}, FiledAt: filed,
			Circumstances: cases.Circumstances{Circumstance: cases.Ordinary}}, officer, now)
		must(err)
		at := filed
		step := func(a cases.Actor, s cases.Step, after time.Duration) {
			at = at.Add(after)
			if at.After(now) {
				at = now
			}
			s.At = at
			c, err = cases.Transition(c, s, a, rules, now)
			must(err)
		}
		fine := int64(20000 + 100*r.IntN(300))
		step(officer, cases.Step{Action: cases.ActionStartInvestigation}, time.Hour)
		if r.IntN(100) < 4 {
			open++
		} else {
			step(officer, cases.Step{Action: cases.ActionServeNotice, ProposedFineFen: &fine, Documents: []string{doc("notice")}}, 24*time.Hour)
			step(lead, cases.Step{Action: cases.ActionDecide, DecidedFineFen: &fine, Documents: []string{doc("decision")}}, 4*24*time.Hour)
			step(officer, cases.Step{Action: cases.ActionServeDecision, Documents: []string{doc("receipt")}}, 24*time.Hour)
			step(officer, cases.Step{Action: cases.ActionRecordPayment}, 5*24*time.Hour)
			step(lead, cases.Step{Action: cases.ActionClose}, 24*time.Hour)
		}
		all = append(all, rev{c, len(c.Steps)})
	}
	built := time.Since(t0)

	t0 = time.Now()
	work := make(chan rev, 64)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := range work {
				must(st.InsertCaseRevision(ctx, x.c, x.rev, "bench", now))
			}
		}()
	}
	for _, x := range all {
		work <- x
	}
	close(work)
	wg.Wait()
	stored := time.Since(t0)

	// The case with 50 documents of 200 KB, ten on each of five steps.
	bs := blobs.New(st, blobs.Options{})
	var docs []string
	for i := 0; i < 50; i++ {
		b := make([]byte, 200<<10)
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		sum := sha256.Sum256(b)
		sha := hex.EncodeToString(sum[:])
		_, _, err := bs.Write(ctx, sha, 0, int64(len(b)), "application/pdf", bytes.NewReader(b))
		must(err)
		docs = append(docs, sha)
	}
	filed := now.AddDate(0, 0, -30)
	big, err := cases.File(cases.Filing{ID: "bench-dossier", CaseNo: cases.FormatCaseNo("密保罚", cases.YearOf(filed), 9999),
		Unit: "miyun", Violation: "fishing_first_zone", Party: cases.Party{Name: "李某"}, FiledAt: filed, Documents: docs[0:10]}, officer, now)
	must(err)
	fine := int64(50000)
	for i, s := range []cases.Step{
		{Action: cases.ActionStartInvestigation, Documents: docs[10:20]},
		{Action: cases.ActionServeNotice, ProposedFineFen: &fine, Documents: docs[20:30]},
		{Action: cases.ActionDecide, DecidedFineFen: &fine, Documents: docs[30:40]},
		{Action: cases.ActionServeDecision, Documents: docs[40:50]},
	} {
		s.At = filed.Add(time.Duration(i+1) * 5 * 24 * time.Hour)
		a := officer
		if s.Action == cases.ActionDecide {
			a = lead
		}
		big, err = cases.Transition(big, s, a, rules, now)
		must(err)
	}
	must(st.InsertCaseRevision(ctx, big, len(big.Steps), "bench", now))

	// The raw driver's count of the open cases: what a query of the store
	// would cost.
	must(st.Close(ctx))
	addr := freeAddr()
	c, err := app.LoadConfig("bench", []string{"-data-dir", data, "-http-addr", addr, "-mqtt-addr", "off",
		"-bootstrap-admin", "root:root-password"}, func(string) string { return "" })
	must(err)
	t0 = time.Now()
	a, err := app.Start(ctx, c, quiet())
	must(err)
	startup := time.Since(t0)
	defer a.Close(ctx)
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(a.Store.URI()))
	must(err)
	defer client.Disconnect(ctx)
	col := client.Database("baoshui").Collection("cases")
	var raw []time.Duration
	var rawOpen int64
	for i := 0; i < 5; i++ {
		t := time.Now()
		n, err := col.CountDocuments(ctx, bson.M{"state": bson.M{"$in": []string{"filed", "investigating", "notice_served", "hearing", "legal_review"}}})
		must(err)
		raw = append(raw, time.Since(t))
		rawOpen = n
	}

	tok := login(a.URL(), "root", "root-password")
	get := func(path string) (time.Duration, int) {
		req, _ := http.NewRequest("GET", a.URL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		t := time.Now()
		resp, err := http.DefaultClient.Do(req)
		must(err)
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			must(fmt.Errorf("GET %s: %d", path, resp.StatusCode))
		}
		return time.Since(t), int(n)
	}
	measure := func(path string, n, clients int) (p50, p95 time.Duration, size int) {
		var mu sync.Mutex
		var ds []time.Duration
		var wg sync.WaitGroup
		for w := 0; w < clients; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n/clients; i++ {
					d, s := get(path)
					mu.Lock()
					ds = append(ds, d)
					size = s
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2], ds[len(ds)*95/100], size
	}
	get("/api/v1/cases/overdue") // warm
	rows := []struct {
		name, path string
		n, clients int
	}{
		{"GET /cases/overdue?limit=100, the dashboard's first page", "/api/v1/cases/overdue?limit=100", 200, 4},
		{"GET /cases/overdue?limit=1000", "/api/v1/cases/overdue?limit=1000", 200, 4},
		{"GET /cases?state=investigating&limit=100", "/api/v1/cases?state=investigating&limit=100", 200, 4},
		{"GET /cases?limit=100 (all states)", "/api/v1/cases?limit=100", 200, 4},
		{"GET /cases/{id}/dossier, 50 documents of 200 KB", "/api/v1/cases/bench-dossier/dossier", 40, 2},
	}
	type result struct {
		p50, p95 time.Duration
		size     int
	}
	results := make([]result, len(rows))
	for i, r := range rows {
		p50, p95, size := measure(r.path, r.n, r.clients)
		results[i] = result{p50, p95, size}
	}

	// The floor of the dossier on this store: the raw driver reading the
	// same 50 documents, file and chunks by _id, with 2 clients.
	files, chunks := client.Database("baoshui").Collection("fs.files"), client.Database("baoshui").Collection("fs.chunks")
	readDocs := func() time.Duration {
		t := time.Now()
		for _, sha := range docs {
			var f struct {
				Length    int64 `bson:"length"`
				ChunkSize int32 `bson:"chunkSize"`
			}
			must(files.FindOne(ctx, bson.M{"_id": sha}).Decode(&f))
			for n := int64(0); n*int64(f.ChunkSize) < f.Length; n++ {
				var ch struct {
					Data []byte `bson:"data"`
				}
				must(chunks.FindOne(ctx, bson.M{"_id": store.BlobChunkID(sha, n)}).Decode(&ch))
			}
		}
		return time.Since(t)
	}
	var rawDocs []time.Duration
	var rmu sync.Mutex
	var rwg sync.WaitGroup
	for w := 0; w < 2; w++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for i := 0; i < 10; i++ {
				d := readDocs()
				rmu.Lock()
				rawDocs = append(rawDocs, d)
				rmu.Unlock()
			}
		}()
	}
	rwg.Wait()
	sort.Slice(rawDocs, func(i, j int) bool { return rawDocs[i] < rawDocs[j] })
	sort.Slice(raw, func(i, j int) bool { return raw[i] < raw[j] })

	fmt.Printf("## Cases (issue 7): %d cases, %d open\n\n", *nCases+1, open)
	fmt.Printf("Histories built through the state machine in %s, stored one revision each in %s (4 writers); server start-up with them %s.\n\n",
		built.Round(time.Millisecond), stored.Round(time.Millisecond), startup.Round(time.Millisecond))
	fmt.Printf("| request | clients | p50 | p95 | answer |\n|---|---|---|---|---|\n")
	for i, r := range rows {
		res := results[i]
		fmt.Printf("| %s | %d | %s | %s | %d KB |\n", r.name, r.clients, res.p50.Round(10*time.Microsecond), res.p95.Round(10*time.Microsecond), res.size>>10)
	}
	fmt.Printf("| raw driver: the dossier's 50 documents read by _id (files and chunks), no archive | 2 | %s | %s | |\n",
		rawDocs[len(rawDocs)/2].Round(time.Millisecond), rawDocs[len(rawDocs)*95/100].Round(time.Millisecond))
	fmt.Printf("| raw driver: CountDocuments of the open cases by state, %d found (5 runs) | 1 | %s | %s | |\n\n", rawOpen, raw[2].Round(time.Millisecond), raw[4].Round(time.Millisecond))
}
