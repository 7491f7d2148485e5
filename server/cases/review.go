package cases

import (
	"fmt"
	"slices"
	"time"
)

// MajorRules is one version of the rules that make a decision "major"
// (重大执法决定), which cannot be decided without a recorded legal review: a
// fine at or above FineAtLeastFen, a confiscation value at or above
// ConfiscationAtLeastFen (a threshold of 0 is off), or a violation code in
// Violations. Transition applies the version in force on the decision date.
type MajorRules struct {
	FineAtLeastFen         int64     `json:"fine_at_least_fen"`
	ConfiscationAtLeastFen int64     `json:"confiscation_at_least_fen"`
	Violations             []string  `json:"violations,omitempty"`
	EffectiveFrom          time.Time `json:"effective_from"`
}

// IsMajor reports whether the case's decision is major under r, and why
// (one reason per rule met, in the order fine, confiscation, violation).
// The fine is the decided fine once the case has a decision date, the
// proposed fine before.
func IsMajor(c Case, r MajorRules) (bool, []string) {
	fine, which := c.ProposedFineFen, "proposed"
	if !c.DecidedAt.IsZero() {
		fine, which = c.DecidedFineFen, "decided"
	}
	var reasons []string
	if r.FineAtLeastFen > 0 && fine >= r.FineAtLeastFen {
		reasons = append(reasons, fmt.Sprintf("%s fine %d fen is at or above %d fen", which, fine, r.FineAtLeastFen))
	}
	if r.ConfiscationAtLeastFen > 0 && c.ConfiscationFen >= r.ConfiscationAtLeastFen {
		reasons = append(reasons, fmt.Sprintf("confiscation value %d fen is at or above %d fen", c.ConfiscationFen, r.ConfiscationAtLeastFen))
	}
	if slices.Contains(r.Violations, c.Violation) {
		reasons = append(reasons, fmt.Sprintf("violation %s is listed as major", c.Violation))
	}
	return len(reasons) > 0, reasons
}
