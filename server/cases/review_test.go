package cases_test

import (
	"slices"
	"testing"

	"github.com/baoshui/baoshui/server/cases"
)

func TestIsMajor(t *testing.T) {
	r := cases.MajorRules{FineAtLeastFen: 3_000_000, ConfiscationAtLeastFen: 5_000_000, Violations: []string{"dumping_waste"}}
	decided := sh(2020, 6, 25, 0, 0)
	tests := []struct {
		name    string
		c       cases.Case
		r       cases.MajorRules
		reasons []string
	}{
		{"small fine", cases.Case{Violation: "fishing_first_zone", ProposedFineFen: 2_999_999}, r, nil},
		{"proposed fine at the threshold", cases.Case{ProposedFineFen: 3_000_000}, r,
			[]string{"proposed fine 3000000 fen is at or above 3000000 fen"}},
		{"decided fine counts once decided", cases.Case{ProposedFineFen: 9_000_000, DecidedFineFen: 100, DecidedAt: decided}, r, nil},
		{"confiscation", cases.Case{ConfiscationFen: 5_000_000}, r,
			[]string{"confiscation value 5000000 fen is at or above 5000000 fen"}},
		{"listed violation, small fine", cases.Case{Violation: "dumping_waste", ProposedFineFen: 1}, r,
			[]string{"violation dumping_waste is listed as major"}},
		{"all three", cases.Case{Violation: "dumping_waste", DecidedFineFen: 4_000_000, DecidedAt: decided, ConfiscationFen: 6_000_000}, r,
			[]string{"decided fine 4000000 fen is at or above 3000000 fen", "confiscation value 6000000 fen is at or above 5000000 fen",
				"violation dumping_waste is listed as major"}},
		{"zero thresholds are off", cases.Case{ProposedFineFen: 0, ConfiscationFen: 0}, cases.MajorRules{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			major, reasons := cases.IsMajor(tt.c, tt.r)
			if major != (len(tt.reasons) > 0) || !slices.Equal(reasons, tt.reasons) {
				t.Errorf("IsMajor = %v %q, want %q", major, reasons, tt.reasons)
			}
		})
	}
}

func TestMajorRulesByEffectiveDate(t *testing.T) {
	rules := testRules()
	// From 2020-06-20 any fine of 10,000 yuan or more is major.
	rules.Major = append(rules.Major, cases.MajorRules{FineAtLeastFen: 1_000_000, EffectiveFrom: sh(2020, 6, 20, 0, 0)})
	c := caseIn(t, cases.StateNoticeServed) // proposed 15,000 yuan
	early := path["decide"]
	early.At = sh(2020, 6, 19, 12, 0)
	if got, err := cases.Transition(c, early, supervisor, rules, now); err != nil || got.Major {
		t.Errorf("decided under the old rule: major %v, %v", got.Major, err)
	}
	if _, err := cases.Transition(c, path["decide"], supervisor, rules, now); err == nil {
		t.Error("decided 2020-06-25 under the new rule without a review")
	}
}
