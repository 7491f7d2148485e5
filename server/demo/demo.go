// Package demo generates the demonstration year of Baoshui: a seeded,
// deterministic, realistic-looking 2020 of enforcement work on Miyun
// Reservoir — the unit tree, demo accounts and some 9,500 field
// records — whose totals are exactly the figures of the district's 2020
// report (domain/MIYUN-2020.md in the shared design notes).
//
// The data is illustrative: places are approximate, people and plates are
// invented, case numbers and legal bases are made up in a plausible form. It
// is never an official record.
//
// The committed copy lives in testdata/demo2020 and is rewritten with
//
//	go run ./server/demo/gen -out testdata/demo2020
//
// A test checks that the committed files equal a fresh Generate(Seed).Write.
package demo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

// Seed is the seed of the committed demo year.
const Seed = 2020

// The roles of the demo accounts.
const (
	RoleAdmin      = "admin"
	RoleOffice     = "office"
	RoleSupervisor = "supervisor"
	RoleOfficer    = "officer"
)

// User is a demo account. Username is also the user id that records name
// in officers. Password is in clear text: these accounts exist only for a
// local demonstration and the server hashes them when it loads them.
type User struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Unit     string `json:"unit"`
}

// Year is a generated demo year: the unit tree (parents before children),
// the demo accounts, and the field records ordered by observed_at, then id.
// Records carry only the client part: no revision or server metadata.
type Year struct {
	Units   []enforcement.Unit
	Users   []User
	Records []enforcement.Record
}

// Figures are the seven enforcement figures of the district's yearly report.
// Money is in fen.
type Figures struct {
	PersonsCleared      int64 `json:"persons_cleared"`
	GrazingStopped      int64 `json:"grazing_stopped"`
	VehiclesCleared     int64 `json:"vehicles_cleared"`
	ItemsConfiscated    int64 `json:"items_confiscated"`
	ConfiscatedValueFen int64 `json:"confiscated_value_fen"`
	CasesFiled          int64 `json:"cases_filed"`
	FinesFen            int64 `json:"fines_fen"`
}

// Reported2020 are the figures of the 2020 report that the demo year
// reproduces exactly.
var Reported2020 = Figures{
	PersonsCleared:      6683,
	GrazingStopped:      5,
	VehiclesCleared:     879,
	ItemsConfiscated:    2105,
	ConfiscatedValueFen: 599_390_00,
	CasesFiled:          381,
	FinesFen:            476_600_00,
}

// FiguresOf picks the reported figures out of enforcement totals.
func FiguresOf(t enforcement.Totals) Figures {
	return Figures{
		PersonsCleared:      t.PersonsCleared,
		GrazingStopped:      t.GrazingStopped,
		VehiclesCleared:     t.VehiclesCleared,
		ItemsConfiscated:    t.ItemsConfiscated,
		ConfiscatedValueFen: t.ConfiscatedValueFen,
		CasesFiled:          t.CasesFiled,
		FinesFen:            t.FinesFen,
	}
}

// Counts adds up what the records contribute to the Asia/Shanghai days in
// [from, to), through enforcement.Record.Contributions.
func (y Year) Counts(from, to enforcement.Day) enforcement.Counts {
	var c enforcement.Counts
	for i := range y.Records {
		for _, k := range y.Records[i].Contributions() {
			if k.Day >= from && k.Day < to {
				c.Add(k.Counts, 1)
			}
		}
	}
	return c
}

// Figures are the reported figures of calendar year 2020 (Asia/Shanghai).
func (y Year) Figures() Figures {
	return FiguresOf(y.Counts(enforcement.DayFromDate(2020, 1, 1), enforcement.DayFromDate(2021, 1, 1)).Totals())
}

// The files a Year is written to.
const (
	UnitsFile   = "units.json"
	UsersFile   = "users.json"
	RecordsFile = "records.jsonl"
)

// Write writes the year to dir (created if missing): units.json and
// users.json as indented JSON arrays, records.jsonl as one compact JSON
// record per line in the order of y.Records. The output depends only on y.
func (y Year) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo.Write: %w", err)
	}
	units, err := indented(y.Units)
	if err != nil {
		return fmt.Errorf("demo.Write: units: %w", err)
	}
	users, err := indented(y.Users)
	if err != nil {
		return fmt.Errorf("demo.Write: users: %w", err)
	}
	var recs bytes.Buffer
	for i := range y.Records {
		b, err := json.Marshal(y.Records[i].ClientPart())
		if err != nil {
			return fmt.Errorf("demo.Write: record %s: %w", y.Records[i].ID, err)
		}
		recs.Write(b)
		recs.WriteByte('\n')
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{UnitsFile, units}, {UsersFile, users}, {RecordsFile, recs.Bytes()}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return fmt.Errorf("demo.Write: %w", err)
		}
	}
	return nil
}

func indented(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// loadNow is the "now" records are validated against when loaded: the demo
// year is 2020, so nothing may lie after the first day of 2021.
var loadNow = time.Date(2021, 1, 1, 0, 0, 0, 0, enforcement.Shanghai)

// Load reads a year written by Write. Every record is decoded and validated
// with enforcement.Decode; its times are returned in Asia/Shanghai, so
// Load(dir) of a fresh Write equals the Year that was written.
func Load(dir string) (Year, error) {
	var y Year
	if err := readJSON(filepath.Join(dir, UnitsFile), &y.Units); err != nil {
		return Year{}, fmt.Errorf("demo.Load: %w", err)
	}
	if err := readJSON(filepath.Join(dir, UsersFile), &y.Users); err != nil {
		return Year{}, fmt.Errorf("demo.Load: %w", err)
	}
	f, err := os.Open(filepath.Join(dir, RecordsFile))
	if err != nil {
		return Year{}, fmt.Errorf("demo.Load: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		in, err := enforcement.Decode(sc.Bytes(), loadNow)
		if err != nil {
			return Year{}, fmt.Errorf("demo.Load: %s line %d: %w", RecordsFile, line, err)
		}
		if in.CRS != "" && in.CRS != "wgs84" {
			return Year{}, fmt.Errorf("demo.Load: %s line %d: crs %q: demo records are WGS-84", RecordsFile, line, in.CRS)
		}
		y.Records = append(y.Records, inShanghai(in.Record))
	}
	if err := sc.Err(); err != nil {
		return Year{}, fmt.Errorf("demo.Load: %s: %w", RecordsFile, err)
	}
	return y, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}

// inShanghai returns r with every time in Asia/Shanghai.
func inShanghai(r enforcement.Record) enforcement.Record {
	r.ObservedAt = r.ObservedAt.In(enforcement.Shanghai)
	for _, p := range []**time.Time{&r.StartedAt, &r.EndedAt, &r.FiledAt, &r.DecidedAt} {
		if *p != nil {
			t := (*p).In(enforcement.Shanghai)
			*p = &t
		}
	}
	for i, t := range r.TrackTimes {
		r.TrackTimes[i] = t.In(enforcement.Shanghai)
	}
	return r
}
