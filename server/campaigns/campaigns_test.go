package campaigns_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/campaigns"
	"github.com/baoshui/baoshui/server/enforcement"
)

func bairi() campaigns.Campaign {
	return campaigns.Campaign{ID: "bairi-2020", Name: "百日整治行动", From: "2020-06-01", To: "2020-09-08",
		Targets: map[string]int64{"persons_cleared": 2000, "cases_filed": 100, "fines_fen": 10_000_000}}
}

// badFields returns the fields a validation error names, or nil.
func badFields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *enforcement.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, enforcement.ErrInvalid) {
		t.Fatalf("error %v is not a validation error", err)
	}
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestCampaignValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *campaigns.Campaign)
		bad    []string
	}{
		{"valid", func(*campaigns.Campaign) {}, nil},
		{"one day", func(c *campaigns.Campaign) { c.To = c.From }, nil},
		{"end before start", func(c *campaigns.Campaign) { c.To = "2020-05-31" }, []string{"to"}},
		{"no dates", func(c *campaigns.Campaign) { c.From, c.To = "", "8 Sept" }, []string{"from", "to"}},
		{"bad id and blank name", func(c *campaigns.Campaign) { c.ID, c.Name = "a b", "\u3000" }, []string{"id", "name"}},
		{"unknown figure", func(c *campaigns.Campaign) { c.Targets["arrests"] = 3 }, []string{"targets.arrests"}},
		{"negative target", func(c *campaigns.Campaign) { c.Targets["cases_filed"] = -1 }, []string{"targets.cases_filed"}},
		{"zone twice", func(c *campaigns.Campaign) { c.Zones = []string{"first", "first"} }, []string{"zones[1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := bairi()
			tt.change(&c)
			if got := badFields(t, c.Validate()); !slices.Equal(got, tt.bad) {
				t.Errorf("bad fields %v, want %v", got, tt.bad)
			}
		})
	}
}

func TestPeriodIsInclusive(t *testing.T) {
	from, to, err := bairi().Period()
	if err != nil {
		t.Fatal(err)
	}
	if from.String() != "2020-06-01" || to.String() != "2020-09-09" || int(to-from) != 100 {
		t.Errorf("period [%s, %s) of %d days, want [2020-06-01, 2020-09-09) of 100", from, to, to-from)
	}
}

func TestMeasure(t *testing.T) {
	c := bairi()
	c.Targets["grazing_stopped"] = 0
	got := campaigns.Measure(c, enforcement.Totals{PersonsCleared: 2500, CasesFiled: 99, FinesFen: 5_000_000})
	want := []campaigns.Progress{
		{Figure: "persons_cleared", Target: 2000, Actual: 2500, Percent: 125, Met: true},
		{Figure: "grazing_stopped", Target: 0, Actual: 0, Percent: 100, Met: true},
		{Figure: "cases_filed", Target: 100, Actual: 99, Percent: 99, Met: false},
		{Figure: "fines_fen", Target: 10_000_000, Actual: 5_000_000, Percent: 50, Met: false},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Measure:\n got %+v\nwant %+v", got, want)
	}
}

func TestOperationValidate(t *testing.T) {
	now := time.Date(2020, 7, 1, 12, 0, 0, 0, enforcement.Shanghai)
	base := func() campaigns.Operation {
		return campaigns.Operation{ID: "op-1", Name: "联合清理非法垂钓", Campaign: "bairi-2020", Unit: "town-gaoling",
			Start: now.Add(-6 * time.Hour), End: now.Add(-2 * time.Hour),
			Agencies: []string{"高岭镇综合执法队", "密云公安分局", "区水务局"}, Records: []string{"r1", "r2"}}
	}
	tests := []struct {
		name   string
		change func(o *campaigns.Operation)
		bad    []string
	}{
		{"valid", func(*campaigns.Operation) {}, nil},
		{"no agencies", func(o *campaigns.Operation) { o.Agencies = nil }, []string{"agencies"}},
		{"agency twice", func(o *campaigns.Operation) { o.Agencies = append(o.Agencies, "区水务局") }, []string{"agencies[3]"}},
		{"record twice", func(o *campaigns.Operation) { o.Records = []string{"r1", "r1"} }, []string{"records[1]"}},
		{"bad record id", func(o *campaigns.Operation) { o.Records = []string{"r 1"} }, []string{"records[0]"}},
		{"ends before it starts", func(o *campaigns.Operation) { o.End = o.Start.Add(-time.Minute) }, []string{"end"}},
		{"in the future", func(o *campaigns.Operation) { o.End = now.Add(time.Hour) }, []string{"end"}},
		{"no unit nor start", func(o *campaigns.Operation) { o.Unit, o.Start = "", time.Time{} }, []string{"start", "unit"}},
		{"too many records", func(o *campaigns.Operation) {
			o.Records = make([]string, campaigns.MaxRecords+1)
		}, []string{"records"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			tt.change(&o)
			if got := badFields(t, o.Validate(now)); !slices.Equal(got, tt.bad) {
				t.Errorf("bad fields %v, want %v", got, tt.bad)
			}
		})
	}
}
