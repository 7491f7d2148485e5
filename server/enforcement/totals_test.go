package enforcement_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

func ptime(t time.Time) *time.Time { return &t }

// contribution is a Contribution with its day written out as a date, so the
// expectations do not depend on the Day arithmetic under test.
type contribution struct {
	day    string
	counts enforcement.Counts
}

func TestContributions(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	at := func(s string) time.Time { return mustTime(t, s) }
	expulsion := func(a enforcement.Activity, n int64) enforcement.Record {
		return enforcement.Record{Kind: enforcement.KindExpulsion, ObservedAt: at("2020-07-04T15:20:00+08:00"), Persons: n, Activity: a}
	}
	confiscation := decodeFixture(t, "confiscation.json")
	caseRec := decodeFixture(t, "case.json")
	patrol := decodeFixture(t, "patrol.json")
	voided := func(r enforcement.Record) enforcement.Record { r.Voided = true; return r }

	cases := []struct {
		name string
		rec  enforcement.Record
		want []contribution
	}{
		{"expulsion fishing", expulsion(enforcement.ActivityFishing, 2),
			[]contribution{{"2020-07-04", enforcement.Counts{Persons: [4]int64{2, 0, 0, 0}}}}},
		{"expulsion swimming", expulsion(enforcement.ActivitySwimming, 3),
			[]contribution{{"2020-07-04", enforcement.Counts{Persons: [4]int64{0, 3, 0, 0}}}}},
		{"expulsion visiting", expulsion(enforcement.ActivityVisiting, 4),
			[]contribution{{"2020-07-04", enforcement.Counts{Persons: [4]int64{0, 0, 4, 0}}}}},
		{"expulsion other", expulsion(enforcement.ActivityOther, 5),
			[]contribution{{"2020-07-04", enforcement.Counts{Persons: [4]int64{0, 0, 0, 5}}}}},
		{"expulsion observed late on new year's eve UTC", enforcement.Record{Kind: enforcement.KindExpulsion,
			ObservedAt: at("2020-12-31T16:30:00Z"), Persons: 1, Activity: enforcement.ActivityFishing},
			[]contribution{{"2021-01-01", enforcement.Counts{Persons: [4]int64{1, 0, 0, 0}}}}},
		{"grazing counts one whatever the animals", decodeFixture(t, "grazing.json"),
			[]contribution{{"2020-05-12", enforcement.Counts{Grazing: 1}}}},
		{"grazing without a count", decodeFixture(t, "grazing_no_count.json"),
			[]contribution{{"2020-05-13", enforcement.Counts{Grazing: 1}}}},
		{"vehicle counts vehicles", decodeFixture(t, "vehicle.json"),
			[]contribution{{"2020-08-01", enforcement.Counts{Vehicles: 2}}}},
		// 3×5000 + 1×12000 + 2×0 fen, 6 pieces.
		{"confiscation items and value", confiscation,
			[]contribution{{"2020-06-20", enforcement.Counts{Items: 6, ValueFen: 27000}}}},
		{"case filed and fined on different days", caseRec,
			[]contribution{{"2020-01-01", enforcement.Counts{CasesFiled: 1}}, {"2020-02-04", enforcement.Counts{FinesFen: 50000}}}},
		{"case filed only", decodeFixture(t, "case_filed.json"),
			[]contribution{{"2020-03-02", enforcement.Counts{CasesFiled: 1}}}},
		{"case decided without a fine", enforcement.Record{Kind: enforcement.KindCase, ObservedAt: at("2020-03-01T00:00:00Z"),
			FiledAt: ptime(at("2020-03-01T01:00:00Z")), DecidedAt: ptime(at("2020-04-01T01:00:00Z"))},
			[]contribution{{"2020-03-01", enforcement.Counts{CasesFiled: 1}}}},
		{"case days are Shanghai days, not observed_at's", enforcement.Record{Kind: enforcement.KindCase,
			ObservedAt: at("2020-03-01T00:00:00Z"), FineFen: 20000,
			FiledAt: ptime(at("2020-03-01T16:00:00Z")), DecidedAt: ptime(at("2020-12-31T16:30:00Z"))},
			[]contribution{{"2020-03-02", enforcement.Counts{CasesFiled: 1}}, {"2021-01-01", enforcement.Counts{FinesFen: 20000}}}},
		{"case filed and fined the same day", enforcement.Record{Kind: enforcement.KindCase, ObservedAt: at("2020-03-01T00:00:00Z"),
			FineFen: 100, FiledAt: ptime(time.Date(2020, 3, 1, 9, 0, 0, 0, sh)), DecidedAt: ptime(time.Date(2020, 3, 1, 17, 0, 0, 0, sh))},
			[]contribution{{"2020-03-01", enforcement.Counts{CasesFiled: 1}}, {"2020-03-01", enforcement.Counts{FinesFen: 100}}}},
		{"patrol adds nothing", patrol, nil},
		{"unknown kind adds nothing", enforcement.Record{Kind: "boat", ObservedAt: at("2020-03-01T00:00:00Z"), Persons: 3}, nil},
		{"voided expulsion", voided(expulsion(enforcement.ActivityFishing, 2)), nil},
		{"voided grazing", voided(decodeFixture(t, "grazing.json")), nil},
		{"voided vehicle", voided(decodeFixture(t, "vehicle.json")), nil},
		{"voided confiscation", voided(confiscation), nil},
		{"voided case", voided(caseRec), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.rec.Contributions()
			if len(got) != len(c.want) {
				t.Fatalf("got %d contributions %+v, want %d %+v", len(got), got, len(c.want), c.want)
			}
			for i, w := range c.want {
				if got[i].Day.String() != w.day || got[i].Counts != w.counts {
					t.Errorf("contribution %d = {%s %+v}, want {%s %+v}", i, got[i].Day, got[i].Counts, w.day, w.counts)
				}
			}
		})
	}
}

func TestDayOf(t *testing.T) {
	if enforcement.Shanghai == nil {
		t.Fatal("Shanghai is nil")
	}
	cases := []struct {
		name    string
		instant string
		want    string
	}{
		{"new year in Shanghai, still 2020 in UTC", "2020-12-31T16:30:00Z", "2021-01-01"},
		{"last second of 2020 in Shanghai", "2020-12-31T15:59:59Z", "2020-12-31"},
		{"first second of 2021 in Shanghai", "2020-12-31T16:00:00Z", "2021-01-01"},
		{"offset of the input does not matter", "2021-01-01T07:00:00+09:00", "2021-01-01"},
		{"negative offset", "2020-12-31T08:30:00-08:00", "2021-01-01"},
		{"leap day", "2020-02-28T16:00:00Z", "2020-02-29"},
		{"epoch in Shanghai", "1970-01-01T00:00:00+08:00", "1970-01-01"},
		{"day before the epoch", "1969-12-31T15:59:59Z", "1969-12-31"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := enforcement.DayOf(mustTime(t, c.instant)).String(); got != c.want {
				t.Errorf("DayOf(%s) = %s, want %s", c.instant, got, c.want)
			}
		})
	}
	// Days count from 1970-01-01.
	if d := enforcement.DayOf(mustTime(t, "1970-01-01T00:00:00+08:00")); d != 0 {
		t.Errorf("DayOf(1970-01-01 Shanghai) = %d, want 0", d)
	}
	if d := enforcement.DayOf(mustTime(t, "1970-01-01T23:59:59+08:00")); d != 0 {
		t.Errorf("DayOf(1970-01-01 23:59:59 Shanghai) = %d, want 0", d)
	}
	if d := enforcement.DayOf(mustTime(t, "1970-01-01T16:00:00Z")); d != 1 {
		t.Errorf("DayOf(1970-01-02 Shanghai) = %d, want 1", d)
	}
	if d := enforcement.DayOf(mustTime(t, "1970-01-01T15:59:59Z")); d != 0 {
		t.Errorf("DayOf(1970-01-01 23:59:59 Shanghai, as UTC) = %d, want 0", d)
	}
}

func TestDayStringMonthParse(t *testing.T) {
	cases := []struct {
		date  string
		month string
		y     int
		m     time.Month
		d     int
	}{
		{"2020-01-01", "2020-01", 2020, time.January, 1},
		{"2020-02-29", "2020-02", 2020, time.February, 29},
		{"2020-12-31", "2020-12", 2020, time.December, 31},
		{"2021-01-01", "2021-01", 2021, time.January, 1},
		{"1970-01-01", "1970-01", 1970, time.January, 1},
		{"1969-12-31", "1969-12", 1969, time.December, 31},
		{"2000-02-29", "2000-02", 2000, time.February, 29},
		{"2099-07-15", "2099-07", 2099, time.July, 15},
	}
	for _, c := range cases {
		t.Run(c.date, func(t *testing.T) {
			d, err := enforcement.ParseDay(c.date)
			if err != nil {
				t.Fatalf("ParseDay: %v", err)
			}
			if d.String() != c.date {
				t.Errorf("String() = %s", d.String())
			}
			if d.Month() != c.month {
				t.Errorf("Month() = %s, want %s", d.Month(), c.month)
			}
			if y, m, dd := d.Date(); y != c.y || m != c.m || dd != c.d {
				t.Errorf("Date() = %d-%d-%d", y, m, dd)
			}
			if got := enforcement.DayFromDate(c.y, c.m, c.d); got != d {
				t.Errorf("DayFromDate = %d, ParseDay = %d", got, d)
			}
			// Noon in Shanghai on that date falls on that day.
			noon := time.Date(c.y, c.m, c.d, 12, 0, 0, 0, enforcement.Shanghai)
			if got := enforcement.DayOf(noon); got != d {
				t.Errorf("DayOf(noon) = %s", got)
			}
			if next := (d + 1).String(); next <= c.date {
				t.Errorf("day after %s is %s", c.date, next)
			}
		})
	}
	t.Run("2020 has 366 days", func(t *testing.T) {
		a, _ := enforcement.ParseDay("2020-01-01")
		b, _ := enforcement.ParseDay("2021-01-01")
		if b-a != 366 {
			t.Errorf("2021-01-01 - 2020-01-01 = %d days", b-a)
		}
	})
	for _, bad := range []string{"", "2020-13-01", "2020-02-30", "2021-02-29", "20200101", "2020-1-1", "2020-01-01T00:00:00Z", "yesterday"} {
		t.Run("bad "+bad, func(t *testing.T) {
			if d, err := enforcement.ParseDay(bad); err == nil {
				t.Errorf("ParseDay(%q) = %s, want an error", bad, d)
			}
		})
	}
}

func TestCountsAdd(t *testing.T) {
	a := enforcement.Counts{Persons: [4]int64{1, 2, 3, 4}, Grazing: 5, Vehicles: 6, Items: 7, ValueFen: 8, CasesFiled: 9, FinesFen: 10}
	b := enforcement.Counts{Persons: [4]int64{10, 20, 30, 40}, Grazing: 50, Vehicles: 60, Items: 70, ValueFen: 80, CasesFiled: 90, FinesFen: 100}
	cases := []struct {
		name  string
		start enforcement.Counts
		add   enforcement.Counts
		sign  int64
		want  enforcement.Counts
	}{
		{"add to zero", enforcement.Counts{}, a, 1, a},
		{"add", a, b, 1, enforcement.Counts{Persons: [4]int64{11, 22, 33, 44}, Grazing: 55, Vehicles: 66, Items: 77, ValueFen: 88, CasesFiled: 99, FinesFen: 110}},
		{"subtract", b, a, -1, enforcement.Counts{Persons: [4]int64{9, 18, 27, 36}, Grazing: 45, Vehicles: 54, Items: 63, ValueFen: 72, CasesFiled: 81, FinesFen: 90}},
		{"subtract itself", a, a, -1, enforcement.Counts{}},
		{"subtract below zero", enforcement.Counts{}, a, -1, enforcement.Counts{Persons: [4]int64{-1, -2, -3, -4}, Grazing: -5, Vehicles: -6, Items: -7, ValueFen: -8, CasesFiled: -9, FinesFen: -10}},
		{"sign zero", a, b, 0, a},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.start
			got.Add(c.add, c.sign)
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
			if got.IsZero() != (c.want == enforcement.Counts{}) {
				t.Errorf("IsZero() = %v for %+v", got.IsZero(), got)
			}
		})
	}
}

func TestCountsTotals(t *testing.T) {
	c := enforcement.Counts{Persons: [4]int64{1, 2, 3, 4}, Grazing: 5, Vehicles: 6, Items: 7, ValueFen: 8, CasesFiled: 9, FinesFen: 10}
	got := c.Totals()
	want := enforcement.Totals{PersonsCleared: 10, GrazingStopped: 5, VehiclesCleared: 6, ItemsConfiscated: 7,
		ConfiscatedValueFen: 8, CasesFiled: 9, FinesFen: 10}
	byActivity := got.ByActivity
	got.ByActivity = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Totals() = %+v, want %+v", got, want)
	}
	wantBy := map[enforcement.Activity]int64{"fishing": 1, "swimming": 2, "visiting": 3, "other": 4}
	if len(byActivity) != len(wantBy) {
		t.Errorf("ByActivity = %v, want %v", byActivity, wantBy)
	}
	for a, n := range wantBy {
		if byActivity[a] != n {
			t.Errorf("ByActivity[%s] = %d, want %d", a, byActivity[a], n)
		}
	}
	// Zero counts still report every activity.
	if z := (enforcement.Counts{}).Totals(); len(z.ByActivity) != 4 || z.PersonsCleared != 0 {
		t.Errorf("zero Totals() = %+v", z)
	}
}

// TestContributionsSumToTotals: a record added and then removed (a correction)
// leaves every day as it was.
func TestContributionsCorrection(t *testing.T) {
	days := map[enforcement.Day]enforcement.Counts{}
	apply := func(r enforcement.Record, sign int64) {
		for _, c := range r.Contributions() {
			cur := days[c.Day]
			cur.Add(c.Counts, sign)
			days[c.Day] = cur
		}
	}
	old := decodeFixture(t, "case.json")
	corrected := old
	corrected.FineFen = 80000
	corrected.DecidedAt = ptime(mustTime(t, "2020-03-10T10:00:00+08:00"))
	apply(old, 1)
	apply(old, -1)
	apply(corrected, 1)
	for d, c := range days {
		var want enforcement.Counts
		switch d.String() {
		case "2020-01-01":
			want.CasesFiled = 1
		case "2020-03-10":
			want.FinesFen = 80000
		}
		if c != want {
			t.Errorf("%s: %+v, want %+v", d, c, want)
		}
	}
}
