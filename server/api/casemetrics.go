package api

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/casesvc"
)

var (
	descCases = prometheus.NewDesc("baoshui_cases", "Administrative penalty cases by state.", []string{"state"}, nil)
	descDue   = prometheus.NewDesc("baoshui_cases_overdue",
		"Deadlines of the office that have passed on open cases, by deadline (decision, service, …).", []string{"deadline"}, nil)
)

// caseCollector reports the cases by state and their overdue deadlines,
// computed from the read model when /metrics is scraped.
type caseCollector struct {
	cases *casesvc.Service
	now   func() time.Time
}

// Describe implements prometheus.Collector.
func (c *caseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descCases
	ch <- descDue
}

// Collect implements prometheus.Collector.
func (c *caseCollector) Collect(ch chan<- prometheus.Metric) {
	byState := c.cases.CountByState()
	for _, st := range cases.States {
		ch <- prometheus.MustNewConstMetric(descCases, prometheus.GaugeValue, float64(byState[st]), string(st))
	}
	due := map[string]int{}
	for _, o := range c.cases.Overdue(c.now(), nil) {
		for _, it := range o.Items {
			due[it.Name]++
		}
	}
	for _, name := range cases.DeadlineNames {
		ch <- prometheus.MustNewConstMetric(descDue, prometheus.GaugeValue, float64(due[name]), name)
	}
}
