package custody

import "github.com/baoshui/baoshui/server/enforcement"

// Tally totals a set of items: the item lines, the pieces (Σ Quantity), the
// values recorded in the field (Σ RecordedValueFen), the latest appraisals
// (Σ AppraisedValueFen, 0 for an item never appraised) and the auction
// proceeds (Σ ProceedsFen).
type Tally struct {
	Lines             int   `json:"lines"`
	Items             int64 `json:"items"`
	RecordedValueFen  int64 `json:"recorded_value_fen"`
	AppraisedValueFen int64 `json:"appraised_value_fen"`
	ProceedsFen       int64 `json:"proceeds_fen"`
}

func (t *Tally) add(it Item) {
	t.Lines++
	t.Items += it.Quantity
	t.RecordedValueFen += it.RecordedValueFen
	t.AppraisedValueFen += it.AppraisedValueFen
	t.ProceedsFen += it.ProceedsFen
}

// Summary is the Tally of all items and of the items in each state.
type Summary struct {
	Total   Tally           `json:"total"`
	ByState map[State]Tally `json:"by_state"`
}

// Summarize totals items, in all and by state. ByState has an entry for
// every state of States (a zero Tally when no item is in it) and one for
// any other state an item carries; the entries add up to Total.
func Summarize(items []Item) Summary {
	s := Summary{ByState: make(map[State]Tally, len(States))}
	for _, st := range States {
		s.ByState[st] = Tally{}
	}
	for _, it := range items {
		s.Total.add(it)
		t := s.ByState[it.State]
		t.add(it)
		s.ByState[it.State] = t
	}
	return s
}

// Reconciliation compares the items in custody with the enforcement totals
// of the same records (or period): what the field records say was
// confiscated (Totals*), what custody holds or held (Custody*, every state
// counted) and the difference (NotReceived* = totals − custody).
type Reconciliation struct {
	TotalsItems         int64 `json:"totals_items"`
	TotalsValueFen      int64 `json:"totals_value_fen"`
	CustodyItems        int64 `json:"custody_items"`
	CustodyValueFen     int64 `json:"custody_value_fen"`
	NotReceivedItems    int64 `json:"not_received_items"`
	NotReceivedValueFen int64 `json:"not_received_value_fen"`
	Balanced            bool  `json:"balanced"`
}

// Reconcile compares the custody summary s with the enforcement totals t.
// CustodyItems and CustodyValueFen are s.Total.Items and
// s.Total.RecordedValueFen; the totals are t.ItemsConfiscated and
// t.ConfiscatedValueFen. Balanced holds when both differences are 0. A
// negative difference (more in custody than in the totals, e.g. an item of
// a record voided since it was received) is reported as it is and is not
// balanced.
func Reconcile(s Summary, t enforcement.Totals) Reconciliation {
	r := Reconciliation{
		TotalsItems:     t.ItemsConfiscated,
		TotalsValueFen:  t.ConfiscatedValueFen,
		CustodyItems:    s.Total.Items,
		CustodyValueFen: s.Total.RecordedValueFen,
	}
	r.NotReceivedItems = r.TotalsItems - r.CustodyItems
	r.NotReceivedValueFen = r.TotalsValueFen - r.CustodyValueFen
	r.Balanced = r.NotReceivedItems == 0 && r.NotReceivedValueFen == 0
	return r
}
