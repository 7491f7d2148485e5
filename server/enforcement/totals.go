package enforcement

import (
	"time"
	_ "time/tzdata" // Asia/Shanghai must resolve on machines without a tz database
)

// Shanghai is the time zone in which "a day", "a month" and "a year" are
// counted unless a request says otherwise.
var Shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		// Without the tz database the fixed offset is exact: China has had
		// no daylight saving since 1991.
		return time.FixedZone(name, 8*3600)
	}
	return loc
}

// Day is a calendar day in Asia/Shanghai, as days since 1970-01-01.
type Day int32

// DayOf returns the Asia/Shanghai day of the instant t.
func DayOf(t time.Time) Day {
	y, m, d := t.In(Shanghai).Date()
	return DayFromDate(y, m, d)
}

// DayFromDate returns the Day of a calendar date.
func DayFromDate(y int, m time.Month, d int) Day {
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// ParseDay parses a YYYY-MM-DD date.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, err
	}
	return DayFromDate(t.Date()), nil
}

// Date returns the calendar date of d.
func (d Day) Date() (int, time.Month, int) {
	return time.Unix(int64(d)*86400, 0).UTC().Date()
}

// String formats d as YYYY-MM-DD.
func (d Day) String() string { return time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly) }

// Month formats d's month as YYYY-MM.
func (d Day) Month() string { return time.Unix(int64(d)*86400, 0).UTC().Format("2006-01") }

// Totals are the enforcement figures the district reports. Money is in fen.
type Totals struct {
	PersonsCleared      int64              `json:"persons_cleared"`
	ByActivity          map[Activity]int64 `json:"by_activity"`
	GrazingStopped      int64              `json:"grazing_stopped"`
	VehiclesCleared     int64              `json:"vehicles_cleared"`
	ItemsConfiscated    int64              `json:"items_confiscated"`
	ConfiscatedValueFen int64              `json:"confiscated_value_fen"`
	CasesFiled          int64              `json:"cases_filed"`
	FinesFen            int64              `json:"fines_fen"`
}

// Counts is the contribution of records to one day; it is Totals in a form
// that adds and subtracts without allocating.
type Counts struct {
	Persons    [4]int64 // indexed like Activities
	Grazing    int64
	Vehicles   int64
	Items      int64
	ValueFen   int64
	CasesFiled int64
	FinesFen   int64
}

// Add adds o to c, scaled by sign (+1 or -1).
func (c *Counts) Add(o Counts, sign int64) {
	for i := range c.Persons {
		c.Persons[i] += sign * o.Persons[i]
	}
	c.Grazing += sign * o.Grazing
	c.Vehicles += sign * o.Vehicles
	c.Items += sign * o.Items
	c.ValueFen += sign * o.ValueFen
	c.CasesFiled += sign * o.CasesFiled
	c.FinesFen += sign * o.FinesFen
}

// IsZero reports whether c counts nothing.
func (c Counts) IsZero() bool { return c == Counts{} }

// Totals converts c to the reported form.
func (c Counts) Totals() Totals {
	t := Totals{ByActivity: make(map[Activity]int64, len(Activities))}
	for i, a := range Activities {
		t.ByActivity[a] = c.Persons[i]
		t.PersonsCleared += c.Persons[i]
	}
	t.GrazingStopped = c.Grazing
	t.VehiclesCleared = c.Vehicles
	t.ItemsConfiscated = c.Items
	t.ConfiscatedValueFen = c.ValueFen
	t.CasesFiled = c.CasesFiled
	t.FinesFen = c.FinesFen
	return t
}

// Contribution is what one record adds to one day's counts.
type Contribution struct {
	Day    Day
	Counts Counts
}

// Contributions returns what a record adds to the totals, by day: most kinds
// count on the day they were observed; a case counts as filed on the day of
// filed_at and its fine on the day of decided_at. A voided record adds
// nothing. The result has at most two entries.
func (r *Record) Contributions() []Contribution {
	if r.Voided {
		return nil
	}
	var c Counts
	switch r.Kind {
	case KindExpulsion:
		for i, a := range Activities {
			if a == r.Activity {
				c.Persons[i] = r.Persons
			}
		}
	case KindGrazing:
		c.Grazing = 1
	case KindVehicle:
		c.Vehicles = r.Vehicles
	case KindConfiscation:
		c.Items = r.ItemCount()
		c.ValueFen = r.ValueFen()
	case KindCase:
		var out []Contribution
		if r.FiledAt != nil {
			out = append(out, Contribution{Day: DayOf(*r.FiledAt), Counts: Counts{CasesFiled: 1}})
		}
		if r.DecidedAt != nil && r.FineFen > 0 {
			out = append(out, Contribution{Day: DayOf(*r.DecidedAt), Counts: Counts{FinesFen: r.FineFen}})
		}
		return out
	default:
		return nil
	}
	return []Contribution{{Day: DayOf(r.ObservedAt), Counts: c}}
}
