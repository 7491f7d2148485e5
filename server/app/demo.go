package app

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/baoshui/baoshui/server/accounts"
	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/demo"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
)

// LoadDemo loads the 2020 demo year (units, accounts, records) into an empty
// store — one without units, accounts or records — and returns a
// description of the demo accounts to print. On any other store it does
// nothing: a restart never loads the year twice.
func LoadDemo(ctx context.Context, a *App) (string, error) {
	y := demo.Generate(demo.Seed)
	if a.Accounts.UserCount() > 0 || a.Records.Count() > 0 || len(a.Accounts.Units.All()) > 0 {
		return describeDemo(y, false), nil
	}
	t0 := time.Now()
	for _, u := range y.Units {
		if _, err := a.Accounts.CreateUnit(ctx, "demo", u); err != nil {
			return "", err
		}
	}
	for _, u := range y.Users {
		_, err := a.Accounts.CreateUser(ctx, "demo", accounts.NewUser{Username: u.Username, Password: u.Password,
			Name: u.Name, Role: auth.Role(u.Role), Unit: u.Unit})
		if err != nil {
			return "", err
		}
	}
	if err := createAll(ctx, a.Records, y.Records); err != nil {
		return "", err
	}
	if err := loadDemoLaw(ctx, a, y); err != nil {
		return "", err
	}
	a.Log.Info("demo year loaded", "units", len(y.Units), "users", len(y.Users), "records", len(y.Records),
		"elapsed_ms", time.Since(t0).Milliseconds())
	return describeDemo(y, true), nil
}

// createAll stores records concurrently, so that the writer commits them in
// groups; each is recorded as created by its first officer.
func createAll(ctx context.Context, svc *records.Service, recs []enforcement.Record) error {
	work := make(chan enforcement.Record)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				actor := "demo"
				if len(r.Officers) > 0 {
					actor = r.Officers[0]
				}
				p, err := svc.Prepare(enforcement.Input{Record: r})
				if err == nil {
					_, err = svc.Create(ctx, records.Actor{Username: actor}, p)
				}
				if err != nil {
					select {
					case errc <- fmt.Errorf("record %s: %w", r.ID, err):
					default:
					}
				}
			}
		}()
	}
	for _, r := range recs {
		work <- r
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func describeDemo(y demo.Year, loaded bool) string {
	var b strings.Builder
	if loaded {
		fmt.Fprintf(&b, "Loaded the 2020 demo year: %d units, %d records.\n", len(y.Units), len(y.Records))
	} else {
		b.WriteString("The store already holds data; the demo year was not loaded again.\n")
	}
	b.WriteString("Demo accounts (illustrative data, never for production), all with the password " + demo.Password + ":\n")
	show := map[string]bool{"admin": true, "office": true, "supervisor-gaoling": true, "officer-gaoling-1": true, "officer-miyun-1": true}
	for _, u := range y.Users {
		if show[u.Username] {
			fmt.Fprintf(&b, "  %-20s %-10s %s\n", u.Username, u.Role, u.Unit)
		}
	}
	fmt.Fprintf(&b, "  … %d accounts in all: see testdata/demo2020/README.md.\n", len(y.Users))
	return b.String()
}
