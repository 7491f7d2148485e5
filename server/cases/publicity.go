package cases

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

// Publicity of enforcement information (执法公示), one of the three
// enforcement systems: penalty decisions are published on the "double
// publicity" (双公示) lists for a period, and the enforcement information
// list says what was decided, by whom and on which basis. The functions
// below turn cases into those rows; formatting them as CSV or Excel is the
// caller's business.

// Authority is the deciding authority as publicity names it: its name and
// its unified social credit code (统一社会信用代码).
type Authority struct {
	Name       string `json:"name"`
	CreditCode string `json:"credit_code,omitempty"`
}

// PublicityRules say how long a decision stays published, in calendar
// months from the decision date: WarningMonths for a warning (a decision
// with no fine and no confiscation), PenaltyMonths for any other. A value
// that is not positive means the default of DefaultPublicityRules.
type PublicityRules struct {
	WarningMonths int `json:"warning_months"`
	PenaltyMonths int `json:"penalty_months"`
}

// DefaultPublicityRules are 3 months for a warning and 12 months for any
// other penalty.
func DefaultPublicityRules() PublicityRules {
	return PublicityRules{WarningMonths: 3, PenaltyMonths: 12}
}

// Published reports whether a case's decision is on the public lists: the
// case has a decision (DecidedAt is set) that was not revoked (a revoked
// decision moves the case to withdrawn and keeps DecidedAt).
func Published(c Case) bool {
	return !c.DecidedAt.IsZero() && c.State != StateWithdrawn
}

// The penalty types (处罚类别) a decision of these cases can carry.
const (
	PenaltyWarning      = "警告"
	PenaltyFine         = "罚款"
	PenaltyConfiscation = "没收非法财物"
)

// PenaltyRecord is one row of the "double publicity" (双公示) export of
// administrative penalty decisions, with the fields of that standard:
//
//   - DecisionNo (行政处罚决定书文号) is the case number;
//   - CaseName (案件名称) is the party's name, the violation's name and "案"
//     (张某在一级保护区内垂钓案);
//   - PartyName (行政相对人名称) and PartyID (证件号码), the identity number
//     always masked with MaskID;
//   - Violation (违法行为类型) is the catalogue name of the violation, or its
//     code when the catalogue does not list it;
//   - Facts (违法事实) are the case's facts;
//   - Basis (处罚依据) is the legal basis the decision was checked against
//     (the case's BandCheck snapshot), or else the catalogue's basis for the
//     violation, as "《law》article" joined with "；"; "" when unknown;
//   - PenaltyType (处罚类别) joins with "；" the types of the decision:
//     警告 (no fine and no confiscation), 罚款, 没收非法财物;
//   - Content (处罚内容) says the same with the amounts
//     ("罚款人民币500.00元；没收非法财物价值1200.00元", or "警告");
//   - FineFen and ConfiscationFen are the decided amounts in fen;
//   - DecidedAt (处罚决定日期) is the decision's instant;
//   - PublishUntil (公示截止期) is the last day of publicity: midnight at the
//     start of that Asia/Shanghai day, the decision stays published through
//     the end of it. It is the decision's Shanghai date plus
//     PublicityRules.WarningMonths for a warning or PenaltyMonths
//     otherwise; a day the target month lacks becomes its last day
//     (2020-01-31 + 3 months is 2020-04-30);
//   - Authority and AuthorityCode (处罚机关, its 统一社会信用代码);
//   - Unit is the team that handled the case.
type PenaltyRecord struct {
	DecisionNo      string    `json:"decision_no"`
	CaseName        string    `json:"case_name"`
	PartyName       string    `json:"party_name"`
	PartyID         string    `json:"party_id"`
	Violation       string    `json:"violation"`
	Facts           string    `json:"facts"`
	Basis           string    `json:"basis"`
	PenaltyType     string    `json:"penalty_type"`
	Content         string    `json:"content"`
	FineFen         int64     `json:"fine_fen"`
	ConfiscationFen int64     `json:"confiscation_fen"`
	DecidedAt       time.Time `json:"decided_at"`
	PublishUntil    time.Time `json:"publish_until"`
	Authority       string    `json:"authority"`
	AuthorityCode   string    `json:"authority_code"`
	Unit            string    `json:"unit"`
}

// PenaltyColumns are the columns of the double publicity export in order:
// each is the key (PenaltyRecord's JSON name) and the Chinese title.
// PenaltyRecord.Cells returns the values in the same order. The amounts are
// titled in yuan: the caller shows the fen values of Cells in yuan.
var PenaltyColumns = [][2]string{
	{"decision_no", "行政处罚决定书文号"},
	{"case_name", "案件名称"},
	{"party_name", "行政相对人名称"},
	{"party_id", "证件号码"},
	{"violation", "违法行为类型"},
	{"facts", "违法事实"},
	{"basis", "处罚依据"},
	{"penalty_type", "处罚类别"},
	{"content", "处罚内容"},
	{"fine_fen", "罚款金额（元）"},
	{"confiscation_fen", "没收非法财物金额（元）"},
	{"decided_at", "处罚决定日期"},
	{"publish_until", "公示截止期"},
	{"authority", "处罚机关"},
	{"authority_code", "处罚机关统一社会信用代码"},
	{"unit", "承办单位"},
}

// Cells returns the record's values in the order of PenaltyColumns, in plain
// types: every string field as a string, every int64 is an amount in fen
// (FineFen, ConfiscationFen) and every time.Time an instant whose
// Asia/Shanghai date is meant (DecidedAt, PublishUntil). The caller converts
// them to the cells of its export format.
func (p PenaltyRecord) Cells() []any {
	return []any{
		p.DecisionNo, p.CaseName, p.PartyName, p.PartyID, p.Violation, p.Facts, p.Basis,
		p.PenaltyType, p.Content, p.FineFen, p.ConfiscationFen, p.DecidedAt, p.PublishUntil,
		p.Authority, p.AuthorityCode, p.Unit,
	}
}

// PenaltyRecordOf returns the double publicity row of a case, and false when
// the case is not published (see Published). cat may be nil; a, the
// deciding authority, is copied into every row.
func PenaltyRecordOf(c Case, cat *Catalogue, a Authority, r PublicityRules) (PenaltyRecord, bool) {
	if !Published(c) {
		return PenaltyRecord{}, false
	}
	name := violationName(c.Violation, cat)
	ptype, content := penaltyOf(c)
	months, def := r.PenaltyMonths, DefaultPublicityRules().PenaltyMonths
	if isWarning(c) {
		months, def = r.WarningMonths, DefaultPublicityRules().WarningMonths
	}
	if months <= 0 {
		months = def
	}
	return PenaltyRecord{
		DecisionNo:      c.CaseNo,
		CaseName:        c.Party.Name + name + "案",
		PartyName:       c.Party.Name,
		PartyID:         MaskID(c.Party.IDNumber),
		Violation:       name,
		Facts:           c.Facts,
		Basis:           basisOf(c, cat),
		PenaltyType:     ptype,
		Content:         content,
		FineFen:         c.DecidedFineFen,
		ConfiscationFen: c.ConfiscationFen,
		DecidedAt:       c.DecidedAt,
		PublishUntil:    addMonths(c.DecidedAt, months),
		Authority:       a.Name,
		AuthorityCode:   a.CreditCode,
		Unit:            c.Unit,
	}, true
}

// PenaltyRecords returns the double publicity rows of the published cases
// among cs that were decided within [from, to) (a zero bound is no bound),
// ordered by DecidedAt, then DecisionNo.
func PenaltyRecords(cs []Case, cat *Catalogue, a Authority, r PublicityRules, from, to time.Time) []PenaltyRecord {
	var out []PenaltyRecord
	for _, c := range cs {
		if !within(c.DecidedAt, from, to) {
			continue
		}
		if p, ok := PenaltyRecordOf(c, cat, a, r); ok {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(x, y PenaltyRecord) int {
		return cmp.Or(x.DecidedAt.Compare(y.DecidedAt), strings.Compare(x.DecisionNo, y.DecisionNo))
	})
	return out
}

// InformationItem is one entry of the enforcement information list
// (执法信息公示): what was decided (the violation's name, the penalty type
// and content, as in PenaltyRecord), by whom (the unit and DecidedBy, the
// actor ID of the decide step; "" when the case records none), when, on
// which basis, whether the decision was major (重大执法决定) and whether a
// legal review was recorded.
type InformationItem struct {
	CaseNo      string    `json:"case_no"`
	Violation   string    `json:"violation"`
	Unit        string    `json:"unit"`
	DecidedBy   string    `json:"decided_by"`
	DecidedAt   time.Time `json:"decided_at"`
	Basis       string    `json:"basis"`
	PenaltyType string    `json:"penalty_type"`
	Content     string    `json:"content"`
	Major       bool      `json:"major"`
	Reviewed    bool      `json:"reviewed"`
}

// InformationList returns the enforcement information list of the published
// cases among cs decided within [from, to) (a zero bound is no bound),
// ordered by DecidedAt, then CaseNo. cat may be nil.
func InformationList(cs []Case, cat *Catalogue, from, to time.Time) []InformationItem {
	var out []InformationItem
	for _, c := range cs {
		if !Published(c) || !within(c.DecidedAt, from, to) {
			continue
		}
		ptype, content := penaltyOf(c)
		item := InformationItem{
			CaseNo: c.CaseNo, Violation: violationName(c.Violation, cat), Unit: c.Unit,
			DecidedAt: c.DecidedAt, Basis: basisOf(c, cat), PenaltyType: ptype, Content: content,
			Major: c.Major, Reviewed: c.Review != nil,
		}
		for i := len(c.Steps) - 1; i >= 0; i-- {
			if c.Steps[i].Action == ActionDecide {
				item.DecidedBy = c.Steps[i].Actor.ID
				break
			}
		}
		out = append(out, item)
	}
	slices.SortStableFunc(out, func(x, y InformationItem) int {
		return cmp.Or(x.DecidedAt.Compare(y.DecidedAt), strings.Compare(x.CaseNo, y.CaseNo))
	})
	return out
}

// within reports whether t is in [from, to), a zero bound being no bound.
func within(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}

// isWarning reports whether the decision imposes neither a fine nor a
// confiscation, which makes it a warning.
func isWarning(c Case) bool { return c.DecidedFineFen <= 0 && c.ConfiscationFen <= 0 }

// penaltyOf returns the penalty type and content of a case's decision.
func penaltyOf(c Case) (ptype, content string) {
	if isWarning(c) {
		return PenaltyWarning, PenaltyWarning
	}
	var types, parts []string
	if c.DecidedFineFen > 0 {
		types = append(types, PenaltyFine)
		parts = append(parts, "罚款人民币"+yuan(c.DecidedFineFen)+"元")
	}
	if c.ConfiscationFen > 0 {
		types = append(types, PenaltyConfiscation)
		parts = append(parts, "没收非法财物价值"+yuan(c.ConfiscationFen)+"元")
	}
	return strings.Join(types, "；"), strings.Join(parts, "；")
}

// yuan formats a non-negative amount in fen as yuan with two decimals.
func yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

// violationName is the catalogue name of a violation code, or the code.
func violationName(code string, cat *Catalogue) string {
	if cat != nil {
		if v, ok := cat.Violation(code); ok && v.Name != "" {
			return v.Name
		}
	}
	return code
}

// basisOf is the legal basis of a case's decision: the provisions of its
// BandCheck snapshot, or else the catalogue's for its violation, each as
// "《law》article", joined with "；".
func basisOf(c Case, cat *Catalogue) string {
	var ps []Provision
	if c.Band != nil {
		ps = c.Band.Basis
	}
	if len(ps) == 0 && cat != nil {
		if v, ok := cat.Violation(c.Violation); ok {
			ps = v.Basis
		}
	}
	if len(ps) == 0 {
		return c.LegalBasis
	}
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		parts = append(parts, "《"+p.Law+"》"+p.Article)
	}
	return strings.Join(parts, "；")
}

// addMonths returns midnight, Asia/Shanghai, of the Shanghai date of t plus
// n calendar months; a day the target month lacks becomes its last day.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.In(enforcement.Shanghai).Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, enforcement.Shanghai)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), 0, 0, 0, 0, enforcement.Shanghai)
}
