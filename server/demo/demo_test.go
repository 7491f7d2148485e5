package demo

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

// year is Generate(Seed), made once for the whole test binary.
var year = sync.OnceValue(func() Year { return Generate(Seed) })

// committedDir is testdata/demo2020 at the root of the repository (the
// directory holding go.mod).
func committedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "demo2020")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

var (
	from2020 = enforcement.DayFromDate(2020, 1, 1)
	to2020   = enforcement.DayFromDate(2021, 1, 1)
)

func TestFiguresAreTheReported2020Totals(t *testing.T) {
	y := year()
	// Sum through Record.Contributions directly, days in Asia/Shanghai.
	var c enforcement.Counts
	for i := range y.Records {
		for _, k := range y.Records[i].Contributions() {
			if k.Day < from2020 || k.Day >= to2020 {
				t.Errorf("record %s counts on %s, outside 2020", y.Records[i].ID, k.Day)
			}
			c.Add(k.Counts, 1)
		}
	}
	got := c.Totals()
	tests := []struct {
		name      string
		got, want int64
	}{
		{"persons cleared", got.PersonsCleared, 6683},
		{"grazing stopped", got.GrazingStopped, 5},
		{"vehicles cleared", got.VehiclesCleared, 879},
		{"items confiscated", got.ItemsConfiscated, 2105},
		{"confiscated value (fen)", got.ConfiscatedValueFen, 59_939_000},
		{"cases filed", got.CasesFiled, 381},
		{"fines (fen)", got.FinesFen, 47_660_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %d, want %d", tc.got, tc.want)
			}
		})
	}
	if f := y.Figures(); f != Reported2020 {
		t.Errorf("Figures() = %+v, want %+v", f, Reported2020)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	if !reflect.DeepEqual(Generate(Seed), year()) {
		t.Fatal("two Generate(Seed) calls differ")
	}
}

func TestOtherSeedsHitTheFiguresToo(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, seed := range []int64{1, 7} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			y := Generate(seed) // panics if the figures are off
			if f := y.Figures(); f != Reported2020 {
				t.Errorf("figures %+v", f)
			}
			if reflect.DeepEqual(y.Records, year().Records) {
				t.Error("a different seed gave the same records")
			}
		})
	}
}

func TestCommittedFilesEqualAFreshWrite(t *testing.T) {
	dir := t.TempDir()
	if err := year().Write(dir); err != nil {
		t.Fatal(err)
	}
	committed := committedDir(t)
	for _, name := range []string{UnitsFile, UsersFile, RecordsFile} {
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(committed, name))
			if err != nil {
				t.Fatalf("%v (regenerate: go run ./server/demo/gen -out testdata/demo2020)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("testdata/demo2020/%s differs from Generate(Seed).Write (%d vs %d bytes); "+
					"regenerate with: go run ./server/demo/gen -out testdata/demo2020", name, len(got), len(want))
			}
		})
	}
}

func TestCommittedRecordsDecode(t *testing.T) {
	y := year()
	f, err := os.Open(filepath.Join(committedDir(t), RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	now := time.Date(2021, 1, 1, 0, 0, 0, 0, enforcement.Shanghai)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		in, err := enforcement.Decode(sc.Bytes(), now)
		if err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		if in.CRS != "" {
			t.Errorf("line %d: crs %q", n+1, in.CRS)
		}
		if n < len(y.Records) {
			if got, want := in.Record.CanonicalHash(), y.Records[n].CanonicalHash(); got != want {
				t.Errorf("line %d (%s): decoded record differs from the generated one", n+1, in.Record.ID)
			}
		}
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(y.Records) {
		t.Errorf("%d lines, want %d records", n, len(y.Records))
	}
}

func TestLoadReturnsTheGeneratedYear(t *testing.T) {
	got, err := Load(committedDir(t))
	if err != nil {
		t.Fatal(err)
	}
	want := year()
	if !reflect.DeepEqual(got.Units, want.Units) {
		t.Error("units differ")
	}
	if !reflect.DeepEqual(got.Users, want.Users) {
		t.Error("users differ")
	}
	if len(got.Records) != len(want.Records) {
		t.Fatalf("%d records, want %d", len(got.Records), len(want.Records))
	}
	for i := range got.Records {
		if !reflect.DeepEqual(got.Records[i], want.Records[i]) {
			t.Fatalf("record %d (%s) differs after Load", i, want.Records[i].ID)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		records string
	}{
		{"not JSON", "{\n"},
		{"invalid record", `{"id":"x","kind":"expulsion"}` + "\n"},
		{"foreign crs", `{"id":"x","kind":"grazing","observed_at":"2020-05-01T08:00:00+08:00","crs":"gcj02",` +
			`"location":{"type":"Point","coordinates":[116.9,40.5]},"unit":"miyun"}` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := (Year{}).Write(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, RecordsFile), []byte(tc.records), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(dir); err == nil {
				t.Error("Load succeeded")
			}
		})
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Error("Load of an empty directory succeeded")
	}
}

func TestUnitsAndUsers(t *testing.T) {
	y := year()
	tree := enforcement.NewUnitTree()
	tiers := map[enforcement.Tier]int{}
	for _, u := range y.Units {
		if err := tree.CheckUnit(u); err != nil {
			t.Errorf("unit %s: %v", u.ID, err)
		}
		if _, dup := tree.Get(u.ID); dup {
			t.Errorf("unit %s twice", u.ID)
		}
		tree.Put(u)
		tiers[u.Tier]++
	}
	if tiers[enforcement.TierDistrict] != 1 || tiers[enforcement.TierTown] != 7 {
		t.Errorf("tiers %v, want 1 district and 7 towns", tiers)
	}
	if v := tiers[enforcement.TierVillage]; v < 14 || v > 21 {
		t.Errorf("%d village teams, want 2–3 per town", v)
	}
	if len(y.Users) > 40 {
		t.Errorf("%d users, want at most 40", len(y.Users))
	}
	seen := map[string]bool{}
	officers := map[string]int{}
	roles := map[string]int{}
	for _, u := range y.Users {
		if seen[u.Username] {
			t.Errorf("user %s twice", u.Username)
		}
		seen[u.Username] = true
		if _, ok := tree.Get(u.Unit); !ok {
			t.Errorf("user %s: unknown unit %q", u.Username, u.Unit)
		}
		if u.Password != Password || u.Name == "" {
			t.Errorf("user %s: password or name", u.Username)
		}
		roles[u.Role]++
		if u.Role == RoleOfficer {
			officers[u.Unit]++
		}
		if u.Role == RoleSupervisor {
			if unit, _ := tree.Get(u.Unit); unit.Tier != enforcement.TierTown {
				t.Errorf("supervisor %s is not in a town team", u.Username)
			}
		}
	}
	want := map[string]int{RoleAdmin: 1, RoleOffice: 1, RoleSupervisor: 7}
	for role, n := range want {
		if roles[role] != n {
			t.Errorf("%d %s accounts, want %d", roles[role], role, n)
		}
	}
	for _, u := range y.Units {
		if officers[u.ID] == 0 {
			t.Errorf("unit %s has no officer", u.ID)
		}
	}
}

// inBox reports whether p lies in the reservoir's box.
func inBox(p [2]float64) bool {
	return p[0] >= 116.80 && p[0] <= 117.10 && p[1] >= 40.45 && p[1] <= 40.62
}

// metres is the distance between two positions, good enough at this scale.
func metres(a, b [2]float64) float64 {
	return math.Hypot((a[0]-b[0])*metresPerLon, (a[1]-b[1])*metresPerLat)
}

func TestRecordsAreConsistent(t *testing.T) {
	y := year()
	if n := len(y.Records); n < 5000 || n > 12000 {
		t.Errorf("%d records, want 5,000 to 12,000", n)
	}
	officerUnit := map[string]string{}
	for _, u := range y.Users {
		if u.Role == RoleOfficer {
			officerUnit[u.Username] = u.Unit
		}
	}
	byID := map[string]*enforcement.Record{}
	for i := range y.Records {
		r := &y.Records[i]
		if byID[r.ID] != nil {
			t.Errorf("id %s twice", r.ID)
		}
		byID[r.ID] = r
		if !enforcement.ValidID(r.ID) || len(r.ID) != 26 {
			t.Errorf("id %q is not a ULID", r.ID)
		}
		if i > 0 && r.ObservedAt.Before(y.Records[i-1].ObservedAt) {
			t.Errorf("record %d is out of order", i)
		}
		if r.ObservedAt.In(enforcement.Shanghai).Year() != 2020 {
			t.Errorf("%s observed %s, not in 2020", r.ID, r.ObservedAt)
		}
		if r.Location == nil || !inBox(r.Location.Coordinates) {
			t.Errorf("%s: location %v outside the reservoir's box", r.ID, r.Location)
		}
		if n := len(r.Officers); n < 1 || n > 3 {
			t.Errorf("%s: %d officers", r.ID, n)
		}
		for _, o := range r.Officers {
			if officerUnit[o] != r.Unit {
				t.Errorf("%s: officer %q is not an officer of %s", r.ID, o, r.Unit)
			}
		}
		if r.Rev != 0 || r.CreatedBy != "" || !r.ReceivedAt.IsZero() || r.BodySHA256 != "" {
			t.Errorf("%s carries server fields", r.ID)
		}
	}

	kinds := map[enforcement.Kind]int{}
	var cases []*enforcement.Record
	for i := range y.Records {
		r := &y.Records[i]
		kinds[r.Kind]++
		switch r.Kind {
		case enforcement.KindPatrol:
			checkPatrol(t, r)
			continue
		case enforcement.KindCase:
			cases = append(cases, r)
		}
		p := byID[r.PatrolID]
		switch {
		case p == nil || p.Kind != enforcement.KindPatrol:
			t.Errorf("%s: patrol_id %q is not a patrol", r.ID, r.PatrolID)
			continue
		case p.Unit != r.Unit:
			t.Errorf("%s: patrol %s is of unit %s, not %s", r.ID, p.ID, p.Unit, r.Unit)
		case r.ObservedAt.Before(*p.StartedAt) || r.ObservedAt.After(*p.EndedAt):
			t.Errorf("%s at %s: patrol %s ran %s–%s", r.ID, r.ObservedAt, p.ID, p.StartedAt, p.EndedAt)
		}
		nearest := math.Inf(1)
		for _, c := range p.Track.Coordinates {
			nearest = min(nearest, metres(c, r.Location.Coordinates))
		}
		if nearest > 2000 {
			t.Errorf("%s is %.0f m from its patrol's track", r.ID, nearest)
		}
	}
	if kinds[enforcement.KindGrazing] != 5 || kinds[enforcement.KindCase] != 381 {
		t.Errorf("kinds %v", kinds)
	}
	for _, c := range cases {
		if c.FiledAt == nil {
			t.Fatalf("case %s: filed_at missing", c.ID)
		}
		if c.ObservedAt.After(*c.FiledAt) || c.FiledAt.In(enforcement.Shanghai).Year() != 2020 {
			t.Errorf("case %s: observed %s, filed %s", c.ID, c.ObservedAt, c.FiledAt)
		}
		switch c.Status {
		case "closed", "paid": // decided within 2020
			if c.DecidedAt == nil {
				t.Fatalf("case %s (%s): decided_at missing", c.ID, c.Status)
			}
			if !c.DecidedAt.After(*c.FiledAt) || c.DecidedAt.Sub(*c.FiledAt) > 90*24*time.Hour ||
				c.DecidedAt.In(enforcement.Shanghai).Year() != 2020 {
				t.Errorf("case %s: filed %s, decided %s", c.ID, c.FiledAt, c.DecidedAt)
			}
		case "investigating", "notice_served", "legal_review", "transferred": // no decision (yet)
			if c.DecidedAt != nil || c.FineFen != 0 {
				t.Errorf("case %s (%s): decided_at %v, fine %d fen", c.ID, c.Status, c.DecidedAt, c.FineFen)
			}
		default:
			t.Errorf("case %s: status %q", c.ID, c.Status)
		}
		if c.Violation == "" || c.LegalBasis == "" || c.Party == "" || c.FineFen < 0 {
			t.Errorf("case %s: incomplete", c.ID)
		}
	}
	// Case numbers run from 0001 in the order of filing.
	sorted := slices.Clone(cases)
	slices.SortStableFunc(sorted, func(a, b *enforcement.Record) int { return a.FiledAt.Compare(*b.FiledAt) })
	for i, c := range sorted {
		if want := fmt.Sprintf("密保罚〔2020〕第%04d号", i+1); c.CaseNo != want {
			t.Errorf("case filed %d-th has case_no %q, want %q", i+1, c.CaseNo, want)
		}
	}
}

func checkPatrol(t *testing.T, p *enforcement.Record) {
	t.Helper()
	if p.StartedAt == nil || p.EndedAt == nil || p.Track == nil {
		t.Errorf("patrol %s: started_at, ended_at or track missing", p.ID)
		return
	}
	cs, ts := p.Track.Coordinates, p.TrackTimes
	if len(cs) < 10 || len(cs) > 40 || len(ts) != len(cs) {
		t.Errorf("patrol %s: %d points, %d times", p.ID, len(cs), len(ts))
		return
	}
	if !p.ObservedAt.Equal(*p.StartedAt) || !ts[0].Equal(*p.StartedAt) || !ts[len(ts)-1].Equal(*p.EndedAt) {
		t.Errorf("patrol %s: times do not line up", p.ID)
	}
	if p.Location.Coordinates != cs[0] {
		t.Errorf("patrol %s: location is not the first track point", p.ID)
	}
	if d := p.EndedAt.Sub(*p.StartedAt); d < 90*time.Minute || d > 5*time.Hour {
		t.Errorf("patrol %s lasted %s", p.ID, d)
	}
	for i := 1; i < len(cs); i++ {
		dt := ts[i].Sub(ts[i-1]).Hours()
		if dt <= 0 {
			t.Errorf("patrol %s: track_times[%d] does not increase", p.ID, i)
			return
		}
		if v := metres(cs[i-1], cs[i]) / 1000 / dt; v > 30 {
			t.Errorf("patrol %s: %.1f km/h between points %d and %d", p.ID, v, i-1, i)
			return
		}
	}
	for _, c := range cs {
		if !inBox(c) {
			t.Errorf("patrol %s: track point %v outside the box", p.ID, c)
			return
		}
	}
}

func TestRealism(t *testing.T) {
	y := year()
	var (
		swimSummer, swimWinter int64
		fishIn, fishAll        int64
		weekendN, weekdayN     int
	)
	banFrom, banTo := enforcement.DayFromDate(2020, 4, 1), enforcement.DayFromDate(2020, 9, 24)
	for i := range y.Records {
		r := &y.Records[i]
		if r.Kind != enforcement.KindExpulsion {
			continue
		}
		local := r.ObservedAt.In(enforcement.Shanghai)
		switch m := local.Month(); {
		case r.Activity != enforcement.ActivitySwimming:
		case m >= time.June && m <= time.August:
			swimSummer += r.Persons
		case m == time.December || m <= time.February:
			swimWinter += r.Persons
		}
		if r.Activity == enforcement.ActivityFishing {
			fishAll += r.Persons
			if d := enforcement.DayOf(r.ObservedAt); d >= banFrom && d <= banTo {
				fishIn += r.Persons
			}
		}
		if wd := local.Weekday(); wd == time.Saturday || wd == time.Sunday {
			weekendN++
		} else {
			weekdayN++
		}
	}
	weekendDays, weekdayDays := 0, 0
	for d := from2020; d < to2020; d++ {
		y, m, dd := d.Date()
		if wd := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Weekday(); wd == time.Saturday || wd == time.Sunday {
			weekendDays++
		} else {
			weekdayDays++
		}
	}
	weekendAvg, weekdayAvg := float64(weekendN)/float64(weekendDays), float64(weekdayN)/float64(weekdayDays)
	tests := []struct {
		name   string
		ok     bool
		detail string
	}{
		{"swimming peaks in summer", swimSummer > 5*swimWinter,
			fmt.Sprintf("Jun–Aug %d persons, Dec–Feb %d", swimSummer, swimWinter)},
		{"fishing mostly in the ban season", fishIn*100 >= 80*fishAll,
			fmt.Sprintf("%d of %d persons in 1 Apr–24 Sep", fishIn, fishAll)},
		{"more expulsions on weekends", weekendAvg > weekdayAvg,
			fmt.Sprintf("%.1f a weekend day, %.1f a weekday", weekendAvg, weekdayAvg)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Error(tc.detail)
			}
			t.Log(tc.detail)
		})
	}
}

func TestCommittedFileSizes(t *testing.T) {
	fi, err := os.Stat(filepath.Join(committedDir(t), RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 10<<20 {
		t.Errorf("%s is %d bytes, want at most 10 MiB", RecordsFile, fi.Size())
	}
}

func TestShorelineIsInsideTheBox(t *testing.T) {
	s := newShoreline(shoreLonLat)
	if s.outward != 1 {
		t.Error("the outline should run counter-clockwise")
	}
	for a := 0.0; a < s.perimeter; a += 50 {
		for _, off := range []float64{-50, 0, 300} {
			if p := toLonLat(s.at(a, off)); !inBox(p) {
				t.Fatalf("arc %.0f m, offset %.0f m: %v outside the box", a, off, p)
			}
		}
	}
}

// comma formats n with thousands separators, as the README does.
func comma(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func TestReadmeMatchesTheData(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(committedDir(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	y := year()
	kinds := map[enforcement.Kind]int{}
	warnings := 0
	statuses := map[string]int{}
	for i := range y.Records {
		r := &y.Records[i]
		kinds[r.Kind]++
		if r.Kind != enforcement.KindCase {
			continue
		}
		statuses[r.Status]++
		if r.DecidedAt != nil && r.FineFen == 0 {
			warnings++
		}
	}
	open := statuses["investigating"] + statuses["notice_served"] + statuses["legal_review"]
	wanted := []string{
		comma(len(y.Records)) + " field records",
		comma(kinds[enforcement.KindPatrol]) + " patrols",
		comma(kinds[enforcement.KindExpulsion]) + " expulsions",
		comma(kinds[enforcement.KindVehicle]) + " vehicle records",
		comma(kinds[enforcement.KindConfiscation]) + " confiscations",
		fmt.Sprintf("the %d patrol teams", len(y.Units)),
		"`" + Password + "`",
		"-seed " + fmt.Sprint(Seed),
		fmt.Sprintf("%d are `closed` or `paid`", statuses["closed"]+statuses["paid"]),
		fmt.Sprintf("%d are still open at the end of the year", open),
		fmt.Sprintf("%d were transferred", statuses["transferred"]),
		"demo.CaseHistories",
	}
	if warnings == 5 {
		wanted = append(wanted, "five are warnings")
	} else {
		t.Errorf("%d warning cases; the README says five", warnings)
	}
	for _, u := range y.Users {
		wanted = append(wanted, "`"+u.Username+"`")
	}
	for _, w := range wanted {
		if !strings.Contains(readme, w) {
			t.Errorf("testdata/demo2020/README.md does not say %q", w)
		}
	}
}
