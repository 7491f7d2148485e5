package api

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/baoshui/baoshui/server/campaigns"
	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
)

// campaignPut is the body of PUT /campaigns/{id}: the revision the change
// was prepared on and the whole campaign.
type campaignPut struct {
	BaseRev *int `json:"base_rev"`
	campaigns.Campaign
}

// operationPut is the body of PUT /operations/{id}.
type operationPut struct {
	BaseRev *int `json:"base_rev"`
	campaigns.Operation
}

func (s *server) createCampaign(c *gin.Context) {
	var req campaigns.Campaign
	if !bindStrict(c, &req) {
		return
	}
	k, rev, err := s.Campaigns.PutCampaign(c, principal(c).Username, 0, req)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/campaigns/"+k.ID)
	c.JSON(http.StatusCreated, gin.H{"campaign": k, "rev": rev})
}

func (s *server) updateCampaign(c *gin.Context) {
	var req campaignPut
	if !bindStrict(c, &req) {
		return
	}
	if req.ID == "" {
		req.ID = c.Param("id")
	}
	switch {
	case req.ID != c.Param("id"):
		fail(c, invalid(enforcement.FieldError{Field: "id", Detail: "must be the id of the path"}))
		return
	case req.BaseRev == nil || *req.BaseRev < 1:
		if _, _, err := s.Campaigns.Campaign(req.ID); err != nil {
			fail(c, err)
			return
		}
		fail(c, invalid(enforcement.FieldError{Field: "base_rev", Detail: "required: the rev the change was prepared on"}))
		return
	}
	k, rev, err := s.Campaigns.PutCampaign(c, principal(c).Username, *req.BaseRev, req.Campaign)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"campaign": k, "rev": rev})
}

func (s *server) listCampaigns(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"campaigns": s.Campaigns.CampaignList()})
}

func (s *server) getCampaign(c *gin.Context) {
	k, rev, err := s.Campaigns.Campaign(c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"campaign": k, "rev": rev})
}

// caseTally counts the cases tagged to a campaign.
type caseTally struct {
	Filed   int                 `json:"filed"`
	Decided int                 `json:"decided"`
	ByState map[cases.State]int `json:"by_state"`
	FineFen int64               `json:"decided_fine_fen"`
}

// campaignReport is the campaign's totals (the records tagged to it within
// its period and the caller's scope) against its targets, with the cases
// and joint operations tagged to it.
func (s *server) campaignReport(c *gin.Context) {
	k, rev, err := s.Campaigns.Campaign(c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	from, to, err := k.Period()
	if err != nil {
		fail(c, err)
		return
	}
	visible := s.unitVisible(principal(c))
	t := s.Records.Totals(records.TotalsQuery{From: from, To: to, Campaign: k.ID, Visible: visible})
	ct := caseTally{ByState: map[cases.State]int{}}
	for _, kc := range s.Cases.All(visible) {
		if kc.Campaign != k.ID {
			continue
		}
		ct.Filed++
		ct.ByState[kc.State]++
		if cases.Published(kc) {
			ct.Decided++
			ct.FineFen += kc.DecidedFineFen
		}
	}
	ops := s.Campaigns.OperationList(k.ID, visible)
	c.JSON(http.StatusOK, gin.H{"campaign": k, "rev": rev, "totals": t.Totals, "by_month": t.ByMonth, "by_unit": t.ByUnit,
		"progress": campaigns.Measure(k, t.Totals), "cases": ct, "operations": len(ops)})
}

// checkOperation refuses an operation whose lead unit is unknown or outside
// the caller's scope, or that lists records or cases the caller cannot see.
func (s *server) checkOperation(c *gin.Context, o campaigns.Operation) bool {
	visible := s.unitVisible(principal(c))
	if _, ok := s.Accounts.Units.Get(o.Unit); o.Unit != "" && !ok {
		fail(c, invalid(enforcement.FieldError{Field: "unit", Detail: "unknown unit"}))
		return false
	}
	if o.Unit != "" && !visible(o.Unit) {
		fail(c, fmt.Errorf("operation of unit %q: outside your scope: %w", o.Unit, enforcement.ErrForbidden))
		return false
	}
	var bad []enforcement.FieldError
	for i, id := range o.Records {
		if h, ok := s.Records.Lookup(c, id); !ok || !visible(h.Unit) {
			bad = append(bad, enforcement.FieldError{Field: fmt.Sprintf("records[%d]", i), Detail: "unknown record"})
		}
	}
	for i, id := range o.Cases {
		if k, _, err := s.Cases.Get(id); err != nil || !visible(k.Unit) {
			bad = append(bad, enforcement.FieldError{Field: fmt.Sprintf("cases[%d]", i), Detail: "unknown case"})
		}
	}
	if len(bad) > 0 {
		fail(c, invalid(bad...))
		return false
	}
	return true
}

func (s *server) createOperation(c *gin.Context) {
	var req campaigns.Operation
	if !bindStrict(c, &req) {
		return
	}
	if req.Unit == "" {
		req.Unit = principal(c).Unit
	}
	if !s.checkOperation(c, req) {
		return
	}
	o, rev, err := s.Campaigns.PutOperation(c, principal(c).Username, 0, req)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/operations/"+o.ID)
	s.answerOperation(c, http.StatusCreated, o, rev)
}

func (s *server) updateOperation(c *gin.Context) {
	var req operationPut
	if !bindStrict(c, &req) {
		return
	}
	if req.ID == "" {
		req.ID = c.Param("id")
	}
	cur, _, err := s.Campaigns.Operation(c.Param("id"))
	if err == nil && !s.unitVisible(principal(c))(cur.Unit) {
		err = fmt.Errorf("operation %s: %w", c.Param("id"), enforcement.ErrNotFound)
	}
	switch {
	case err != nil:
		fail(c, err)
		return
	case req.ID != c.Param("id"):
		fail(c, invalid(enforcement.FieldError{Field: "id", Detail: "must be the id of the path"}))
		return
	case req.BaseRev == nil || *req.BaseRev < 1:
		fail(c, invalid(enforcement.FieldError{Field: "base_rev", Detail: "required: the rev the change was prepared on"}))
		return
	}
	if req.Unit == "" {
		req.Unit = cur.Unit
	}
	if !s.checkOperation(c, req.Operation) {
		return
	}
	o, rev, err := s.Campaigns.PutOperation(c, principal(c).Username, *req.BaseRev, req.Operation)
	if err != nil {
		fail(c, err)
		return
	}
	s.answerOperation(c, http.StatusOK, o, rev)
}

func (s *server) listOperations(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"operations": s.Campaigns.OperationList(c.Query("campaign"), s.unitVisible(principal(c)))})
}

func (s *server) getOperation(c *gin.Context) {
	o, rev, err := s.Campaigns.Operation(c.Param("id"))
	if err == nil && !s.unitVisible(principal(c))(o.Unit) {
		err = fmt.Errorf("operation %s: %w", c.Param("id"), enforcement.ErrNotFound)
	}
	if err != nil {
		fail(c, err)
		return
	}
	s.answerOperation(c, http.StatusOK, o, rev)
}

// answerOperation answers an operation with its figures: the totals of its
// records, each counted once however many agencies took part.
func (s *server) answerOperation(c *gin.Context, status int, o campaigns.Operation, rev int) {
	t, err := s.Records.TotalsOf(c, o.Records)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(status, gin.H{"operation": o, "rev": rev, "agencies": len(o.Agencies), "figures": t})
}
