package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/baoshui/baoshui/server/campaigns"
	"github.com/baoshui/baoshui/server/custody"
	"github.com/baoshui/baoshui/server/demo"
	"github.com/baoshui/baoshui/server/enforcement"
)

// demoOperations is how many joint operations the demo year records.
const demoOperations = 3

// loadDemoLaw loads what the demo year holds beyond its records: the 100-day
// campaign with illustrative targets, the procedure of every case
// (demo.CaseHistories, imported in number order), the confiscated items
// taken into custody and stored at their team's station, and a few joint
// operations of the campaign with the public security bureau and the water
// authority, each listing the records its team made that day.
func loadDemoLaw(ctx context.Context, a *App, y demo.Year) error {
	const actor = "demo"
	_, _, err := a.Campaigns.PutCampaign(ctx, actor, 0, campaigns.Campaign{ID: demo.Campaign, Name: "密云水库百日整治行动（示意）",
		From: demo.CampaignFrom, To: demo.CampaignTo,
		Targets: map[string]int64{"persons_cleared": 3000, "vehicles_cleared": 400, "items_confiscated": 900, "cases_filed": 150},
		Note:    "Illustrative: the real dates and targets are not in the 2020 report."})
	if err != nil {
		return fmt.Errorf("demo campaign: %w", err)
	}
	histories, err := demo.CaseHistories(y, a.Cases.Rules(), time.Now())
	if err != nil {
		return fmt.Errorf("demo cases: %w", err)
	}
	for _, c := range histories {
		if err := a.Cases.Import(ctx, actor, c); err != nil {
			return fmt.Errorf("demo cases: %w", err)
		}
	}
	if err := demoCustody(ctx, a, y); err != nil {
		return fmt.Errorf("demo custody: %w", err)
	}
	if err := demoJointOperations(ctx, a, y); err != nil {
		return fmt.Errorf("demo operations: %w", err)
	}
	return nil
}

// demoCustody takes every confiscated item into custody two hours after its
// confiscation, by the officer who confiscated it, and stores it at the
// team's station the next morning.
func demoCustody(ctx context.Context, a *App, y demo.Year) error {
	names := unitNames(y)
	for _, r := range y.Records {
		if r.Kind != enforcement.KindConfiscation || len(r.Officers) == 0 {
			continue
		}
		who := custody.Actor{ID: r.Officers[0], Role: custody.RoleOfficer}
		rc, err := a.Custody.Receive(ctx, who, r.ID, nil, "", "", r.ObservedAt.Add(2*time.Hour), nil)
		if err != nil {
			return err
		}
		y, m, d := r.ObservedAt.In(enforcement.Shanghai).Date()
		storedAt := time.Date(y, m, d+1, 9, 0, 0, 0, enforcement.Shanghai)
		for _, it := range rc.Received {
			_, _, err := a.Custody.Step(ctx, who, it.ID, 1, custody.Step{Action: custody.ActionStore, At: storedAt,
				Location: names[r.Unit] + "罚没物品库"})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// demoJointOperations records, for the campaign, the days on which one
// team made the most incident records as joint operations with the
// district public security bureau and the water authority.
func demoJointOperations(ctx context.Context, a *App, y demo.Year) error {
	type key struct {
		unit string
		day  enforcement.Day
	}
	groups := map[key][]enforcement.Record{}
	for _, r := range y.Records {
		if r.Campaign != demo.Campaign || r.Kind == enforcement.KindPatrol || r.Kind == enforcement.KindCase {
			continue
		}
		k := key{r.Unit, enforcement.DayOf(r.ObservedAt)}
		groups[k] = append(groups[k], r)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, z key) int {
		return cmp.Or(cmp.Compare(len(groups[z]), len(groups[x])), cmp.Compare(x.day, z.day), cmp.Compare(x.unit, z.unit))
	})
	units := unitNames(y)
	for i, k := range keys[:min(demoOperations, len(keys))] {
		recs := groups[k]
		o := campaigns.Operation{ID: fmt.Sprintf("demo-op-%d", i+1), Name: "保水联合执法行动（示意）", Campaign: demo.Campaign,
			Unit: k.unit, Start: recs[0].ObservedAt.Add(-time.Hour), End: recs[len(recs)-1].ObservedAt.Add(time.Hour),
			Agencies: []string{units[k.unit], "北京市公安局密云分局", "密云区水务局"}}
		for _, r := range recs {
			o.Records = append(o.Records, r.ID)
		}
		if _, _, err := a.Campaigns.PutOperation(ctx, "demo", 0, o); err != nil {
			return err
		}
	}
	return nil
}

// unitNames maps the demo year's unit ids to their names.
func unitNames(y demo.Year) map[string]string {
	names := make(map[string]string, len(y.Units))
	for _, u := range y.Units {
		names[u.ID] = u.Name
	}
	return names
}
