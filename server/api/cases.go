package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/casesvc"
	"github.com/baoshui/baoshui/server/enforcement"
)

// caseFiling is the body of POST /cases. RecordID names the field record
// of kind case that officers captured (and synced): the case then takes its
// id, and by default its team, violation, party, facts, filing date and
// campaign, and the record's photos as the filing's documents.
type caseFiling struct {
	RecordID      string              `json:"record_id"`
	ID            string              `json:"id"`
	CaseNo        string              `json:"case_no"`
	Unit          string              `json:"unit"`
	Campaign      string              `json:"campaign"`
	Violation     string              `json:"violation"`
	Party         cases.Party         `json:"party"`
	Facts         string              `json:"facts"`
	LegalBasis    string              `json:"legal_basis"`
	Location      *enforcement.Point  `json:"location"`
	Circumstances cases.Circumstances `json:"circumstances"`
	FiledAt       time.Time           `json:"filed_at"`
	Documents     []string            `json:"documents"`
}

// caseStepRequest is the body of POST /cases/{id}/steps: the revision the
// step was prepared on and the step.
type caseStepRequest struct {
	BaseRev *int `json:"base_rev"`
	cases.Step
}

// caseAnswer is a case as the API shows it.
type caseAnswer struct {
	Case    cases.Case      `json:"case"`
	Rev     int             `json:"rev"`
	Allowed []string        `json:"allowed,omitzero"`
	Due     []cases.DueItem `json:"due,omitzero"`
}

// caseActor is the caller as the cases package sees it.
func caseActor(c *gin.Context) cases.Actor {
	p := principal(c)
	return cases.Actor{ID: p.Username, Role: cases.Role(p.Role)}
}

// seesIDNumbers reports whether the caller sees parties' identity numbers
// in full; every other role sees them masked (cases.MaskID).
func seesIDNumbers(c *gin.Context) bool {
	switch principal(c).Role {
	case auth.RoleOffice, auth.RoleAdmin:
		return true
	}
	return false
}

func maskParty(c *gin.Context, p cases.Party) cases.Party {
	if !seesIDNumbers(c) {
		p.IDNumber = cases.MaskID(p.IDNumber)
	}
	return p
}

// shown is the case as the caller may see it.
func shown(c *gin.Context, k cases.Case) cases.Case {
	k.Party = maskParty(c, k.Party)
	return k
}

func (s *server) fileCase(c *gin.Context) {
	var req caseFiling
	if !bindStrict(c, &req) {
		return
	}
	// The case belongs to the caller's team unless they name another
	// within their scope (a supervisor filing for a village team).
	p := principal(c)
	if req.RecordID != "" && !s.fromRecord(c, &req) {
		return
	}
	if req.Unit == "" {
		req.Unit = p.Unit
	}
	if _, ok := s.Accounts.Units.Get(req.Unit); req.Unit != "" && !ok {
		fail(c, invalid(enforcement.FieldError{Field: "unit", Detail: "unknown unit"}))
		return
	}
	if !s.unitVisible(p)(req.Unit) {
		fail(c, fmt.Errorf("file a case for unit %q: outside your scope: %w", req.Unit, enforcement.ErrForbidden))
		return
	}
	k, rev, err := s.Cases.File(c, caseActor(c), cases.Filing{ID: req.ID, CaseNo: req.CaseNo, Unit: req.Unit, Campaign: req.Campaign, Violation: req.Violation,
		Party: req.Party, Facts: req.Facts, LegalBasis: req.LegalBasis, Location: req.Location, Circumstances: req.Circumstances, FiledAt: req.FiledAt, Documents: req.Documents})
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/cases/"+k.ID)
	c.JSON(http.StatusCreated, caseAnswer{Case: shown(c, k), Rev: rev})
}

// pageQuery reads limit (1 to casesvc.MaxPage) and cursor.
func pageQuery(c *gin.Context, fs *fields) (limit int, after string) {
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > casesvc.MaxPage {
			fs.bad("limit", fmt.Sprintf("must be 1 to %d", casesvc.MaxPage))
		}
		limit = n
	}
	return limit, c.Query("cursor")
}

// fromRecord fills the filing from its field record; it answers the
// request itself (and returns false) when the record is not a case record
// the caller may see, or when the filing names another id.
func (s *server) fromRecord(c *gin.Context, req *caseFiling) bool {
	h, ok := s.Records.Lookup(c, req.RecordID)
	if !ok || h.Voided || h.Kind != enforcement.KindCase || !s.unitVisible(principal(c))(h.Unit) {
		fail(c, invalid(enforcement.FieldError{Field: "record_id", Detail: "not a case record you can see"}))
		return false
	}
	if req.ID != "" && req.ID != req.RecordID {
		fail(c, invalid(enforcement.FieldError{Field: "id", Detail: "a case filed from a record takes the record's id"}))
		return false
	}
	r, err := s.Records.Get(c, req.RecordID)
	if err != nil {
		fail(c, err)
		return false
	}
	req.ID = r.ID
	or := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	or(&req.Unit, r.Unit)
	or(&req.Violation, r.Violation)
	or(&req.Party.Name, r.Party)
	or(&req.Facts, r.Note)
	or(&req.LegalBasis, r.LegalBasis)
	if req.Location == nil {
		req.Location = r.Location
	}
	or(&req.Campaign, r.Campaign)
	if req.FiledAt.IsZero() {
		req.FiledAt = r.ObservedAt
		if r.FiledAt != nil {
			req.FiledAt = *r.FiledAt
		}
	}
	for _, ph := range r.Photos {
		if !slices.Contains(req.Documents, ph.SHA256) {
			req.Documents = append(req.Documents, ph.SHA256)
		}
	}
	return true
}

func (s *server) listCases(c *gin.Context) {
	var fs fields
	state := cases.State(c.Query("state"))
	if state != "" && !slices.Contains(cases.States, state) {
		fs.bad("state", "must be one of the case states (filed, investigating, … closed, withdrawn, transferred)")
	}
	limit, after := pageQuery(c, &fs)
	if fs.answer(c) {
		return
	}
	p, err := s.Cases.List(casesvc.ListQuery{State: state, Visible: s.unitVisible(principal(c)), Limit: limit, After: after})
	if err != nil {
		fail(c, err)
		return
	}
	for i := range p.Cases {
		p.Cases[i].Party = maskParty(c, p.Cases[i].Party)
	}
	c.JSON(http.StatusOK, p)
}

// overduePage is a page of the overdue list, the most overdue first: Total
// counts every overdue case in scope and ByDeadline the overdue deadlines
// by name.
type overduePage struct {
	Overdue    []casesvc.OverdueItem `json:"overdue"`
	Total      int                   `json:"total"`
	ByDeadline map[string]int        `json:"by_deadline"`
	Next       string                `json:"next,omitempty"`
}

func (s *server) overdueCases(c *gin.Context) {
	var fs fields
	limit, after := pageQuery(c, &fs)
	if fs.answer(c) {
		return
	}
	if limit == 0 {
		limit = 100
	}
	items := s.Cases.Overdue(s.Now(), s.unitVisible(principal(c)))
	p := overduePage{Overdue: []casesvc.OverdueItem{}, Total: len(items), ByDeadline: map[string]int{}}
	for _, it := range items {
		for _, d := range it.Items {
			p.ByDeadline[d.Name]++
		}
	}
	start := 0
	if after != "" {
		// The cursor is the id of the last case of the previous page; once
		// that case has left the list (its deadline was met) the cursor is
		// stale and the walk starts again.
		i := slices.IndexFunc(items, func(o casesvc.OverdueItem) bool { return o.ID == after })
		if i < 0 {
			fail(c, casesvc.ErrBadCursor)
			return
		}
		start = i + 1
	}
	end := min(start+limit, len(items))
	p.Overdue = append(p.Overdue, items[start:end]...)
	if end < len(items) {
		p.Next = items[end-1].ID
	}
	c.JSON(http.StatusOK, p)
}

// visibleCase returns the case of the path if the caller may see it, and
// otherwise answers 404 itself, as for a case that does not exist.
func (s *server) visibleCase(c *gin.Context) (cases.Case, int, bool) {
	k, rev, err := s.Cases.Get(c.Param("id"))
	if err == nil && !s.unitVisible(principal(c))(k.Unit) {
		err = fmt.Errorf("case %s: %w", c.Param("id"), enforcement.ErrNotFound)
	}
	if err != nil {
		fail(c, err)
		return cases.Case{}, 0, false
	}
	return k, rev, true
}

func (s *server) getCase(c *gin.Context) {
	k, rev, ok := s.visibleCase(c)
	if !ok {
		return
	}
	s.answerCase(c, http.StatusOK, k, rev)
}

func (s *server) answerCase(c *gin.Context, status int, k cases.Case, rev int) {
	a := caseAnswer{Case: shown(c, k), Rev: rev, Allowed: append([]string{}, cases.Allowed(k.State)...),
		Due: append([]cases.DueItem{}, cases.Due(k, s.Cases.Rules())...)}
	c.JSON(status, a)
}

func (s *server) caseStep(c *gin.Context) {
	var req caseStepRequest
	if !bindStrict(c, &req) {
		return
	}
	if _, _, ok := s.visibleCase(c); !ok {
		return
	}
	if req.BaseRev == nil {
		fail(c, invalid(enforcement.FieldError{Field: "base_rev", Detail: "required: the rev of the case the step was prepared on"}))
		return
	}
	k, rev, err := s.Cases.Step(c, caseActor(c), c.Param("id"), *req.BaseRev, req.Step)
	if err != nil {
		fail(c, err)
		return
	}
	s.answerCase(c, http.StatusOK, k, rev)
}
