package cases

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/baoshui/baoshui/server/enforcement"
)

// Role is what a user may do; the values are the server's auth roles.
type Role string

// The roles that act on cases. Device accounts never do.
const (
	RoleOfficer    Role = "officer"
	RoleSupervisor Role = "supervisor"
	RoleOffice     Role = "office"
	RoleAdmin      Role = "admin"
)

// Actor is the authenticated user who takes a step.
type Actor struct {
	ID   string `json:"id"`
	Role Role   `json:"role"`
}

// Circumstance is the seriousness of a violation as the discretion rules
// grade it.
type Circumstance string

// The circumstances of the discretion bands.
const (
	Minor    Circumstance = "minor"
	Ordinary Circumstance = "ordinary"
	Serious  Circumstance = "serious"
)

// Circumstances are the facts of a case that pick its discretion band:
// how serious it is, whether the party offended before, and the protection
// zone it happened in ("" when unknown).
type Circumstances struct {
	Circumstance Circumstance `json:"circumstance"`
	Repeat       bool         `json:"repeat"`
	Zone         string       `json:"zone,omitempty"`
}

func (c Circumstances) String() string {
	s := string(c.Circumstance)
	if c.Repeat {
		s += "/repeat"
	} else {
		s += "/first"
	}
	if c.Zone != "" {
		s += "/" + c.Zone
	}
	return s
}

// Party is the person or organisation a case is against. IDNumber is kept
// in full on the case; publicity shows it only through MaskID.
type Party struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number,omitempty"`
}

// LegalReview is the recorded legal review (法制审核) of a decision: who
// reviewed it, their written opinion and the date of the opinion.
type LegalReview struct {
	Reviewer string    `json:"reviewer"`
	Opinion  string    `json:"opinion"`
	Date     time.Time `json:"date"`
}

// Transfer records the hand-over of a case to the public security organs
// (行刑衔接): the receiving organ and the date it received the case.
type Transfer struct {
	Organ string    `json:"organ"`
	Date  time.Time `json:"date"`
}

// StepRecord is one applied step of a case, kept forever in Case.Steps
// (full-process recording): the action, the states it moved between, who
// took it, when it happened (At, the legal date of the act) and when it was
// recorded, the fields it carried (formatted as text) and the SHA-256 of each
// document attached to it. Late is set when the step met a deadline after
// that deadline had passed.
type StepRecord struct {
	Action     string            `json:"action"`
	From       State             `json:"from"`
	To         State             `json:"to"`
	Actor      Actor             `json:"actor"`
	At         time.Time         `json:"at"`
	RecordedAt time.Time         `json:"recorded_at"`
	Fields     map[string]string `json:"fields,omitempty"`
	Documents  []string          `json:"documents,omitempty"`
	Late       bool              `json:"late,omitempty"`
}

// Case is an administrative penalty case. It changes only through File and
// Transition, which append a StepRecord for every change.
//
// ProposedFineFen is the penalty of the notice (事先告知); DecidedFineFen and
// ConfiscationFen are the penalty of the decision. Once DecidedAt is set the
// decided amounts change only through the correct_decision step (see
// CheckAmendment). Band is the snapshot of the legal basis and discretion
// band the last notice, decision or correction was checked against; Major
// and MajorReasons are fixed when the case is decided.
type Case struct {
	ID         string `json:"id"`
	CaseNo     string `json:"case_no"`
	Unit       string `json:"unit,omitempty"`
	Campaign   string `json:"campaign,omitempty"`
	Violation  string `json:"violation"`
	Party      Party  `json:"party"`
	Facts      string `json:"facts,omitempty"`
	LegalBasis string `json:"legal_basis,omitempty"`
	// Location is where the violation took place (WGS-84), when the
	// filing said so.
	Location        *enforcement.Point `json:"location,omitempty"`
	Circumstances   Circumstances      `json:"circumstances"`
	ProposedFineFen int64              `json:"proposed_fine_fen"`
	DecidedFineFen  int64              `json:"decided_fine_fen"`
	ConfiscationFen int64              `json:"confiscation_fen"`
	Band            *BandCheck         `json:"band,omitempty"`
	Review          *LegalReview       `json:"review,omitempty"`
	Major           bool               `json:"major,omitempty"`
	MajorReasons    []string           `json:"major_reasons,omitempty"`
	State           State              `json:"state"`
	FiledAt         time.Time          `json:"filed_at"`
	NoticeAt        time.Time          `json:"notice_at,omitzero"`
	DecidedAt       time.Time          `json:"decided_at,omitzero"`
	ServedAt        time.Time          `json:"served_at,omitzero"`
	ClosedAt        time.Time          `json:"closed_at,omitzero"`
	RevokedAt       time.Time          `json:"revoked_at,omitzero"`
	Transfer        *Transfer          `json:"transfer,omitempty"`
	Steps           []StepRecord       `json:"steps,omitempty"`
}

// Filing is what opening a case (立案) needs.
type Filing struct {
	ID     string
	CaseNo string
	// Unit is the team that files and handles the case; it scopes who may
	// see it (as a record's unit does). Empty means the district as a
	// whole.
	Unit string
	// Campaign tags the case to a campaign (e.g. the 2020 100-day
	// rectification); empty for none.
	Campaign  string
	Violation string
	Party     Party
	Facts     string
	// LegalBasis is the legal basis as the filing cites it, in words; the
	// catalogue's provisions, when the fine is checked against it, are kept
	// in the case's Band.
	LegalBasis string
	// Location is where the violation took place, a WGS-84 point; nil when
	// not given.
	Location      *enforcement.Point
	Circumstances Circumstances
	FiledAt       time.Time
	Documents     []string
}

// File opens a case in state filed and records the "file" step. Any role may
// file. ID, a case number that ParseCaseNo accepts, the violation code, the
// party's name and FiledAt (not after now) are required; documents must be
// SHA-256 hex strings. The error wraps enforcement.ErrInvalid with a
// *enforcement.ValidationError naming each bad field, or
// enforcement.ErrForbidden for an unknown role.
func File(f Filing, actor Actor, now time.Time) (Case, error) {
	if err := checkActor(actor); err != nil {
		return Case{}, fmt.Errorf("cases: file: %w", err)
	}
	v := &validation{}
	v.Text("id", f.ID, enforcement.MaxIDLength, true)
	if _, _, _, err := ParseCaseNo(f.CaseNo); err != nil {
		v.Add("case_no", "%v", err)
	}
	v.Text("unit", f.Unit, enforcement.MaxIDLength, false)
	v.Text("campaign", f.Campaign, enforcement.MaxIDLength, false)
	v.Text("violation", f.Violation, enforcement.MaxTextRunes, true)
	v.Text("party.name", f.Party.Name, enforcement.MaxTextRunes, true)
	v.Text("party.id_number", f.Party.IDNumber, 64, false)
	v.Text("facts", f.Facts, enforcement.MaxNoteRunes, false)
	v.Text("legal_basis", f.LegalBasis, enforcement.MaxTextRunes, false)
	if p := f.Location; p != nil {
		if lon, lat := p.Coordinates[0], p.Coordinates[1]; p.Type != "Point" || !(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90) {
			v.Add("location", "must be a GeoJSON Point [lon, lat] in WGS-84")
		}
	}
	v.circumstances("circumstances", f.Circumstances, false)
	v.Instant("filed_at", f.FiledAt, time.Time{}, now, true)
	v.Documents(f.Documents)
	if err := v.Err(); err != nil {
		return Case{}, fmt.Errorf("cases: file: %w", err)
	}
	c := Case{
		ID: f.ID, CaseNo: f.CaseNo, Unit: f.Unit, Campaign: f.Campaign, Violation: f.Violation, Party: f.Party, Facts: f.Facts, LegalBasis: f.LegalBasis, Location: f.Location,
		Circumstances: f.Circumstances, State: StateFiled, FiledAt: f.FiledAt,
	}
	c.Steps = []StepRecord{{
		Action: ActionFile, From: "", To: StateFiled, Actor: actor, At: f.FiledAt, RecordedAt: now,
		Fields:    map[string]string{"case_no": f.CaseNo, "violation": f.Violation},
		Documents: slices.Clone(f.Documents),
	}}
	return c, nil
}

// MaskID masks an identity number for publicity. An 18-character resident
// ID (17 digits and a digit or X) keeps its first 6 and last 4 characters
// (110228********1234); a 15-digit first-generation ID keeps its first 6
// and last 3. Anything else (a passport number, say) keeps only its last 4
// characters when it is longer than 8, and is masked whole otherwise.
// Surrounding spaces are dropped; "" stays "".
func MaskID(s string) string {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return ""
	case n == 18 && allDigits(s[:17]) && (isDigit(s[17]) || s[17] == 'X' || s[17] == 'x'):
		return s[:6] + strings.Repeat("*", 8) + s[14:]
	case n == 15 && allDigits(s):
		return s[:6] + strings.Repeat("*", 6) + s[12:]
	case n > 8:
		r := []rune(s)
		return strings.Repeat("*", n-4) + string(r[n-4:])
	default:
		return strings.Repeat("*", n)
	}
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// CheckAmendment is the guard a store runs before it replaces a stored case
// by an updated one. Once the stored case is decided, its decided fine and
// confiscation value may differ in the update only when the update is the
// stored case plus exactly one correct_decision step (as Transition makes
// it); any other change of a decided amount is an error wrapping
// enforcement.ErrConflict. Steps already recorded must be kept unchanged
// (also ErrConflict).
func CheckAmendment(stored, updated Case) error {
	if len(updated.Steps) < len(stored.Steps) {
		return fmt.Errorf("cases: amend %s: %w: recorded steps cannot be removed", stored.ID, enforcement.ErrConflict)
	}
	for i := range stored.Steps {
		if !sameStep(stored.Steps[i], updated.Steps[i]) {
			return fmt.Errorf("cases: amend %s: %w: recorded step %d (%s) cannot be changed", stored.ID, enforcement.ErrConflict, i, stored.Steps[i].Action)
		}
	}
	if stored.DecidedAt.IsZero() {
		return nil
	}
	if stored.DecidedFineFen == updated.DecidedFineFen && stored.ConfiscationFen == updated.ConfiscationFen {
		return nil
	}
	added := updated.Steps[len(stored.Steps):]
	if len(added) == 1 && added[0].Action == ActionCorrectDecision {
		return nil
	}
	return fmt.Errorf("cases: amend %s: %w: a decided amount changes only through %s", stored.ID, enforcement.ErrConflict, ActionCorrectDecision)
}

func sameStep(a, b StepRecord) bool {
	if a.Action != b.Action || a.From != b.From || a.To != b.To || a.Actor != b.Actor ||
		!a.At.Equal(b.At) || !a.RecordedAt.Equal(b.RecordedAt) || a.Late != b.Late ||
		!slices.Equal(a.Documents, b.Documents) || len(a.Fields) != len(b.Fields) {
		return false
	}
	for k, v := range a.Fields {
		if w, ok := b.Fields[k]; !ok || w != v {
			return false
		}
	}
	return true
}
