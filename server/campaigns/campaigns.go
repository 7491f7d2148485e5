// Package campaigns is the pure domain of enforcement campaigns (专项行动,
// e.g. the 2020 100-day rectification of the reservoir) and joint
// operations (联合执法) with other agencies: what they are, how they are
// validated, and how a campaign's totals are measured against its targets.
//
// Records and cases are tagged to a campaign by its id (the record's and
// the case's "campaign" field); a joint operation lists the records and
// cases made during it. A record is one enforcement act however many
// agencies took part in it, so an operation's figures are the sum of its
// distinct records, each counted once.
//
// It imports only the standard library and server/enforcement. Errors wrap
// enforcement.ErrInvalid with a *enforcement.ValidationError naming each bad
// field.
package campaigns

import (
	"fmt"
	"slices"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

// Limits of what a campaign or an operation may hold.
const (
	MaxZones    = 100
	MaxUnits    = 200
	MaxAgencies = 50
	// MaxRecords bounds the records (and, separately, the cases) one
	// operation lists.
	MaxRecords = 2000
)

// Figures are the names of the enforcement figures a campaign may set
// targets for, as enforcement.Totals names them in JSON.
var Figures = []string{"persons_cleared", "grazing_stopped", "vehicles_cleared", "items_confiscated",
	"confiscated_value_fen", "cases_filed", "fines_fen"}

// Figure returns the named figure of t; ok is false for an unknown name.
func Figure(t enforcement.Totals, name string) (v int64, ok bool) {
	switch name {
	case "persons_cleared":
		return t.PersonsCleared, true
	case "grazing_stopped":
		return t.GrazingStopped, true
	case "vehicles_cleared":
		return t.VehiclesCleared, true
	case "items_confiscated":
		return t.ItemsConfiscated, true
	case "confiscated_value_fen":
		return t.ConfiscatedValueFen, true
	case "cases_filed":
		return t.CasesFiled, true
	case "fines_fen":
		return t.FinesFen, true
	}
	return 0, false
}

// Campaign is an enforcement campaign: its period (Asia/Shanghai dates,
// both inclusive, as YYYY-MM-DD), the protection zones and teams it covers
// (empty = all) and its targets by figure name (see Figures).
type Campaign struct {
	ID      string           `json:"id"`
	Name    string           `json:"name"`
	From    string           `json:"from"`
	To      string           `json:"to"`
	Zones   []string         `json:"zones,omitempty"`
	Units   []string         `json:"units,omitempty"`
	Targets map[string]int64 `json:"targets,omitempty"`
	Note    string           `json:"note,omitempty"`
}

// Period returns the campaign's days as the half-open range [from, to) that
// totals queries take.
func (c Campaign) Period() (from, to enforcement.Day, err error) {
	f, err1 := enforcement.ParseDay(c.From)
	t, err2 := enforcement.ParseDay(c.To)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("campaigns: %s: %w: bad period %q to %q", c.ID, enforcement.ErrInvalid, c.From, c.To)
	}
	return f, t + 1, nil
}

// Validate checks a campaign: id, name, a period whose end is not before its
// start, known target figures with non-negative targets, and bounded lists.
func (c Campaign) Validate() error {
	v := &validation{}
	v.id("id", c.ID)
	v.Text("name", c.Name, enforcement.MaxTextRunes, true)
	from, err1 := enforcement.ParseDay(c.From)
	if err1 != nil {
		v.Add("from", "required: a date YYYY-MM-DD")
	}
	to, err2 := enforcement.ParseDay(c.To)
	if err2 != nil {
		v.Add("to", "required: a date YYYY-MM-DD")
	}
	if err1 == nil && err2 == nil && to < from {
		v.Add("to", "must not be before from")
	}
	v.list("zones", c.Zones, MaxZones)
	v.list("units", c.Units, MaxUnits)
	for name, n := range c.Targets {
		if _, ok := Figure(enforcement.Totals{}, name); !ok {
			v.Add("targets."+name, "unknown figure; one of %v", Figures)
		} else if n < 0 {
			v.Add("targets."+name, "must not be negative")
		}
	}
	v.Text("note", c.Note, enforcement.MaxNoteRunes, false)
	return v.Err()
}

// Progress is one target of a campaign against what was achieved.
type Progress struct {
	Figure string `json:"figure"`
	Target int64  `json:"target"`
	Actual int64  `json:"actual"`
	// Percent is Actual as a share of Target, rounded down to a whole
	// percent; 100 or more means the target is met. A target of 0 is met
	// at once (Percent 100).
	Percent int64 `json:"percent"`
	Met     bool  `json:"met"`
}

// Measure returns the campaign's progress on each of its targets given the
// totals of its records, in the order of Figures.
func Measure(c Campaign, t enforcement.Totals) []Progress {
	out := []Progress{}
	for _, name := range Figures {
		target, ok := c.Targets[name]
		if !ok {
			continue
		}
		actual, _ := Figure(t, name)
		p := Progress{Figure: name, Target: target, Actual: actual, Percent: 100}
		if target > 0 {
			p.Percent = actual * 100 / target
		}
		p.Met = actual >= target
		out = append(out, p)
	}
	return out
}

// Operation is a joint enforcement operation: when it ran, the team that
// led it, the agencies that took part (our own teams and others, e.g. the
// district public security bureau), the campaign it belongs to ("" for
// none), and the records and cases made during it.
type Operation struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Campaign string    `json:"campaign,omitempty"`
	Unit     string    `json:"unit"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Agencies []string  `json:"agencies"`
	Zones    []string  `json:"zones,omitempty"`
	Records  []string  `json:"records,omitempty"`
	Cases    []string  `json:"cases,omitempty"`
	Note     string    `json:"note,omitempty"`
}

// Validate checks an operation: id, name, lead unit, a period whose end is
// not before its start and not after now, 1 to MaxAgencies distinct
// agencies, and distinct record and case ids.
func (o Operation) Validate(now time.Time) error {
	v := &validation{}
	v.id("id", o.ID)
	v.Text("name", o.Name, enforcement.MaxTextRunes, true)
	if o.Campaign != "" {
		v.id("campaign", o.Campaign)
	}
	v.Text("unit", o.Unit, enforcement.MaxIDLength, true)
	switch {
	case o.Start.IsZero():
		v.Add("start", "required: an RFC 3339 instant")
	case o.Start.After(now):
		v.Add("start", "must not be in the future")
	}
	switch {
	case o.End.IsZero():
		v.Add("end", "required: an RFC 3339 instant")
	case !o.Start.IsZero() && o.End.Before(o.Start):
		v.Add("end", "must not be before start")
	case o.End.After(now):
		v.Add("end", "must not be in the future")
	}
	if len(o.Agencies) == 0 {
		v.Add("agencies", "required: the agencies that took part")
	}
	v.list("agencies", o.Agencies, MaxAgencies)
	v.list("zones", o.Zones, MaxZones)
	v.ids("records", o.Records, MaxRecords)
	v.ids("cases", o.Cases, MaxRecords)
	v.Text("note", o.Note, enforcement.MaxNoteRunes, false)
	return v.Err()
}

// validation collects the offending fields of one input.
type validation struct{ enforcement.Check }

func (v *validation) id(name, s string) {
	if !enforcement.ValidID(s) {
		v.Add(name, "required: 1 to %d letters, digits, '.', '_' or '-'", enforcement.MaxIDLength)
	}
}

// list checks a list of distinct, non-blank names.
func (v *validation) list(name string, xs []string, max int) {
	if len(xs) > max {
		v.Add(name, "at most %d entries", max)
		return
	}
	for i, x := range xs {
		field := fmt.Sprintf("%s[%d]", name, i)
		v.Text(field, x, enforcement.MaxTextRunes, true)
		if slices.Index(xs, x) < i {
			v.Add(field, "listed twice")
		}
	}
}

// ids checks a list of distinct record or case ids.
func (v *validation) ids(name string, xs []string, max int) {
	if len(xs) > max {
		v.Add(name, "at most %d entries", max)
		return
	}
	seen := make(map[string]bool, len(xs))
	for i, x := range xs {
		field := fmt.Sprintf("%s[%d]", name, i)
		switch {
		case !enforcement.ValidID(x):
			v.Add(field, "not an id")
		case seen[x]:
			v.Add(field, "listed twice")
		}
		seen[x] = true
	}
}
