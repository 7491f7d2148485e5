package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/baoshui/baoshui/server/enforcement"
)

// TotalsPipeline computes the enforcement totals with $match/$group
// pipelines run by the engine over the current, non-void revisions, with
// days as the store wrote them (Asia/Shanghai). It scans the collection:
// it is the independent check of the in-memory read model and the baseline
// of the totals benchmark, never an interactive path. Each $group has one
// accumulator, the only form FerretDB computes correctly (DESIGN.md §2).
func (s *Store) TotalsPipeline(ctx context.Context, from, to enforcement.Day, unitRoot, campaign string) (enforcement.Totals, error) {
	base := func(kind, dayField string) bson.D {
		m := bson.D{
			{Key: "superseded", Value: false},
			{Key: "voided", Value: false},
			{Key: "kind", Value: kind},
			{Key: dayField, Value: bson.D{{Key: "$gte", Value: from.String()}, {Key: "$lt", Value: to.String()}}},
		}
		if unitRoot != "" {
			m = append(m, bson.E{Key: "unit_path", Value: unitRoot})
		}
		if campaign != "" {
			m = append(m, bson.E{Key: "campaign", Value: campaign})
		}
		return m
	}
	sum := func(kind, dayField, groupBy, field string) (map[string]int64, error) {
		var acc any = "$" + field
		if field == "" {
			acc = 1
		}
		var id any = nil
		if groupBy != "" {
			id = "$" + groupBy
		}
		pipe := bson.A{
			bson.D{{Key: "$match", Value: base(kind, dayField)}},
			bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: id}, {Key: "n", Value: bson.D{{Key: "$sum", Value: acc}}}}}},
		}
		cur, err := s.db.Collection(colRecords).Aggregate(ctx, pipe)
		if err != nil {
			return nil, classify(err)
		}
		var rows []struct {
			ID any   `bson:"_id"`
			N  int64 `bson:"n"`
		}
		if err := cur.All(ctx, &rows); err != nil {
			return nil, classify(err)
		}
		out := map[string]int64{}
		for _, r := range rows {
			out[fmt.Sprint(r.ID)] += r.N
		}
		return out, nil
	}
	one := func(kind, dayField, field string) (int64, error) {
		m, err := sum(kind, dayField, "", field)
		var n int64
		for _, v := range m {
			n += v
		}
		return n, err
	}
	t := enforcement.Totals{ByActivity: map[enforcement.Activity]int64{}}
	for _, a := range enforcement.Activities {
		t.ByActivity[a] = 0
	}
	byAct, err := sum("expulsion", "day", "activity", "persons")
	if err != nil {
		return t, fmt.Errorf("store: totals pipeline: %w", err)
	}
	for a, n := range byAct {
		t.ByActivity[enforcement.Activity(a)] = n
		t.PersonsCleared += n
	}
	steps := []struct {
		dst             *int64
		kind, day, what string
	}{
		{&t.GrazingStopped, "grazing", "day", ""},
		{&t.VehiclesCleared, "vehicle", "day", "vehicles"},
		{&t.ItemsConfiscated, "confiscation", "day", "items_quantity"},
		{&t.ConfiscatedValueFen, "confiscation", "day", "value_fen"},
		{&t.CasesFiled, "case", "filed_day", ""},
		{&t.FinesFen, "case", "decided_day", "fine_fen"},
	}
	for _, st := range steps {
		if *st.dst, err = one(st.kind, st.day, st.what); err != nil {
			return t, fmt.Errorf("store: totals pipeline: %w", err)
		}
	}
	return t, nil
}
