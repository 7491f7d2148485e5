package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/monitoring"
)

// Limits of the water-quality queries.
const (
	defaultMaxPoints = 500
	maxMaxPoints     = 5000
	// maxQueryRange is the longest range one readings or quality query
	// may ask for.
	maxQueryRange = 10 * 366 * 24 * time.Hour
)

func (s *server) listStations(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"stations": s.Monitoring.Stations()})
}

func (s *server) getStation(c *gin.Context) {
	v, err := s.Monitoring.Station(c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

// readStation decodes a station body strictly (sensors.DecodeStation),
// answering 400 or 422 itself.
func readStation(c *gin.Context) (sensors.Station, bool) {
	body, ok := readBody(c)
	if !ok {
		return sensors.Station{}, false
	}
	st, err := sensors.DecodeStation(body)
	if err != nil {
		stationProblem(c, err)
		return sensors.Station{}, false
	}
	return st, true
}

// stationProblem answers a station the sensors package refused: 422 with
// each offending field, or 400 for a body that is not a station object.
func stationProblem(c *gin.Context, err error) {
	var verr *sensors.ValidationError
	if !errors.As(err, &verr) {
		fail(c, err)
		return
	}
	kind := pValidation
	fields := make([]enforcement.FieldError, 0, len(verr.Problems))
	for _, p := range verr.Problems {
		if p.Field == "" {
			kind = pMalformed
		}
		fields = append(fields, enforcement.FieldError{Field: p.Field, Detail: p.Detail})
	}
	p := newProblem(c, kind, "see errors")
	p.Errors = fields
	c.Set(ctxErr, err)
	respond(c, p)
}

func (s *server) createStation(c *gin.Context) {
	st, ok := readStation(c)
	if !ok {
		return
	}
	s.putStation(c, st, true)
}

func (s *server) updateStation(c *gin.Context) {
	st, ok := readStation(c)
	if !ok {
		return
	}
	if st.ID != c.Param("id") {
		p := newProblem(c, pValidation, "see errors")
		p.Errors = []enforcement.FieldError{{Field: "id", Detail: "must be the id in the path, " + c.Param("id")}}
		respond(c, p)
		return
	}
	s.putStation(c, st, false)
}

func (s *server) putStation(c *gin.Context, st sensors.Station, create bool) {
	v, err := s.Monitoring.PutStation(c, principal(c).Username, st, create)
	var verr *sensors.ValidationError
	switch {
	case errors.As(err, &verr):
		stationProblem(c, verr)
		return
	case err != nil:
		fail(c, err)
		return
	}
	// The audit entry also tells the other instances on the store.
	if err := s.Records.Audit(c, audit.Entry{Actor: principal(c).Username, Action: "station.put", Object: "station:" + v.Station.ID,
		Rev: v.Version}); err != nil {
		s.Logger.Warn("audit of a station change not yet stored", "station", v.Station.ID, "version", v.Version, "err", err)
	}
	view, err := s.Monitoring.Station(v.Station.ID)
	if err != nil {
		fail(c, err)
		return
	}
	status := http.StatusOK
	if create {
		status = http.StatusCreated
		c.Header("Location", "/api/v1/stations/"+v.Station.ID)
	}
	c.JSON(status, view)
}

func (s *server) issueCredential(c *gin.Context) {
	cred, err := s.Monitoring.IssueCredential(c, principal(c).Username, c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	// Never the password: the entry names the issue, and tells the other
	// instances on the store.
	if err := s.Records.Audit(c, audit.Entry{Actor: principal(c).Username, Action: "credential.issue", Object: "credential:" + cred.Station,
		Rev: cred.Version}); err != nil {
		s.Logger.Warn("audit of a credential issue not yet stored", "station", cred.Station, "version", cred.Version, "err", err)
	}
	// The password is shown this once: no cache may keep it.
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, cred)
}

// queryRange reads from and to (RFC 3339 instants or Asia/Shanghai days)
// with a default of the last def, checking order and length.
func queryRange(c *gin.Context, def time.Duration, bad func(name, detail string)) (from, to time.Time) {
	to = time.Now().UTC()
	from = to.Add(-def)
	for _, q := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := c.Query(q.name); v != "" {
			t, err := parseInstantOrDay(v)
			if err != nil {
				bad(q.name, "must be YYYY-MM-DD (an Asia/Shanghai day) or an RFC 3339 instant")
				continue
			}
			*q.dst = t.UTC()
		}
	}
	switch {
	case !from.Before(to):
		bad("to", "must be after from")
	case to.Sub(from) > maxQueryRange:
		bad("to", "the range may span at most 10 years")
	}
	return from, to
}

func (s *server) stationReadings(c *gin.Context) {
	view, err := s.Monitoring.Station(c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	var fs fields
	bad := fs.bad
	from, to := queryRange(c, 24*time.Hour, bad)
	var params []sensors.Param
	for _, v := range c.QueryArray("param") {
		for _, name := range strings.Split(v, ",") {
			p := sensors.Param(strings.TrimSpace(name))
			if !p.Known() {
				bad("param", "unknown parameter "+strconv.Quote(string(p)))
				continue
			}
			if !view.Reports(p) {
				bad("param", "the station does not report "+string(p))
				continue
			}
			params = append(params, p)
		}
	}
	maxPoints := defaultMaxPoints
	if v := c.Query("max_points"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 || n > maxMaxPoints {
			bad("max_points", "must be 10 to "+strconv.Itoa(maxMaxPoints))
		}
		maxPoints = n
	}
	if fs.answer(c) {
		return
	}
	series, err := s.Monitoring.Readings(view.ID, from, to, params, maxPoints)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, series)
}

func (s *server) stationQuality(c *gin.Context) {
	if _, err := s.Monitoring.Station(c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	var fs fields
	bad := fs.bad
	from, to := queryRange(c, 30*24*time.Hour, bad)
	if fs.answer(c) {
		return
	}
	q, err := s.Monitoring.Quality(c.Param("id"), from, to)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, q)
}

func (s *server) listAlerts(c *gin.Context) {
	var fs fields
	f := monitoring.AlertFilter{Station: c.Query("station"), State: sensors.AlertState(c.Query("state")),
		Kind: sensors.AlertKind(c.Query("kind"))}
	if f.Station != "" {
		if _, err := s.Monitoring.Station(f.Station); err != nil {
			fs.bad("station", "unknown station")
		}
	}
	switch f.State {
	case "", sensors.AlertOpen, sensors.AlertCleared:
	default:
		fs.bad("state", "must be open or cleared")
	}
	switch f.Kind {
	case "", sensors.AlertExceedance, sensors.AlertSilent:
	default:
		fs.bad("kind", "must be exceedance or silent")
	}
	if fs.answer(c) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"alerts": s.Monitoring.Alerts(f)})
}

func (s *server) ackAlert(c *gin.Context) {
	a, err := s.Monitoring.Ack(c, principal(c).Username, c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a)
}

// quarantineView is a quarantined message as the API shows it: the payload
// as text when it is valid UTF-8, and its length.
type quarantineView struct {
	ID         string    `json:"id"`
	Topic      string    `json:"topic"`
	Station    string    `json:"station,omitempty"`
	Reason     string    `json:"reason"`
	Detail     string    `json:"detail"`
	ReceivedAt time.Time `json:"received_at"`
	Bytes      int       `json:"bytes"`
	Payload    string    `json:"payload"`
}

func (s *server) listQuarantine(c *gin.Context) {
	es, total := s.Monitoring.Quarantined()
	out := make([]quarantineView, len(es))
	for i, e := range es {
		p := e.Payload
		if len(p) > 4096 {
			p = p[:4096]
		}
		out[i] = quarantineView{ID: e.ID, Topic: e.Topic, Station: e.Station, Reason: e.Reason, Detail: e.Detail,
			ReceivedAt: e.ReceivedAt, Bytes: len(e.Payload), Payload: strings.ToValidUTF8(string(p), "\uFFFD")}
	}
	c.JSON(http.StatusOK, gin.H{"total": total, "messages": out})
}

// paramView is one parameter of the catalogue with its class limits per
// water body, for charts that draw the Class I–V bands.
type paramView struct {
	sensors.ParamInfo
	Limits map[sensors.WaterBody]*limitView `json:"limits,omitempty"`
}

type limitView struct {
	Direction sensors.Direction `json:"direction"`
	// Classes are the bounds of Class I to V, nil for an open side.
	Classes [5][2]*float64 `json:"classes"`
	Routine bool           `json:"routine"`
}

func (s *server) listParams(c *gin.Context) {
	var out []paramView
	for _, info := range sensors.Params() {
		v := paramView{ParamInfo: info}
		for _, b := range sensors.WaterBodies {
			l, ok := sensors.LimitFor(b, info.Param)
			if !ok {
				continue
			}
			lv := &limitView{Direction: l.Direction, Routine: l.Routine}
			for i, bd := range l.Classes {
				lv.Classes[i] = [2]*float64{finite(bd.Min), finite(bd.Max)}
			}
			if v.Limits == nil {
				v.Limits = map[sensors.WaterBody]*limitView{}
			}
			v.Limits[b] = lv
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"params": out})
}

func finite(f float64) *float64 {
	if f > -1e300 && f < 1e300 {
		return &f
	}
	return nil
}
