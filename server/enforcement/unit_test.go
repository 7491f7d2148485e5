package enforcement_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/baoshui/baoshui/server/enforcement"
)

// testTree: district ─┬─ town-a ── village-a1
//
//	└─ town-b ── village-b1
func testTree() *enforcement.UnitTree {
	t := enforcement.NewUnitTree()
	for _, u := range []enforcement.Unit{
		{ID: "district", Name: "密云区保水队", Tier: enforcement.TierDistrict},
		{ID: "town-a", Name: "A 镇", Tier: enforcement.TierTown, Parent: "district"},
		{ID: "town-b", Name: "B 镇", Tier: enforcement.TierTown, Parent: "district"},
		{ID: "village-a1", Name: "A1 村", Tier: enforcement.TierVillage, Parent: "town-a"},
		{ID: "village-b1", Name: "B1 村", Tier: enforcement.TierVillage, Parent: "town-b"},
	} {
		t.Put(u)
	}
	return t
}

func TestCheckUnit(t *testing.T) {
	tree := testTree()
	cases := []struct {
		name    string
		unit    enforcement.Unit
		wantErr string // "" = valid; else the field the error starts with
		unknown bool   // the error wraps ErrUnknownUnit
	}{
		{"district without parent", enforcement.Unit{ID: "district-2", Name: "d", Tier: enforcement.TierDistrict}, "", false},
		{"district with a parent", enforcement.Unit{ID: "district-2", Name: "d", Tier: enforcement.TierDistrict, Parent: "district"}, "parent", false},
		{"town under district", enforcement.Unit{ID: "town-c", Name: "c", Tier: enforcement.TierTown, Parent: "district"}, "", false},
		{"town under town", enforcement.Unit{ID: "town-c", Name: "c", Tier: enforcement.TierTown, Parent: "town-a"}, "parent", false},
		{"town under village", enforcement.Unit{ID: "town-c", Name: "c", Tier: enforcement.TierTown, Parent: "village-a1"}, "parent", false},
		{"town without parent", enforcement.Unit{ID: "town-c", Name: "c", Tier: enforcement.TierTown}, "parent", true},
		{"village under town", enforcement.Unit{ID: "village-a2", Name: "v", Tier: enforcement.TierVillage, Parent: "town-a"}, "", false},
		{"village under district rejected", enforcement.Unit{ID: "village-x", Name: "v", Tier: enforcement.TierVillage, Parent: "district"}, "parent", false},
		{"village under village", enforcement.Unit{ID: "village-x", Name: "v", Tier: enforcement.TierVillage, Parent: "village-a1"}, "parent", false},
		{"village with unknown parent", enforcement.Unit{ID: "village-x", Name: "v", Tier: enforcement.TierVillage, Parent: "town-zz"}, "parent", true},
		{"town with unknown parent", enforcement.Unit{ID: "town-x", Name: "t", Tier: enforcement.TierTown, Parent: "county"}, "parent", true},
		{"bad id with colon", enforcement.Unit{ID: "town:x", Name: "t", Tier: enforcement.TierTown, Parent: "district"}, "id", false},
		{"bad id with slash", enforcement.Unit{ID: "town/x", Name: "t", Tier: enforcement.TierTown, Parent: "district"}, "id", false},
		{"empty id", enforcement.Unit{Name: "t", Tier: enforcement.TierTown, Parent: "district"}, "id", false},
		{"id too long", enforcement.Unit{ID: strings.Repeat("x", 65), Name: "t", Tier: enforcement.TierTown, Parent: "district"}, "id", false},
		{"empty name", enforcement.Unit{ID: "town-x", Tier: enforcement.TierTown, Parent: "district"}, "name", false},
		{"name of 500 Chinese characters", enforcement.Unit{ID: "town-x", Name: strings.Repeat("镇", 500), Tier: enforcement.TierTown, Parent: "district"}, "", false},
		{"name of 501 characters", enforcement.Unit{ID: "town-x", Name: strings.Repeat("镇", 501), Tier: enforcement.TierTown, Parent: "district"}, "name", false},
		{"unknown tier", enforcement.Unit{ID: "county-x", Name: "c", Tier: "county", Parent: "district"}, "tier", false},
		{"empty tier", enforcement.Unit{ID: "x", Name: "c"}, "tier", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := tree.CheckUnit(c.unit)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckUnit: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckUnit accepted %+v", c.unit)
			}
			if !strings.HasPrefix(err.Error(), c.wantErr+":") {
				t.Errorf("error %q does not name field %q", err, c.wantErr)
			}
			if got := errors.Is(err, enforcement.ErrUnknownUnit); got != c.unknown {
				t.Errorf("errors.Is(err, ErrUnknownUnit) = %v, want %v (err: %v)", got, c.unknown, err)
			}
		})
	}
}

func TestUnitTreeWithin(t *testing.T) {
	tree := testTree()
	cases := []struct {
		id, root string
		want     bool
	}{
		{"village-a1", "district", true},
		{"village-a1", "town-a", true},
		{"village-a1", "village-a1", true},
		{"town-a", "town-a", true},
		{"district", "district", true},
		{"town-a", "district", true},
		{"village-a1", "town-b", false},
		{"village-b1", "town-a", false},
		{"village-a1", "village-b1", false},
		{"town-a", "village-a1", false},
		{"district", "town-a", false},
		{"ghost", "district", false},
		{"village-a1", "ghost", false},
		{"", "district", false},
		{"", "", false},
		{"village-a1", "", false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s in %s", c.id, c.root), func(t *testing.T) {
			if got := tree.Within(c.id, c.root); got != c.want {
				t.Errorf("Within(%q, %q) = %v, want %v", c.id, c.root, got, c.want)
			}
		})
	}
	t.Run("unknown id within itself", func(t *testing.T) {
		if tree.Within("ghost", "ghost") {
			t.Errorf(`Within("ghost", "ghost") = true for an id the tree does not hold`)
		}
	})
}

func TestUnitTreePath(t *testing.T) {
	tree := testTree()
	cases := []struct {
		id   string
		want []string
	}{
		{"district", []string{"district"}},
		{"town-b", []string{"district", "town-b"}},
		{"village-a1", []string{"district", "town-a", "village-a1"}},
		{"village-b1", []string{"district", "town-b", "village-b1"}},
		{"", nil},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			if got := tree.Path(c.id); !slices.Equal(got, c.want) {
				t.Errorf("Path(%q) = %q, want %q", c.id, got, c.want)
			}
		})
	}
}

func TestUnitTreeGetAll(t *testing.T) {
	tree := testTree()
	u, ok := tree.Get("town-a")
	if !ok || u.Parent != "district" || u.Tier != enforcement.TierTown {
		t.Errorf("Get(town-a) = %+v, %v", u, ok)
	}
	if _, ok := tree.Get("ghost"); ok {
		t.Error("Get(ghost) found a unit")
	}
	var ids []string
	for _, u := range tree.All() {
		ids = append(ids, u.ID)
	}
	if want := []string{"district", "town-a", "town-b", "village-a1", "village-b1"}; !slices.Equal(ids, want) {
		t.Errorf("All() ids = %q, want %q", ids, want)
	}
	// Put replaces.
	tree.Put(enforcement.Unit{ID: "town-a", Name: "renamed", Tier: enforcement.TierTown, Parent: "district"})
	if u, _ := tree.Get("town-a"); u.Name != "renamed" || len(tree.All()) != 5 {
		t.Errorf("Put did not replace: %+v, %d units", u, len(tree.All()))
	}
}

// TestUnitTreeCycle: a corrupt tree (a cycle put without CheckUnit) must not
// hang Within or Path.
func TestUnitTreeCycle(t *testing.T) {
	tree := enforcement.NewUnitTree()
	tree.Put(enforcement.Unit{ID: "a", Name: "a", Tier: enforcement.TierTown, Parent: "b"})
	tree.Put(enforcement.Unit{ID: "b", Name: "b", Tier: enforcement.TierTown, Parent: "a"})
	if tree.Within("a", "c") {
		t.Error(`Within("a", "c") = true in a tree without c`)
	}
	if p := tree.Path("a"); len(p) == 0 || len(p) > 10 {
		t.Errorf("Path(a) = %q", p)
	}
}

func TestUnitTreeConcurrent(t *testing.T) {
	tree := testTree()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := range 100 {
				tree.Put(enforcement.Unit{ID: fmt.Sprintf("village-%d-%d", i, j), Name: "v", Tier: enforcement.TierVillage, Parent: "town-a"})
			}
		}()
		go func() {
			defer wg.Done()
			for range 100 {
				if !tree.Within("village-a1", "district") {
					t.Error("Within(village-a1, district) = false")
					return
				}
				_ = tree.Path("village-b1")
				_ = tree.All()
			}
		}()
	}
	wg.Wait()
	if n := len(tree.All()); n != 5+400 {
		t.Errorf("%d units after concurrent puts, want %d", n, 405)
	}
}
