// Package api is Baoshui's HTTP API under /api/v1 and the operational
// endpoints (/healthz, /readyz, /metrics): the only package that imports gin.
// Handlers parse, ask the policy, call a service and respond; every error
// becomes an RFC 9457 problem through the table in problem.go.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
	"github.com/baoshui/baoshui/sensors/ingest"
	"github.com/baoshui/baoshui/server/accounts"
	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/blobs"
	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/casesvc"
	"github.com/baoshui/baoshui/server/monitoring"
	"github.com/baoshui/baoshui/server/records"
	"github.com/baoshui/baoshui/server/zones"
)

// Deps are what the API serves.
type Deps struct {
	Records  *records.Service
	Accounts *accounts.Service
	Zones    *zones.Registry
	Sync     *mobilesync.Engine
	Blobs    *blobs.Service
	// Monitoring serves the stations, readings and alerts.
	Monitoring *monitoring.Service
	// Cases serves the administrative penalty cases.
	Cases *casesvc.Service
	// Custody serves the confiscated items in custody.
	Custody *casesvc.Custody
	// Campaigns serves the campaigns and joint operations.
	Campaigns *casesvc.Campaigns
	// Authority is the deciding authority the publicity lists name.
	Authority cases.Authority
	// Throttle bounds failed sign-ins per account and per client address
	// (429 with Retry-After past them); zero values take its defaults.
	Throttle auth.ThrottleOptions
	// Writes bound the rate of writes per user and per address.
	Writes WriteLimits
	// IngestStats, when set, reports the MQTT ingest's counters for
	// /metrics.
	IngestStats func() ingest.Stats
	Signer      *auth.Signer
	// Ping reports whether the store answers, for /readyz.
	Ping   func(ctx context.Context) error
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies (413 beyond it); default 4 MiB.
	MaxBodyBytes int64
	// Now is the clock; default time.Now.
	Now func() time.Time
	// MaxBlobBytes is the largest blob accepted (the blob service enforces
	// it too); default 32 MiB.
	MaxBlobBytes int64
	// TombstoneRetention is published by /sync/limits (the record service
	// applies it).
	TombstoneRetention time.Duration
	// Console, when set, serves the office console at "/", its
	// configuration at /console/config.json and its assets under /assets/.
	Console http.Handler
}

const (
	ctxRequestID = "request_id"
	ctxPrincipal = "principal"
	ctxErr       = "error"
	ctxAction    = "action"
)

// route is one API route: the policy action it needs ("" = public) and its
// handler. The route table is the single list of what the API serves; the
// OpenAPI test checks the document against it.
type route struct {
	method, path string
	action       auth.Action
	public       bool
	handle       func(*server, *gin.Context)
}

func routes() []route {
	return []route{
		{"POST", "/api/v1/auth/login", "", true, (*server).login},
		{"POST", "/api/v1/auth/refresh", "", true, (*server).refresh},
		{"POST", "/api/v1/auth/logout", "", true, (*server).logout},
		{"GET", "/api/v1/me", auth.ActSelfRead, false, (*server).me},
		{"GET", "/api/v1/units", auth.ActUnitsRead, false, (*server).listUnits},
		{"POST", "/api/v1/units", auth.ActUnitsWrite, false, (*server).createUnit},
		{"GET", "/api/v1/users", auth.ActUsersRead, false, (*server).listUsers},
		{"POST", "/api/v1/users", auth.ActUsersWrite, false, (*server).createUser},
		{"GET", "/api/v1/devices", auth.ActDevicesRead, false, (*server).listDevices},
		{"POST", "/api/v1/devices", auth.ActDeviceOwn, false, (*server).registerDevice},
		{"POST", "/api/v1/records", auth.ActRecordCreate, false, (*server).createRecord},
		{"GET", "/api/v1/records", auth.ActRecordRead, false, (*server).listRecords},
		{"GET", "/api/v1/records/:id", auth.ActRecordRead, false, (*server).getRecord},
		{"GET", "/api/v1/records/:id/history", auth.ActRecordRead, false, (*server).recordHistory},
		{"POST", "/api/v1/records/:id/corrections", auth.ActRecordCorrect, false, (*server).correctRecord},
		{"POST", "/api/v1/records/:id/void", auth.ActRecordVoid, false, (*server).voidRecord},
		{"POST", "/api/v1/sync/push", auth.ActRecordCreate, false, (*server).syncPush},
		{"GET", "/api/v1/sync/pull", auth.ActRecordRead, false, (*server).syncPull},
		{"GET", "/api/v1/sync/limits", auth.ActSelfRead, false, (*server).syncLimits},
		{"HEAD", "/api/v1/blobs/:sha", auth.ActRecordCreate, false, (*server).headBlob},
		{"PUT", "/api/v1/blobs/:sha", auth.ActRecordCreate, false, (*server).putBlob},
		{"GET", "/api/v1/blobs/:sha", auth.ActRecordRead, false, (*server).getBlob},
		{"PUT", "/api/v1/patrols/:id/track/:chunk", auth.ActRecordCorrect, false, (*server).putTrackChunk},
		{"GET", "/api/v1/patrols/:id/track", auth.ActRecordRead, false, (*server).getTrack},
		{"GET", "/api/v1/reports/totals", auth.ActTotalsRead, false, (*server).totals},
		{"GET", "/api/v1/audit/verify", auth.ActAuditVerify, false, (*server).verifyAudit},
		{"GET", "/api/v1/reports/patrol-effort", auth.ActTotalsRead, false, (*server).patrolEffort},
		{"GET", "/api/v1/map/incidents", auth.ActRecordRead, false, (*server).mapIncidents},
		{"GET", "/api/v1/map/heat", auth.ActRecordRead, false, (*server).mapHeat},
		{"GET", "/api/v1/zones", auth.ActZonesRead, false, (*server).listZones},
		{"GET", "/api/v1/zones/reclassification", auth.ActZonesRead, false, (*server).reclassification},
		{"GET", "/api/v1/zones/:layer", auth.ActZonesRead, false, (*server).getZoneLayer},
		{"PUT", "/api/v1/zones/:layer", auth.ActZonesWrite, false, (*server).putZoneLayer},
		{"GET", "/api/v1/zones/:layer/versions", auth.ActZonesRead, false, (*server).zoneVersions},
		{"GET", "/api/v1/collections", auth.ActZonesRead, false, (*server).listCollections},
		{"GET", "/api/v1/collections/:id", auth.ActZonesRead, false, (*server).getCollection},
		{"GET", "/api/v1/collections/:id/items", auth.ActZonesRead, false, (*server).collectionItems},
		{"GET", "/api/v1/stations", auth.ActStationsRead, false, (*server).listStations},
		{"POST", "/api/v1/stations", auth.ActStationsWrite, false, (*server).createStation},
		{"GET", "/api/v1/stations/:id", auth.ActStationsRead, false, (*server).getStation},
		{"PUT", "/api/v1/stations/:id", auth.ActStationsWrite, false, (*server).updateStation},
		{"POST", "/api/v1/stations/:id/credentials", auth.ActStationsWrite, false, (*server).issueCredential},
		{"GET", "/api/v1/stations/:id/readings", auth.ActStationsRead, false, (*server).stationReadings},
		{"GET", "/api/v1/stations/:id/quality", auth.ActStationsRead, false, (*server).stationQuality},
		{"GET", "/api/v1/water-quality/params", auth.ActStationsRead, false, (*server).listParams},
		{"GET", "/api/v1/water-quality/quarantine", auth.ActStationsWrite, false, (*server).listQuarantine},
		{"GET", "/api/v1/alerts", auth.ActStationsRead, false, (*server).listAlerts},
		{"POST", "/api/v1/alerts/:id/ack", auth.ActAlertsAck, false, (*server).ackAlert},
		{"POST", "/api/v1/cases", auth.ActCasesAct, false, (*server).fileCase},
		{"GET", "/api/v1/cases", auth.ActCasesRead, false, (*server).listCases},
		{"GET", "/api/v1/cases/overdue", auth.ActCasesRead, false, (*server).overdueCases},
		{"GET", "/api/v1/cases/:id", auth.ActCasesRead, false, (*server).getCase},
		{"POST", "/api/v1/cases/:id/steps", auth.ActCasesAct, false, (*server).caseStep},
		{"GET", "/api/v1/cases/:id/dossier", auth.ActCasesRead, false, (*server).caseDossier},
		{"POST", "/api/v1/custody", auth.ActCustodyAct, false, (*server).receiveCustody},
		{"GET", "/api/v1/custody", auth.ActCustodyRead, false, (*server).listCustody},
		{"GET", "/api/v1/custody/reconciliation", auth.ActCustodyRead, false, (*server).custodyReconciliation},
		{"GET", "/api/v1/custody/:id", auth.ActCustodyRead, false, (*server).getCustody},
		{"POST", "/api/v1/custody/:id/steps", auth.ActCustodyAct, false, (*server).custodyStep},
		{"POST", "/api/v1/campaigns", auth.ActCampaignsWrite, false, (*server).createCampaign},
		{"GET", "/api/v1/campaigns", auth.ActCampaignsRead, false, (*server).listCampaigns},
		{"GET", "/api/v1/campaigns/:id", auth.ActCampaignsRead, false, (*server).getCampaign},
		{"PUT", "/api/v1/campaigns/:id", auth.ActCampaignsWrite, false, (*server).updateCampaign},
		{"GET", "/api/v1/campaigns/:id/report", auth.ActCampaignsRead, false, (*server).campaignReport},
		{"POST", "/api/v1/operations", auth.ActOperationsWrite, false, (*server).createOperation},
		{"GET", "/api/v1/operations", auth.ActCampaignsRead, false, (*server).listOperations},
		{"GET", "/api/v1/operations/:id", auth.ActCampaignsRead, false, (*server).getOperation},
		{"PUT", "/api/v1/operations/:id", auth.ActOperationsWrite, false, (*server).updateOperation},
		{"GET", "/api/v1/publicity/penalties", auth.ActPublicityRead, false, (*server).publicityPenalties},
		{"GET", "/api/v1/publicity/information", auth.ActPublicityRead, false, (*server).publicityInformation},
		{"GET", "/api/v1/openapi.json", "", true, (*server).openapi},
	}
}

type server struct {
	Deps
	metrics  *metrics
	throttle *auth.Throttle
	// userWrites and clientWrites are the write buckets (nil = no limit).
	userWrites, clientWrites *buckets
}

// New returns the HTTP handler serving the API.
func New(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.MaxBodyBytes == 0 {
		d.MaxBodyBytes = 4 << 20
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxBlobBytes == 0 {
		d.MaxBlobBytes = 32 << 20
	}
	gin.SetMode(gin.ReleaseMode)
	if d.Throttle.Now == nil {
		d.Throttle.Now = d.Now
	}
	s := &server{Deps: d, metrics: newMetrics(), throttle: auth.NewThrottle(d.Throttle),
		userWrites:   newBuckets(d.Writes.UserPerSecond, d.Writes.UserBurst),
		clientWrites: newBuckets(d.Writes.ClientPerSecond, d.Writes.ClientBurst)}
	s.metrics.sensors(d.Monitoring, d.IngestStats)
	if d.Records != nil {
		s.metrics.records(d.Records)
	}
	if d.Cases != nil {
		s.metrics.reg.MustRegister(&caseCollector{cases: d.Cases, now: s.Now})
	}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(s.requestID, secureHeaders, s.observe, s.recover, s.limitBody)
	r.NoRoute(func(c *gin.Context) { abort(c, pNotFound, "no route "+c.Request.Method+" "+c.Request.URL.Path) })
	r.NoMethod(func(c *gin.Context) { abort(c, pMethod, c.Request.Method+" is not allowed on "+c.Request.URL.Path) })
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})))
	for _, rt := range routes() {
		handlers := []gin.HandlerFunc{}
		if !rt.public {
			handlers = append(handlers, s.authenticate(rt.action), s.limitWrites)
		}
		h := rt.handle
		handlers = append(handlers, func(c *gin.Context) { h(s, c) })
		r.Handle(rt.method, rt.path, handlers...)
	}
	if d.Console != nil {
		h := gin.WrapH(d.Console)
		for _, p := range []string{"/", "/index.html", "/console/config.json", "/assets/*file"} {
			r.GET(p, h)
			r.HEAD(p, h)
		}
	}
	return r
}

func (s *server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err != nil {
		abort(c, pUnavailable, "store: "+err.Error())
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

func (s *server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if id == "" || len(id) > 64 {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Set(ctxRequestID, id)
	c.Header("X-Request-Id", id)
	c.Next()
}

// secureHeaders sets the browser-facing defaults on every answer: no MIME
// sniffing, no framing, no referrer; API answers may load nothing and are
// not cached; over TLS, HSTS for a year. No CORS header is ever set, so
// other origins cannot read the API from a browser.
func secureHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	if strings.HasPrefix(c.Request.URL.Path, "/api/") {
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Cache-Control", "no-store")
	}
	if c.Request.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	c.Next()
}

// recover turns a panic into a logged 500 problem; it should never fire.
func (s *server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.Logger.Error("panic", "request_id", c.GetString(ctxRequestID), "panic", v)
			abort(c, pInternal, "internal error")
		}
	}()
	c.Next()
}

// limitBody caps every request body; handlers see *http.MaxBytesError past it.
func (s *server) limitBody(c *gin.Context) {
	limit := s.MaxBodyBytes
	if c.Request.Method == http.MethodPut && strings.HasPrefix(c.Request.URL.Path, "/api/v1/zones/") {
		// A whole zone layer, surveyed, is larger than any record batch.
		limit = max(limit, zones.MaxLayerBytes)
	}
	if c.Request.Method == http.MethodPut && strings.HasPrefix(c.Request.URL.Path, "/api/v1/blobs/") {
		limit = max(limit, s.MaxBlobBytes)
	}
	if c.Request.ContentLength > limit {
		abort(c, pTooLarge, "the body is larger than "+strconv.FormatInt(limit, 10)+" bytes")
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	c.Next()
}

// authenticate verifies the bearer token and the role-level policy for action.
func (s *server) authenticate(action auth.Action) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || token == "" {
			abort(c, pUnauth, "send Authorization: Bearer <access token>")
			return
		}
		p, err := s.Signer.Verify(token)
		if err != nil {
			fail(c, err)
			return
		}
		c.Set(ctxPrincipal, p)
		c.Set(ctxAction, string(action))
		if !auth.Allow(p, action, nil, s.Accounts.Units) {
			abort(c, pForbidden, "the role "+string(p.Role)+" may not "+string(action))
			return
		}
		c.Next()
	}
}

func principal(c *gin.Context) auth.Principal {
	p, _ := c.Get(ctxPrincipal)
	pr, _ := p.(auth.Principal)
	return pr
}

// visible reports whether the caller may read a record of unit created by
// createdBy. It needs the unit tree only for supervisors.
func visible(c *gin.Context, unit, createdBy string) bool {
	t, _ := c.Get(ctxTree)
	tree, _ := t.(auth.Tree)
	if tree == nil {
		return false
	}
	return auth.Allow(principal(c), auth.ActRecordRead, &auth.Object{Unit: unit, CreatedBy: createdBy}, tree)
}

const ctxTree = "tree"

// metrics are the Prometheus collectors of the API; route labels are the
// registered route patterns, so their number is bounded.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baoshui_http_requests_total",
		Help: "HTTP requests by route pattern, method and status."}, []string{"route", "method", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "baoshui_http_request_duration_seconds",
		Help: "HTTP request latency by route pattern.", Buckets: prometheus.DefBuckets}, []string{"route", "method"})
	m.reg.MustRegister(m.requests, m.duration, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// records registers the size of the record read models and where the
// instance stands in the server sequence log, read when /metrics is
// scraped. On a shared store, baoshui_server_sequence_claims_queued is the
// follow lag: claims of other instances known but not applied yet.
func (m *metrics) records(r *records.Service) {
	for _, g := range []struct {
		name, help string
		get        func() int64
	}{
		{"baoshui_records", "Field records held in memory (their current revisions).", func() int64 { return int64(r.Count()) }},
		{"baoshui_server_sequence_frontier", "The server sequence up to which every write of every instance is applied here.", func() int64 { return r.FollowStats().Frontier }},
		{"baoshui_server_sequence_claim", "The newest claim of the server sequence log this instance knows.", func() int64 { return r.FollowStats().Claim }},
		{"baoshui_server_sequence_claims_queued", "Claims known but not applied yet (other instances' writes still to follow).", func() int64 { return r.FollowStats().Queued }},
	} {
		get := g.get
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: g.name, Help: g.help},
			func() float64 { return float64(get()) }))
	}
}

// sensors registers the monitoring and ingest counters, read when
// /metrics is scraped.
func (m *metrics) sensors(mon *monitoring.Service, in func() ingest.Stats) {
	if mon != nil {
		for _, c := range []struct {
			name, help string
			counter    bool
			get        func(monitoring.Stats) int64
		}{
			{"baoshui_readings_stored_total", "Water-quality readings in the read models: those stored at start, then those any instance stored (not counting redelivered duplicates).", true, func(s monitoring.Stats) int64 { return s.Readings }},
			{"baoshui_readings_duplicate_total", "Readings received again that were already stored.", true, func(s monitoring.Stats) int64 { return s.Duplicates }},
			{"baoshui_readings_quarantined_total", "MQTT messages refused and kept in the quarantine.", true, func(s monitoring.Stats) int64 { return s.Quarantined }},
			{"baoshui_alerts_opened_total", "Alerts opened (exceedance and silence).", true, func(s monitoring.Stats) int64 { return s.AlertsOpened }},
			{"baoshui_alerts_cleared_total", "Alerts cleared.", true, func(s monitoring.Stats) int64 { return s.AlertsCleared }},
			{"baoshui_alerts_open", "Alerts open now.", false, func(s monitoring.Stats) int64 { return s.AlertsOpen }},
			{"baoshui_alerts_publish_failures_total", "Alert messages the broker did not take.", true, func(s monitoring.Stats) int64 { return s.PublishFailures }},
			{"baoshui_monitoring_log_event", "The last event of the monitoring log shared by instances on one store that this instance applied (0 alone).", false, func(s monitoring.Stats) int64 { return s.Events }},
		} {
			get := c.get
			f := func() float64 { return float64(get(mon.Stats())) }
			if c.counter {
				m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help}, f))
			} else {
				m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: c.name, Help: c.help}, f))
			}
		}
	}
	if in != nil {
		for _, c := range []struct {
			name, help string
			get        func(ingest.Stats) uint64
		}{
			{"baoshui_ingest_received_total", "MQTT messages received by the ingest, redeliveries included.", func(s ingest.Stats) uint64 { return s.Received }},
			{"baoshui_ingest_acked_total", "MQTT messages acknowledged after their readings were stored.", func(s ingest.Stats) uint64 { return s.Acked }},
			{"baoshui_ingest_store_errors_total", "Failed store calls of the ingest (retried).", func(s ingest.Stats) uint64 { return s.StoreErrors }},
		} {
			get := c.get
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help},
				func() float64 { return float64(get(in())) }))
		}
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "baoshui_ingest_waiting",
			Help: "MQTT messages received that wait, past the ingest's queue, for the store."},
			func() float64 { return float64(in().Waiting) }))
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "baoshui_ingest_takeovers_total",
			Help: "Times this server took over the broker session of a silent peer of its shared subscription."},
			func() float64 { return float64(in().Takeovers) }))
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "baoshui_ingest_sessions_held",
			Help: "Broker sessions of silent peers this server holds now."},
			func() float64 { return float64(in().Held) }))
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "baoshui_ingest_connected",
			Help: "1 while the ingest is connected to its broker (always 1 with the embedded broker)."},
			func() float64 {
				if in().Connected {
					return 1
				}
				return 0
			}))
		for _, r := range ingest.Reasons {
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "baoshui_ingest_quarantined_total",
				Help: "MQTT messages refused by the ingest, by reason.", ConstLabels: prometheus.Labels{"reason": string(r)}},
				func() float64 { return float64(in().ByReason[r]) }))
		}
	}
}

// observe logs every request as JSON with its request id and counts it.
func (s *server) observe(c *gin.Context) {
	start := time.Now()
	c.Set(ctxTree, auth.Tree(s.Accounts.Units))
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	d := time.Since(start)
	s.metrics.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(status)).Inc()
	s.metrics.duration.WithLabelValues(route, c.Request.Method).Observe(d.Seconds())
	attrs := []any{"request_id", c.GetString(ctxRequestID), "method", c.Request.Method, "route", route,
		"status", status, "duration_ms", d.Milliseconds()}
	if p := principal(c); p.Username != "" {
		attrs = append(attrs, "user", p.Username)
	}
	if e, ok := c.Get(ctxErr); ok {
		if err, ok := e.(error); ok {
			attrs = append(attrs, "error", err.Error())
		}
	}
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case status == http.StatusNotFound && c.Request.Method == http.MethodHead:
		// A phone asking whether a blob has arrived: the protocol's normal
		// "not yet", not a mistake.
	case status >= 400:
		level = slog.LevelWarn
	}
	s.Logger.Log(c.Request.Context(), level, "http", attrs...)
}
