package api

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/baoshui/baoshui/server/casesvc"
	"github.com/baoshui/baoshui/server/custody"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
)

// custodyReceive is the body of POST /custody: the confiscation record whose
// item lines are taken into custody (every line when lines is absent).
type custodyReceive struct {
	RecordID  string    `json:"record_id"`
	Lines     []int     `json:"lines"`
	CaseID    string    `json:"case_id"`
	Location  string    `json:"location"`
	At        time.Time `json:"at"`
	Documents []string  `json:"documents"`
}

// custodyStepRequest is the body of POST /custody/{id}/steps.
type custodyStepRequest struct {
	BaseRev *int `json:"base_rev"`
	custody.Step
}

// custodyAnswer is an item as the API shows it.
type custodyAnswer struct {
	Item    custody.Item `json:"item"`
	Rev     int          `json:"rev"`
	Allowed []string     `json:"allowed"`
}

func custodyActor(c *gin.Context) custody.Actor {
	p := principal(c)
	return custody.Actor{ID: p.Username, Role: string(p.Role)}
}

// optionalPeriod reads from and to as instants (zero when absent).
func optionalPeriod(c *gin.Context, fs *fields) (from, to time.Time) {
	f, t := parsePeriod(c, fs.bad)
	if f != 0 {
		from = time.UnixMilli(f).UTC()
	}
	if t != 0 {
		to = time.UnixMilli(t).UTC()
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		fs.bad("to", "must be after from")
	}
	return from, to
}

func (s *server) receiveCustody(c *gin.Context) {
	var req custodyReceive
	if !bindStrict(c, &req) {
		return
	}
	// A record outside the caller's scope is answered as one that does not
	// exist.
	h, ok := s.Records.Lookup(c, req.RecordID)
	if !ok || !s.unitVisible(principal(c))(h.Unit) {
		fail(c, fmt.Errorf("record %q: %w", req.RecordID, enforcement.ErrNotFound))
		return
	}
	if req.CaseID != "" {
		if k, _, err := s.Cases.Get(req.CaseID); err != nil || !s.unitVisible(principal(c))(k.Unit) {
			fail(c, invalid(enforcement.FieldError{Field: "case_id", Detail: "unknown case"}))
			return
		}
	}
	rc, err := s.Custody.Receive(c, custodyActor(c), req.RecordID, req.Lines, req.CaseID, req.Location, req.At, req.Documents)
	if err != nil {
		fail(c, err)
		return
	}
	status := http.StatusCreated
	if len(rc.Received) == 0 {
		status = http.StatusOK
	}
	c.JSON(status, rc)
}

// custodyFilter parses the list filters: state, record, case, campaign,
// from, to.
func (s *server) custodyFilter(c *gin.Context, fs *fields) casesvc.CustodyFilter {
	f := casesvc.CustodyFilter{State: custody.State(c.Query("state")), Record: c.Query("record"), Case: c.Query("case"),
		Campaign: c.Query("campaign"), Visible: s.unitVisible(principal(c))}
	if f.State != "" && !slices.Contains(custody.States, f.State) {
		fs.bad("state", "must be one of received, stored, returned, destroyed, auctioned")
	}
	f.From, f.To = optionalPeriod(c, fs)
	return f
}

func (s *server) listCustody(c *gin.Context) {
	var fs fields
	f := s.custodyFilter(c, &fs)
	if fs.answer(c) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": s.Custody.List(f), "summary": s.Custody.Summary(f)})
}

// visibleCustody returns the item of the path if the caller may see it and
// otherwise answers 404 itself.
func (s *server) visibleCustody(c *gin.Context) (custody.Item, int, bool) {
	it, rev, err := s.Custody.Get(c.Param("id"))
	if err == nil && !s.unitVisible(principal(c))(it.Unit) {
		err = fmt.Errorf("custody %s: %w", c.Param("id"), enforcement.ErrNotFound)
	}
	if err != nil {
		fail(c, err)
		return custody.Item{}, 0, false
	}
	return it, rev, true
}

func (s *server) getCustody(c *gin.Context) {
	it, rev, ok := s.visibleCustody(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, custodyAnswer{Item: it, Rev: rev, Allowed: append([]string{}, custody.Allowed(it.State)...)})
}

func (s *server) custodyStep(c *gin.Context) {
	var req custodyStepRequest
	if !bindStrict(c, &req) {
		return
	}
	if _, _, ok := s.visibleCustody(c); !ok {
		return
	}
	if req.BaseRev == nil {
		fail(c, invalid(enforcement.FieldError{Field: "base_rev", Detail: "required: the rev of the item the step was prepared on"}))
		return
	}
	it, rev, err := s.Custody.Step(c, custodyActor(c), c.Param("id"), *req.BaseRev, req.Step)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, custodyAnswer{Item: it, Rev: rev, Allowed: append([]string{}, custody.Allowed(it.State)...)})
}

// custodyReconciliation compares the items in custody with the enforcement
// totals of the same Asia/Shanghai days (from, to: YYYY-MM-DD, half-open)
// and unit subtree (unit, optional), both limited to the caller's scope.
func (s *server) custodyReconciliation(c *gin.Context) {
	var fs fields
	from, errF := enforcement.ParseDay(c.Query("from"))
	if errF != nil {
		fs.bad("from", "required: YYYY-MM-DD (Asia/Shanghai)")
	}
	to, errT := enforcement.ParseDay(c.Query("to"))
	if errT != nil {
		fs.bad("to", "required: YYYY-MM-DD (Asia/Shanghai), the day after the last")
	}
	if errF == nil && errT == nil && to <= from {
		fs.bad("to", "must be after from (half-open)")
	}
	unit := c.Query("unit")
	if _, ok := s.Accounts.Units.Get(unit); unit != "" && !ok {
		fs.bad("unit", "unknown unit")
	}
	if fs.answer(c) {
		return
	}
	visible := s.unitVisible(principal(c))
	inUnit := func(u string) bool { return visible(u) && (unit == "" || s.Accounts.Units.Within(u, unit)) }
	t := s.Records.Totals(records.TotalsQuery{From: from, To: to, Unit: unit, Visible: visible})
	fy, fm, fd := from.Date()
	ty, tm, td := to.Date()
	sum := s.Custody.Summary(casesvc.CustodyFilter{
		From:    time.Date(fy, fm, fd, 0, 0, 0, 0, enforcement.Shanghai),
		To:      time.Date(ty, tm, td, 0, 0, 0, 0, enforcement.Shanghai),
		Visible: inUnit})
	c.JSON(http.StatusOK, gin.H{"from": from.String(), "to": to.String(), "unit": unit,
		"custody": sum, "totals": t.Totals, "reconciliation": custody.Reconcile(sum, t.Totals)})
}
