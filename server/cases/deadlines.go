package cases

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

// The deadline names a DeadlineRule may carry.
const (
	// DeadlineDecision: the decision is due within Days of filing.
	DeadlineDecision = "decision"
	// DeadlineService: the decision is served within Days of the decision.
	DeadlineService = "service"
	// DeadlineDefence: the party's period to state a defence after the
	// notice; no decision before it ends unless the party waives it.
	DeadlineDefence = "defence"
	// DeadlineHearingRequest: the party's period to request a hearing after
	// the notice, when the proposed fine reaches the hearing threshold.
	DeadlineHearingRequest = "hearing_request"
)

// DeadlineNames lists the deadline names.
var DeadlineNames = []string{DeadlineDecision, DeadlineService, DeadlineDefence, DeadlineHearingRequest}

// Who a deadline binds.
const (
	OwnerOffice = "office" // the enforcement team must act by then
	OwnerParty  = "party"  // a period of the party's; it lapses, it is never overdue
)

// DeadlineRule is one version of a legal deadline: Days calendar days
// (自然日) from the anchor step, in force for anchor steps on or after
// EffectiveFrom (give midnight Asia/Shanghai for a date).
//
// The day of the anchor step is not counted and the period ends at the end
// (24:00 Asia/Shanghai) of its last day. Only calendar days are supported:
// working days (工作日) need the State Council's holiday calendar, so
// Validate refuses WorkingDays, and a last day that falls on a public
// holiday is not extended.
type DeadlineRule struct {
	Name          string    `json:"name"`
	Days          int       `json:"days"`
	WorkingDays   bool      `json:"working_days,omitempty"`
	EffectiveFrom time.Time `json:"effective_from"`
}

// HearingRule is one version of the hearing threshold: a party may request
// a hearing when the proposed fine is at or above FineAtLeastFen. It is in
// force for notices served on or after EffectiveFrom. With no rule in force
// every party may request a hearing: a missing rule never takes the right
// away.
type HearingRule struct {
	FineAtLeastFen int64     `json:"fine_at_least_fen"`
	EffectiveFrom  time.Time `json:"effective_from"`
}

// Rules are the configurable rules of the procedure. Each list holds the
// versions of one kind of rule; the version in force on a date is the one
// with the latest EffectiveFrom on or before that date. Catalogue, when set,
// makes Transition check fines against the discretion bands.
type Rules struct {
	Deadlines []DeadlineRule `json:"deadlines"`
	Hearing   []HearingRule  `json:"hearing"`
	Major     []MajorRules   `json:"major"`
	Catalogue *Catalogue     `json:"-"`
}

// DefaultRules returns ILLUSTRATIVE rules modelled on the Administrative
// Penalty Law (中华人民共和国行政处罚法) as revised from 2021-07-15: decision
// within 90 days of filing (art. 60), service within 7 days (art. 61), a
// 3-day defence period, a hearing request within 5 days (art. 64; 3 days
// under the earlier text). The thresholds are placeholders. The office must
// confirm every value before production use.
func DefaultRules() Rules {
	since := func(y int, m time.Month, d int) time.Time {
		return time.Date(y, m, d, 0, 0, 0, 0, enforcement.Shanghai)
	}
	return Rules{
		Deadlines: []DeadlineRule{
			{Name: DeadlineDecision, Days: 90, EffectiveFrom: since(2000, 1, 1)},
			{Name: DeadlineService, Days: 7, EffectiveFrom: since(2000, 1, 1)},
			{Name: DeadlineDefence, Days: 3, EffectiveFrom: since(2000, 1, 1)},
			{Name: DeadlineHearingRequest, Days: 3, EffectiveFrom: since(2000, 1, 1)},
			{Name: DeadlineHearingRequest, Days: 5, EffectiveFrom: since(2021, 7, 15)},
		},
		Hearing: []HearingRule{{FineAtLeastFen: 10_000_00, EffectiveFrom: since(2000, 1, 1)}},
		Major:   []MajorRules{{FineAtLeastFen: 30_000_00, ConfiscationAtLeastFen: 50_000_00, EffectiveFrom: since(2000, 1, 1)}},
	}
}

// Validate checks the rules: known deadline names, 1 to 3650 calendar
// days, no working-day rule, an EffectiveFrom on every version, no two
// versions of one rule with the same EffectiveFrom, at least one version of
// each deadline, and no negative threshold. The error wraps
// enforcement.ErrInvalid with a *enforcement.ValidationError naming each bad
// field.
func (r Rules) Validate() error {
	v := &validation{}
	seen := map[string]bool{}
	have := map[string]bool{}
	for i, d := range r.Deadlines {
		p := fmt.Sprintf("deadlines[%d]", i)
		if !slices.Contains(DeadlineNames, d.Name) {
			v.Add(p+".name", "must be one of %v", DeadlineNames)
		}
		if d.Days < 1 || d.Days > 3650 {
			v.Add(p+".days", "must be between 1 and 3650")
		}
		if d.WorkingDays {
			v.Add(p+".working_days", "working days are not supported: give calendar days")
		}
		if d.EffectiveFrom.IsZero() {
			v.Add(p+".effective_from", "required")
		}
		key := d.Name + "@" + d.EffectiveFrom.UTC().String()
		if seen[key] {
			v.Add(p+".effective_from", "another version of %s takes effect at the same instant", d.Name)
		}
		seen[key] = true
		have[d.Name] = true
	}
	for _, n := range DeadlineNames {
		if !have[n] {
			v.Add("deadlines", "no rule for %s", n)
		}
	}
	for i, h := range r.Hearing {
		p := fmt.Sprintf("hearing[%d]", i)
		if h.FineAtLeastFen < 0 {
			v.Add(p+".fine_at_least_fen", "must not be negative")
		}
		if h.EffectiveFrom.IsZero() {
			v.Add(p+".effective_from", "required")
		}
	}
	for i, m := range r.Major {
		p := fmt.Sprintf("major[%d]", i)
		if m.FineAtLeastFen < 0 {
			v.Add(p+".fine_at_least_fen", "must not be negative")
		}
		if m.ConfiscationAtLeastFen < 0 {
			v.Add(p+".confiscation_at_least_fen", "must not be negative")
		}
		if m.EffectiveFrom.IsZero() {
			v.Add(p+".effective_from", "required")
		}
	}
	return v.Err()
}

// inForce returns the index of the version with the latest effective
// instant on or before at, or -1.
func inForce(n int, effective func(i int) time.Time, at time.Time) int {
	best := -1
	for i := 0; i < n; i++ {
		e := effective(i)
		if e.After(at) {
			continue
		}
		if best < 0 || e.After(effective(best)) {
			best = i
		}
	}
	return best
}

// DeadlineInForce returns the version of the named deadline in force for
// an anchor step at at.
func (r Rules) DeadlineInForce(name string, at time.Time) (DeadlineRule, bool) {
	var list []DeadlineRule
	for _, d := range r.Deadlines {
		if d.Name == name {
			list = append(list, d)
		}
	}
	i := inForce(len(list), func(i int) time.Time { return list[i].EffectiveFrom }, at)
	if i < 0 {
		return DeadlineRule{}, false
	}
	return list[i], true
}

func majorInForce(r Rules, at time.Time) (MajorRules, bool) {
	i := inForce(len(r.Major), func(i int) time.Time { return r.Major[i].EffectiveFrom }, at)
	if i < 0 {
		return MajorRules{}, false
	}
	return r.Major[i], true
}

// hearingEligible reports whether the case's proposed fine reaches the
// hearing threshold in force on its notice date, and that threshold (-1
// when none is in force).
func hearingEligible(c Case, r Rules) (bool, int64) {
	at := c.NoticeAt
	if at.IsZero() {
		return false, -1
	}
	i := inForce(len(r.Hearing), func(i int) time.Time { return r.Hearing[i].EffectiveFrom }, at)
	if i < 0 {
		return true, -1
	}
	t := r.Hearing[i].FineAtLeastFen
	return c.ProposedFineFen >= t, t
}

// DueItem is one deadline of a case: which one, the action that meets it
// (for the party's periods, the action the period allows or holds back),
// who it binds, the anchor step's date, the rule version applied, the last
// day (YYYY-MM-DD, Asia/Shanghai) and DueBy, the instant the period ends
// (the start of the next Asia/Shanghai day): a step at or after DueBy is
// late.
type DueItem struct {
	Name          string    `json:"name"`
	Action        string    `json:"action"`
	Owner         string    `json:"owner"`
	From          time.Time `json:"from"`
	Days          int       `json:"days"`
	EffectiveFrom time.Time `json:"effective_from"`
	DueDate       string    `json:"due_date"`
	DueBy         time.Time `json:"due_by"`
}

// deadlineDef says what anchors a deadline and in which states it runs.
type deadlineDef struct {
	name, action, owner string
	anchor              func(Case) time.Time
	states              []State
}

var deadlineDefs = []deadlineDef{
	{DeadlineDecision, ActionDecide, OwnerOffice, func(c Case) time.Time { return c.FiledAt }, open},
	{DeadlineService, ActionServeDecision, OwnerOffice, func(c Case) time.Time { return c.DecidedAt }, []State{StateDecided}},
	{DeadlineDefence, ActionDecide, OwnerParty, func(c Case) time.Time { return c.NoticeAt }, []State{StateNoticeServed}},
	{DeadlineHearingRequest, ActionRequestHearing, OwnerParty, func(c Case) time.Time { return c.NoticeAt }, []State{StateNoticeServed}},
}

// dueFor computes the named deadline of the case from its anchor step,
// whatever the case's state; false when the anchor step has not happened
// or no rule version is in force on its date.
func dueFor(c Case, r Rules, name string) (DueItem, bool) {
	for _, d := range deadlineDefs {
		if d.name != name {
			continue
		}
		from := d.anchor(c)
		if from.IsZero() {
			return DueItem{}, false
		}
		rule, ok := r.DeadlineInForce(name, from)
		if !ok {
			return DueItem{}, false
		}
		y, m, day := from.In(enforcement.Shanghai).Date()
		last := time.Date(y, m, day+rule.Days, 0, 0, 0, 0, enforcement.Shanghai)
		return DueItem{Name: name, Action: d.action, Owner: d.owner, From: from, Days: rule.Days,
			EffectiveFrom: rule.EffectiveFrom, DueDate: last.Format(time.DateOnly),
			DueBy: time.Date(y, m, day+rule.Days+1, 0, 0, 0, 0, enforcement.Shanghai)}, true
	}
	return DueItem{}, false
}

func deadlineOf(c Case, r Rules, name string) (DueItem, bool) { return dueFor(c, r, name) }
func windowOf(c Case, r Rules, name string) (DueItem, bool)   { return dueFor(c, r, name) }

// Due returns the deadlines running for the case in its current state,
// earliest first: the decision while the case is open, the service of a
// decided case, and after the notice the party's defence period and — when
// the proposed fine reaches the hearing threshold — its hearing-request
// period. A deadline with no rule version in force is left out. A final
// state has none.
func Due(c Case, rules Rules) []DueItem {
	var out []DueItem
	for _, d := range deadlineDefs {
		if !slices.Contains(d.states, c.State) {
			continue
		}
		if d.name == DeadlineHearingRequest {
			if ok, _ := hearingEligible(c, rules); !ok {
				continue
			}
		}
		if item, ok := dueFor(c, rules, d.name); ok {
			out = append(out, item)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].DueBy.Before(out[j].DueBy) })
	return out
}

// Overdue returns the deadlines of Due that bind the office and have passed
// at now (now at or after DueBy), earliest first. The party's periods lapse
// rather than fall overdue and are never listed.
func Overdue(c Case, rules Rules, now time.Time) []DueItem {
	var out []DueItem
	for _, d := range Due(c, rules) {
		if d.Owner == OwnerOffice && !now.Before(d.DueBy) {
			out = append(out, d)
		}
	}
	return out
}
