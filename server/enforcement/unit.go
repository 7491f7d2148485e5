package enforcement

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"unicode/utf8"
)

// Tier is the level of a patrol team in the three-tier organisation.
type Tier string

// The three tiers, from the top.
const (
	TierDistrict Tier = "district"
	TierTown     Tier = "town"
	TierVillage  Tier = "village"
)

// Unit is a patrol team: the district team, a town's team or a village's team.
type Unit struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	NameEN string `json:"name_en,omitempty"`
	Tier   Tier   `json:"tier"`
	Parent string `json:"parent,omitempty"`
}

// ErrUnknownUnit is returned for a unit id the tree does not hold.
var ErrUnknownUnit = errors.New("unknown unit")

// CheckUnit validates u as a child of the tree: a district has no parent, a
// town's parent is a district, a village's parent is a town.
func (t *UnitTree) CheckUnit(u Unit) error {
	if !ValidID(u.ID) {
		return fmt.Errorf("id: must be 1 to %d letters, digits, '.', '_' or '-'", MaxIDLength)
	}
	if u.Name == "" || utf8.RuneCountInString(u.Name) > MaxTextRunes {
		return errors.New("name: required")
	}
	want := map[Tier]Tier{TierTown: TierDistrict, TierVillage: TierTown}
	switch u.Tier {
	case TierDistrict:
		if u.Parent != "" {
			return errors.New("parent: a district team has no parent")
		}
		return nil
	case TierTown, TierVillage:
		p, ok := t.Get(u.Parent)
		if !ok {
			return fmt.Errorf("parent: %w %q", ErrUnknownUnit, u.Parent)
		}
		if p.Tier != want[u.Tier] {
			return fmt.Errorf("parent: a %s team's parent must be a %s team", u.Tier, want[u.Tier])
		}
		return nil
	}
	return errors.New("tier: must be district, town or village")
}

// UnitTree is the tree of patrol teams. It is safe for concurrent use.
type UnitTree struct {
	mu    sync.RWMutex
	units map[string]Unit
}

// NewUnitTree returns an empty tree.
func NewUnitTree() *UnitTree { return &UnitTree{units: map[string]Unit{}} }

// Put adds or replaces u. The caller has checked it with CheckUnit.
func (t *UnitTree) Put(u Unit) {
	t.mu.Lock()
	t.units[u.ID] = u
	t.mu.Unlock()
}

// Get returns the unit with id.
func (t *UnitTree) Get(id string) (Unit, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	u, ok := t.units[id]
	return u, ok
}

// All returns every unit, ordered by id.
func (t *UnitTree) All() []Unit {
	t.mu.RLock()
	out := make([]Unit, 0, len(t.units))
	for _, u := range t.units {
		out = append(out, u)
	}
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Within reports whether unit id lies in the subtree rooted at root (a unit
// is within its own subtree). Unknown ids are within nothing.
func (t *UnitTree) Within(id, root string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for depth := 0; id != "" && depth < 8; depth++ {
		u, ok := t.units[id]
		if !ok {
			return false
		}
		if id == root {
			return true
		}
		id = u.Parent
	}
	return false
}

// Path returns the ids from the top of the tree down to id, inclusive.
func (t *UnitTree) Path(id string) []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var path []string
	for depth := 0; id != "" && depth < 8; depth++ {
		path = append([]string{id}, path...)
		u, ok := t.units[id]
		if !ok {
			break
		}
		id = u.Parent
	}
	return path
}
