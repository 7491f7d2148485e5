package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/baoshui/baoshui/server/app"
	"github.com/baoshui/baoshui/server/demo"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
)

// TestDemoYearThroughTheAPIGivesThe2020Figures loads the committed 2020 demo
// year through the HTTP API — units and accounts as the admin, every record
// by one of its own officers, 16 at a time — and checks the totals endpoint
// against the seven figures of the 2020 report; then it restarts the server
// on the same data directory and checks that nothing was lost or doubled.
func TestDemoYearThroughTheAPIGivesThe2020Figures(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 9,500 records over HTTP")
	}
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	a := start(t, cfg)
	y, err := demo.Load(repoPath(t, "testdata/demo2020"))
	if err != nil {
		t.Fatal(err)
	}
	root := newClient(t, a.URL()).login("root", "root-password")
	for _, u := range y.Units {
		if st := root.do("POST", "/api/v1/units", u, nil); st != 201 {
			t.Fatalf("create unit %s: %d", u.ID, st)
		}
	}
	officers := map[string]*client{}
	for _, u := range y.Users {
		if st := root.do("POST", "/api/v1/users", u, nil); st != 201 {
			t.Fatalf("create user %s: %d", u.Username, st)
		}
	}
	for _, u := range y.Users {
		if u.Role == demo.RoleOfficer {
			officers[u.Username] = newClient(t, a.URL()).login(u.Username, u.Password)
		}
	}
	post := func(r enforcement.Record) error {
		c := officers[r.Officers[0]]
		body, _ := json.Marshal(r)
		st, b, _ := c.raw("POST", "/api/v1/records", body)
		if st != 201 {
			return fmt.Errorf("record %s: %d %s", r.ID, st, b)
		}
		return nil
	}
	if err := parallel(y.Records, 16, post); err != nil {
		t.Fatal(err)
	}
	// A replay of a slice of the year (a phone syncing again) changes nothing.
	replay := func(r enforcement.Record) error {
		body, _ := json.Marshal(r)
		if st, b, _ := officers[r.Officers[0]].raw("POST", "/api/v1/records", body); st != 200 {
			return fmt.Errorf("replay of %s: %d %s", r.ID, st, b)
		}
		return nil
	}
	if err := parallel(y.Records[:500], 16, replay); err != nil {
		t.Fatal(err)
	}
	office := newClient(t, a.URL()).login("office", demo.Password)
	check := func(when string) {
		t.Helper()
		var rep records.TotalsReport
		if st := office.do("GET", "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01", nil, &rep); st != 200 {
			t.Fatalf("%s: totals status %d", when, st)
		}
		got := demo.FiguresOf(rep.Totals)
		if got != demo.Reported2020 {
			t.Errorf("%s: totals\n got %+v\nwant %+v", when, got, demo.Reported2020)
		}
		var sum int64
		for _, n := range rep.Totals.ByActivity {
			sum += n
		}
		if sum != rep.Totals.PersonsCleared {
			t.Errorf("%s: by_activity sums to %d, persons_cleared is %d", when, sum, rep.Totals.PersonsCleared)
		}
		var months int64
		for _, m := range rep.ByMonth {
			months += m.VehiclesCleared
		}
		if months != rep.Totals.VehiclesCleared {
			t.Errorf("%s: monthly vehicles sum to %d, total %d", when, months, rep.Totals.VehiclesCleared)
		}
	}
	check("after loading")
	var buf bytes.Buffer
	app.WriteReport(&buf, 2020, a.Records.Totals(records.TotalsQuery{From: enforcement.DayFromDate(2020, 1, 1), To: enforcement.DayFromDate(2021, 1, 1)}))
	for _, want := range []string{"6,683", "879", "2,105", "599,390.00", "381", "476,600.00", "制止放牧", "grazing stopped", "2020-07", "1,396"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, buf.String())
		}
	}

	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := start(t, cfg)
	office = newClient(t, b.URL()).login("office", demo.Password)
	check("after a restart")
	var ver records.AuditReport
	if st := office.do("GET", "/api/v1/audit/verify", nil, &ver); st != 200 || !ver.OK || ver.Entries < int64(len(y.Records)) {
		t.Errorf("audit after restart: %d %+v", st, ver)
	}
}

func parallel(recs []enforcement.Record, n int, fn func(enforcement.Record) error) error {
	work := make(chan enforcement.Record)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				if err := fn(r); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, r := range recs {
		work <- r
	}
	close(work)
	wg.Wait()
	return first
}
