package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/baoshui/baoshui/server/accounts"
	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
)

// readBody returns the request body, answering 413 or 415 itself (ok=false).
func readBody(c *gin.Context) ([]byte, bool) {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			abort(c, pMediaType, "Content-Type must be application/json, not "+ct)
			return nil, false
		}
	}
	b, err := io.ReadAll(c.Request.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		abort(c, pTooLarge, fmt.Sprintf("the body is larger than %d bytes", mbe.Limit))
		return nil, false
	}
	if err != nil {
		abort(c, pMalformed, "reading the body: "+err.Error())
		return nil, false
	}
	return b, true
}

// bindStrict decodes a JSON object into v, refusing unknown fields and
// trailing data; on failure it answers 400 naming the problem.
func bindStrict(c *gin.Context, v any) bool {
	b, ok := readBody(c)
	if !ok {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON object")
	}
	if err != nil {
		p := newProblem(c, pMalformed, "")
		p.Errors = []enforcement.FieldError{jsonFieldError(err)}
		p.Detail = p.Errors[0].Detail
		c.Set(ctxErr, err)
		respond(c, p)
		return false
	}
	return true
}

func jsonFieldError(err error) enforcement.FieldError {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return enforcement.FieldError{Field: te.Field, Detail: "wrong type: got " + te.Value}
	case errors.As(err, &se):
		return enforcement.FieldError{Detail: fmt.Sprintf("malformed JSON at byte %d", se.Offset)}
	case errors.Is(err, io.EOF):
		return enforcement.FieldError{Detail: "empty body"}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return enforcement.FieldError{Field: strings.Trim(f, `"`), Detail: "unknown field"}
	}
	return enforcement.FieldError{Detail: msg}
}

func invalid(fields ...enforcement.FieldError) error {
	return fmt.Errorf("%w: %w", enforcement.ErrInvalid, &enforcement.ValidationError{Fields: fields})
}

// --- accounts ---

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *server) login(c *gin.Context) {
	var req loginRequest
	if !bindStrict(c, &req) {
		return
	}
	if req.Username == "" || req.Password == "" || len(req.Username) > 64 || len(req.Password) > 256 {
		fail(c, invalid(enforcement.FieldError{Field: "username", Detail: "username and password are required"}))
		return
	}
	// The client address is the connection's: X-Forwarded-For is the
	// client's to write, so a limit keyed by it could be dodged.
	client := c.RemoteIP()
	if wait, ok := s.throttle.Allow(req.Username, client); !ok {
		secs := int64(math.Ceil(wait.Seconds()))
		c.Header("Retry-After", strconv.FormatInt(secs, 10))
		abort(c, pTooMany, fmt.Sprintf("too many failed sign-ins for this account or from this address; try again in %d s", secs))
		return
	}
	t, err := s.Accounts.Login(c, req.Username, req.Password)
	switch {
	case errors.Is(err, accounts.ErrBadCredentials):
		s.throttle.Failed(req.Username, client)
	case err == nil:
		s.throttle.Succeeded(req.Username)
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (s *server) refresh(c *gin.Context) {
	var req refreshRequest
	if !bindStrict(c, &req) {
		return
	}
	if req.RefreshToken == "" || len(req.RefreshToken) > 200 {
		fail(c, invalid(enforcement.FieldError{Field: "refresh_token", Detail: "required"}))
		return
	}
	t, err := s.Accounts.Refresh(c, req.RefreshToken)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

func (s *server) logout(c *gin.Context) {
	var req refreshRequest
	if !bindStrict(c, &req) {
		return
	}
	if req.RefreshToken == "" || len(req.RefreshToken) > 200 {
		fail(c, invalid(enforcement.FieldError{Field: "refresh_token", Detail: "required"}))
		return
	}
	if err := s.Accounts.Logout(c, req.RefreshToken); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *server) me(c *gin.Context) {
	p := principal(c)
	u, ok := s.Accounts.User(p.Username)
	if !ok {
		fail(c, fmt.Errorf("me: %w", enforcement.ErrNotFound))
		return
	}
	c.JSON(http.StatusOK, u)
}

func (s *server) listUnits(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"units": s.Accounts.Units.All()})
}

func (s *server) createUnit(c *gin.Context) {
	var u enforcement.Unit
	if !bindStrict(c, &u) {
		return
	}
	u, err := s.Accounts.CreateUnit(c, principal(c).Username, u)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, u)
}

// unitVisible reports whether the caller may see data of unit: the whole
// district for the office and admins, the subtree of their unit otherwise.
func (s *server) unitVisible(p auth.Principal) func(string) bool {
	root := auth.ScopeRoot(p)
	return func(unit string) bool {
		if root == "" {
			return true
		}
		if p.Role == auth.RoleOfficer {
			return unit == root
		}
		return s.Accounts.Units.Within(unit, root)
	}
}

func (s *server) listUsers(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"users": s.Accounts.ListUsers(s.unitVisible(principal(c)))})
}

func (s *server) createUser(c *gin.Context) {
	var nu accounts.NewUser
	if !bindStrict(c, &nu) {
		return
	}
	u, err := s.Accounts.CreateUser(c, principal(c).Username, nu)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, u)
}

type deviceRequest struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (s *server) registerDevice(c *gin.Context) {
	var req deviceRequest
	if !bindStrict(c, &req) {
		return
	}
	owner := principal(c).Username
	// A phone that registers again (reinstalled, or its answer was lost)
	// is told it is registered; another officer's device is a conflict.
	if d, ok := s.Accounts.Device(req.ID); ok && d.Owner == owner {
		c.JSON(http.StatusOK, d)
		return
	}
	d, err := s.Accounts.RegisterDevice(c, owner, auth.Device{ID: req.ID, Name: req.Name})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, d)
}

func (s *server) listDevices(c *gin.Context) {
	p := principal(c)
	c.JSON(http.StatusOK, gin.H{"devices": s.Accounts.Devices(func(d auth.Device) bool {
		return auth.Allow(p, auth.ActDevicesRead, &auth.Object{CreatedBy: d.Owner}, s.Accounts.Units)
	})})
}

// --- records ---

func (s *server) createRecord(c *gin.Context) {
	body, ok := readBody(c)
	if !ok {
		return
	}
	in, err := enforcement.Decode(body, s.Now())
	if err != nil {
		fail(c, fmt.Errorf("%w: %w", enforcement.ErrInvalid, err))
		return
	}
	p := principal(c)
	if !auth.Allow(p, auth.ActRecordCreate, &auth.Object{Unit: in.Record.Unit, CreatedBy: p.Username}, s.Accounts.Units) {
		fail(c, fmt.Errorf("create record for unit %s: %w", in.Record.Unit, enforcement.ErrForbidden))
		return
	}
	r, err := s.Records.Prepare(in)
	if err != nil {
		fail(c, err)
		return
	}
	res, err := s.Records.Create(c, records.Actor{Username: p.Username}, r)
	if err != nil {
		fail(c, err)
		return
	}
	if res.Created {
		c.Header("Location", "/api/v1/records/"+res.Record.ID)
		c.JSON(http.StatusCreated, res.Record)
		return
	}
	if !visible(c, res.Record.Unit, res.Record.CreatedBy) {
		fail(c, fmt.Errorf("create record: %w", enforcement.ErrExists))
		return
	}
	c.JSON(http.StatusOK, res.Record)
}

// readable returns the head of record id if the caller may see it; it
// answers 404 both for a missing record and for one the caller may not see.
func (s *server) readable(c *gin.Context, action auth.Action) (records.HeadInfo, bool) {
	id := c.Param("id")
	h, ok := s.Records.Lookup(c, id)
	p := principal(c)
	if !ok || !auth.Allow(p, auth.ActRecordRead, &auth.Object{Unit: h.Unit, CreatedBy: h.CreatedBy}, s.Accounts.Units) {
		fail(c, fmt.Errorf("record %s: %w", id, enforcement.ErrNotFound))
		return h, false
	}
	if !auth.Allow(p, action, &auth.Object{Unit: h.Unit, CreatedBy: h.CreatedBy}, s.Accounts.Units) {
		fail(c, fmt.Errorf("%s on record %s: %w", action, id, enforcement.ErrForbidden))
		return h, false
	}
	return h, true
}

func (s *server) getRecord(c *gin.Context) {
	if _, ok := s.readable(c, auth.ActRecordRead); !ok {
		return
	}
	r, err := s.Records.Get(c, c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("ETag", strconv.Quote(strconv.FormatInt(r.Rev, 10)))
	one := []enforcement.Record{r}
	s.photosPending(c, one)
	c.JSON(http.StatusOK, one[0])
}

func (s *server) recordHistory(c *gin.Context) {
	if _, ok := s.readable(c, auth.ActRecordRead); !ok {
		return
	}
	revs, err := s.Records.History(c, c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"revisions": revs})
}

type correctionRequest struct {
	BaseRev int64           `json:"base_rev"`
	Record  json.RawMessage `json:"record"`
}

func (s *server) correctRecord(c *gin.Context) {
	h, ok := s.readable(c, auth.ActRecordCorrect)
	if !ok {
		return
	}
	var req correctionRequest
	if !bindStrict(c, &req) {
		return
	}
	var fields []enforcement.FieldError
	if req.BaseRev < 1 {
		fields = append(fields, enforcement.FieldError{Field: "base_rev", Detail: "required: the revision this correction supersedes"})
	}
	in, err := enforcement.Decode(req.Record, s.Now())
	var verr *enforcement.ValidationError
	if errors.As(err, &verr) {
		for _, f := range verr.Fields {
			f.Field = strings.TrimSuffix("record."+f.Field, ".")
			fields = append(fields, f)
		}
	}
	if err == nil && in.Record.ID != h.ID {
		fields = append(fields, enforcement.FieldError{Field: "record.id", Detail: "must be the id in the path"})
	}
	if len(fields) > 0 {
		fail(c, invalid(fields...))
		return
	}
	p := principal(c)
	if !auth.Allow(p, auth.ActRecordCreate, &auth.Object{Unit: in.Record.Unit, CreatedBy: h.CreatedBy}, s.Accounts.Units) {
		fail(c, fmt.Errorf("move record to unit %s: %w", in.Record.Unit, enforcement.ErrForbidden))
		return
	}
	r, err := s.Records.Prepare(in)
	if err != nil {
		fail(c, err)
		return
	}
	res, err := s.Records.Correct(c, records.Actor{Username: p.Username}, req.BaseRev, r)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, res.Record)
}

type voidRequest struct {
	BaseRev int64  `json:"base_rev"`
	Reason  string `json:"reason"`
}

func (s *server) voidRecord(c *gin.Context) {
	h, ok := s.readable(c, auth.ActRecordVoid)
	if !ok {
		return
	}
	var req voidRequest
	if !bindStrict(c, &req) {
		return
	}
	var fields []enforcement.FieldError
	if req.BaseRev < 1 {
		fields = append(fields, enforcement.FieldError{Field: "base_rev", Detail: "required: the revision this void supersedes"})
	}
	if strings.TrimSpace(req.Reason) == "" || len(req.Reason) > 2000 {
		fields = append(fields, enforcement.FieldError{Field: "reason", Detail: "required, at most 2000 bytes"})
	}
	if len(fields) > 0 {
		fail(c, invalid(fields...))
		return
	}
	res, err := s.Records.Void(c, records.Actor{Username: principal(c).Username}, h.ID, req.BaseRev, req.Reason)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, res.Record)
}

func (s *server) listRecords(c *gin.Context) {
	p := principal(c)
	f := records.Filter{
		Kind: enforcement.Kind(c.Query("kind")), Unit: c.Query("unit"), Officer: c.Query("officer"),
		Campaign: c.Query("campaign"),
		Visible: func(unit, createdBy string) bool {
			return auth.Allow(p, auth.ActRecordRead, &auth.Object{Unit: unit, CreatedBy: createdBy}, s.Accounts.Units)
		},
	}
	var fields []enforcement.FieldError
	bad := func(name, detail string) {
		fields = append(fields, enforcement.FieldError{Field: name, Detail: detail})
	}
	if f.Kind != "" && !f.Kind.Valid() {
		bad("kind", "must be one of patrol, expulsion, grazing, vehicle, confiscation, case")
	}
	if f.Unit != "" {
		if _, ok := s.Accounts.Units.Get(f.Unit); !ok {
			bad("unit", "unknown unit")
		}
	}
	f.From, f.To = parsePeriod(c, bad)
	if v := c.Query("bbox"); v != "" {
		b, err := parseBBox(v)
		if err != nil {
			bad("bbox", err.Error())
		}
		f.BBox = b
	}
	switch c.Query("voided") {
	case "", "false":
	case "true":
		f.Voided = true
	default:
		bad("voided", "must be true or false")
	}
	limit := 50
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			bad("limit", "must be 1 to 500")
		}
		limit = n
	}
	if len(fields) > 0 {
		p := newProblem(c, pBadQuery, "see errors")
		p.Errors = fields
		respond(c, p)
		return
	}
	page, err := s.Records.List(c, f, c.Query("cursor"), limit)
	if err != nil {
		fail(c, err)
		return
	}
	s.photosPending(c, page.Records)
	c.JSON(http.StatusOK, page)
}

// parsePeriod reads the from and to parameters as Unix ms (0 when absent),
// reporting each malformed one to bad.
func parsePeriod(c *gin.Context, bad func(name, detail string)) (from, to int64) {
	for _, q := range []struct {
		name string
		dst  *int64
	}{{"from", &from}, {"to", &to}} {
		if v := c.Query(q.name); v != "" {
			t, err := parseInstantOrDay(v)
			if err != nil {
				bad(q.name, "must be YYYY-MM-DD (an Asia/Shanghai day) or an RFC 3339 instant")
			}
			*q.dst = t.UnixMilli()
		}
	}
	return from, to
}

func parseInstantOrDay(v string) (time.Time, error) {
	if d, err := enforcement.ParseDay(v); err == nil {
		y, m, dd := d.Date()
		return time.Date(y, m, dd, 0, 0, 0, 0, enforcement.Shanghai), nil
	}
	return time.Parse(time.RFC3339, v)
}

func parseBBox(v string) (*[4]float64, error) {
	parts := strings.Split(v, ",")
	if len(parts) != 4 {
		return nil, errors.New("must be W,S,E,N")
	}
	var b [4]float64
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || x != x {
			return nil, errors.New("must be four numbers W,S,E,N")
		}
		b[i] = x
	}
	if b[0] < -180 || b[2] > 180 || b[1] < -90 || b[3] > 90 || b[0] > b[2] || b[1] > b[3] {
		return nil, errors.New("must be W,S,E,N within [-180,180]×[-90,90] with W≤E and S≤N")
	}
	return &b, nil
}

func (s *server) totals(c *gin.Context) {
	var fields []enforcement.FieldError
	day := func(name string) enforcement.Day {
		d, err := enforcement.ParseDay(c.Query(name))
		if err != nil {
			fields = append(fields, enforcement.FieldError{Field: name, Detail: "required: YYYY-MM-DD (Asia/Shanghai)"})
		}
		return d
	}
	q := records.TotalsQuery{From: day("from"), To: day("to"), Unit: c.Query("unit"), Campaign: c.Query("campaign")}
	if len(fields) == 0 && (q.To <= q.From || q.To-q.From > 366*20) {
		fields = append(fields, enforcement.FieldError{Field: "to", Detail: "must be after from (half-open), at most 20 years later"})
	}
	p := principal(c)
	vis := s.unitVisible(p)
	if q.Unit != "" {
		if _, ok := s.Accounts.Units.Get(q.Unit); !ok {
			fields = append(fields, enforcement.FieldError{Field: "unit", Detail: "unknown unit"})
		}
	}
	if len(fields) > 0 {
		pr := newProblem(c, pBadQuery, "see errors")
		pr.Errors = fields
		respond(c, pr)
		return
	}
	if q.Unit != "" && !vis(q.Unit) && !s.Accounts.Units.Within(auth.ScopeRoot(p), q.Unit) {
		fail(c, fmt.Errorf("totals of unit %s: %w", q.Unit, enforcement.ErrForbidden))
		return
	}
	q.Visible = vis
	rep := s.Records.Totals(q)
	switch format := c.DefaultQuery("format", "json"); format {
	case "json":
		c.JSON(http.StatusOK, rep)
	case "csv":
		s.sendTable(c, format, "totals-"+rep.From+"-"+rep.To, s.totalsTable("合计", rep, true))
	case "xlsx":
		s.sendTables(c, "totals-"+rep.From+"-"+rep.To, s.totalsTable("合计", rep, false), s.totalsTable("按月", rep, false),
			s.totalsTable("按单位", rep, false))
	default:
		pr := newProblem(c, pBadQuery, "see errors")
		pr.Errors = []enforcement.FieldError{{Field: "format", Detail: "must be json, csv or xlsx"}}
		respond(c, pr)
	}
}

func (s *server) verifyAudit(c *gin.Context) {
	rep, err := s.Records.VerifyAudit(c)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}
