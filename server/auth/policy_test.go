package auth_test

import (
	"fmt"
	"testing"

	"github.com/baoshui/baoshui/server/auth"
)

// fakeTree is a unit tree given as child → parent.
type fakeTree map[string]string

func (t fakeTree) Within(id, root string) bool {
	for i := 0; id != "" && i < 10; i++ {
		if _, known := t[id]; !known {
			return false
		}
		if id == root {
			return true
		}
		id = t[id]
	}
	return false
}

// district ─┬─ town-a ── village-a1
//
//	└─ town-b ── village-b1
var tree = fakeTree{
	"district":   "",
	"town-a":     "district",
	"town-b":     "district",
	"village-a1": "town-a",
	"village-b1": "town-b",
}

// everything says every unit lies within every other: officers must not
// consult the tree at all.
type everything struct{}

func (everything) Within(string, string) bool { return true }

// TestAllowMatrix is the role policy written out by hand: a change to the
// grants must change this table too.
func TestAllowMatrix(t *testing.T) {
	const Y, N = true, false
	cols := []auth.Action{
		auth.ActRecordCreate, auth.ActRecordRead, auth.ActRecordCorrect, auth.ActRecordVoid,
		auth.ActTotalsRead, auth.ActUnitsRead, auth.ActUnitsWrite, auth.ActUsersRead, auth.ActUsersWrite,
		auth.ActDeviceOwn, auth.ActDevicesRead, auth.ActAuditVerify, auth.ActSelfRead,
		auth.ActZonesRead, auth.ActZonesWrite, auth.ActStationsRead, auth.ActStationsWrite, auth.ActAlertsAck,
		auth.ActCasesRead, auth.ActCasesAct,
		auth.ActCustodyRead, auth.ActCustodyAct, auth.ActCampaignsRead, auth.ActCampaignsWrite, auth.ActOperationsWrite,
		auth.ActPublicityRead,
	}
	matrix := map[auth.Role][]bool{
		//                    create read correct void totals units.r units.w users.r users.w dev.reg dev.r audit self zones.r zones.w st.r st.w ack cases.r cases.act cust.r cust.act camp.r camp.w ops.w pub.r
		auth.RoleOfficer:    {Y, Y, Y, Y, Y, Y, N, N, N, Y, Y, N, Y, Y, N, Y, N, N, Y, Y, Y, Y, Y, N, N, N},
		auth.RoleSupervisor: {Y, Y, Y, Y, Y, Y, N, Y, N, Y, Y, N, Y, Y, N, Y, N, N, Y, Y, Y, Y, Y, N, Y, N},
		auth.RoleOffice:     {Y, Y, Y, Y, Y, Y, N, Y, N, N, N, Y, Y, Y, N, Y, N, Y, Y, Y, Y, Y, Y, Y, Y, Y},
		auth.RoleAdmin:      {N, N, N, N, Y, Y, Y, Y, Y, N, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y},
		auth.RoleDevice:     {N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N},
		"":                  {N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N},
		"root":              {N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N},
		"Officer":           {N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N},
	}
	// The table covers every role and every action there is.
	if len(cols) != len(auth.Actions) {
		t.Fatalf("the matrix has %d actions, auth.Actions %d: add the new ones", len(cols), len(auth.Actions))
	}
	for _, a := range auth.Actions {
		found := false
		for _, c := range cols {
			found = found || c == a
		}
		if !found {
			t.Errorf("action %q is not in the matrix", a)
		}
	}
	for _, r := range auth.Roles {
		if _, ok := matrix[r]; !ok {
			t.Errorf("role %q is not in the matrix", r)
		}
	}
	for role, row := range matrix {
		for i, a := range cols {
			t.Run(fmt.Sprintf("%s/%s", role, a), func(t *testing.T) {
				p := auth.Principal{Username: "u", Role: role, Unit: "town-a"}
				if got := auth.Allow(p, a, nil, tree); got != row[i] {
					t.Errorf("Allow(%s, %s, nil) = %v, want %v", role, a, got, row[i])
				}
			})
		}
	}
}

func TestAllowObject(t *testing.T) {
	alice := auth.Principal{Username: "alice", Role: auth.RoleOfficer, Unit: "town-a"}
	villager := auth.Principal{Username: "vic", Role: auth.RoleOfficer, Unit: "village-a1"}
	supTown := auth.Principal{Username: "sam", Role: auth.RoleSupervisor, Unit: "town-a"}
	supDistrict := auth.Principal{Username: "dora", Role: auth.RoleSupervisor, Unit: "district"}
	office := auth.Principal{Username: "olga", Role: auth.RoleOffice, Unit: "district"}
	admin := auth.Principal{Username: "root", Role: auth.RoleAdmin, Unit: "district"}
	device := auth.Principal{Username: "phone-1", Role: auth.RoleDevice, Unit: "town-a"}

	obj := func(unit, by string) *auth.Object { return &auth.Object{Unit: unit, CreatedBy: by} }
	cases := []struct {
		name string
		p    auth.Principal
		a    auth.Action
		obj  *auth.Object
		tree auth.Tree
		want bool
	}{
		// Officers: their own team's records, exactly; amend only their own.
		{"officer reads own team's record", alice, auth.ActRecordRead, obj("town-a", "bob"), tree, true},
		{"officer reads own record", alice, auth.ActRecordRead, obj("town-a", "alice"), tree, true},
		{"officer reads another town's record", alice, auth.ActRecordRead, obj("town-b", "bob"), tree, false},
		{"officer reads own village's record (exact unit only)", alice, auth.ActRecordRead, obj("village-a1", "vic"), tree, false},
		{"officer reads the district's record", alice, auth.ActRecordRead, obj("district", "dora"), tree, false},
		{"village officer reads parent town's record", villager, auth.ActRecordRead, obj("town-a", "alice"), tree, false},
		{"officer ignores a tree that says yes", alice, auth.ActRecordRead, obj("village-a1", "vic"), everything{}, false},
		{"officer creates in own team", alice, auth.ActRecordCreate, obj("town-a", "alice"), tree, true},
		{"officer creates in another team", alice, auth.ActRecordCreate, obj("town-b", "alice"), tree, false},
		{"officer creates in own village", alice, auth.ActRecordCreate, obj("village-a1", "alice"), tree, false},
		{"officer corrects own record", alice, auth.ActRecordCorrect, obj("town-a", "alice"), tree, true},
		{"officer corrects a teammate's record", alice, auth.ActRecordCorrect, obj("town-a", "bob"), tree, false},
		{"officer corrects a record nobody created", alice, auth.ActRecordCorrect, obj("town-a", ""), tree, false},
		{"officer corrects own record in another team", alice, auth.ActRecordCorrect, obj("town-b", "alice"), tree, false},
		{"officer voids own record", alice, auth.ActRecordVoid, obj("town-a", "alice"), tree, true},
		{"officer voids a teammate's record", alice, auth.ActRecordVoid, obj("town-a", "bob"), tree, false},
		{"officer writes a unit in own team", alice, auth.ActUnitsWrite, obj("town-a", "alice"), tree, false},

		// Supervisors: their unit's subtree, anyone's records.
		{"supervisor reads own unit", supTown, auth.ActRecordRead, obj("town-a", "alice"), tree, true},
		{"supervisor reads within subtree", supTown, auth.ActRecordRead, obj("village-a1", "vic"), tree, true},
		{"supervisor corrects within subtree", supTown, auth.ActRecordCorrect, obj("village-a1", "vic"), tree, true},
		{"supervisor voids within subtree", supTown, auth.ActRecordVoid, obj("town-a", "alice"), tree, true},
		{"supervisor creates within subtree", supTown, auth.ActRecordCreate, obj("village-a1", "sam"), tree, true},
		{"supervisor reads outside subtree", supTown, auth.ActRecordRead, obj("town-b", "bob"), tree, false},
		{"supervisor reads another town's village", supTown, auth.ActRecordRead, obj("village-b1", "bob"), tree, false},
		{"supervisor reads parent district", supTown, auth.ActRecordRead, obj("district", "dora"), tree, false},
		{"supervisor corrects outside subtree", supTown, auth.ActRecordCorrect, obj("village-b1", "bob"), tree, false},
		{"supervisor reads unknown unit", supTown, auth.ActRecordRead, obj("ghost", "x"), tree, false},
		{"district supervisor reads any town", supDistrict, auth.ActRecordRead, obj("village-b1", "bob"), tree, true},
		{"supervisor without a users.write grant", supTown, auth.ActUsersWrite, obj("town-a", ""), tree, false},

		// The office acts on the whole district.
		{"office reads any record", office, auth.ActRecordRead, obj("village-b1", "bob"), tree, true},
		{"office corrects anyone's record", office, auth.ActRecordCorrect, obj("town-a", "alice"), tree, true},
		{"office voids anyone's record", office, auth.ActRecordVoid, obj("village-a1", "vic"), tree, true},
		{"office creates anywhere", office, auth.ActRecordCreate, obj("town-b", "olga"), tree, true},
		{"office reads a record of an unknown unit", office, auth.ActRecordRead, obj("ghost", "x"), tree, true},
		{"office still lacks units.write", office, auth.ActUnitsWrite, obj("town-a", ""), tree, false},

		// Admins administer but hold no record actions.
		{"admin reads a record", admin, auth.ActRecordRead, obj("town-a", "alice"), tree, false},
		{"admin creates a record", admin, auth.ActRecordCreate, obj("district", "root"), tree, false},
		{"admin corrects a record", admin, auth.ActRecordCorrect, obj("town-a", "root"), tree, false},
		{"admin voids a record", admin, auth.ActRecordVoid, obj("town-a", "alice"), tree, false},
		{"admin writes a unit", admin, auth.ActUnitsWrite, obj("village-b1", ""), tree, true},
		{"admin writes a user", admin, auth.ActUsersWrite, obj("town-a", ""), tree, true},

		// Devices carry telemetry only.
		{"device reads own unit's record", device, auth.ActRecordRead, obj("town-a", "phone-1"), tree, false},
		{"device creates a record", device, auth.ActRecordCreate, obj("town-a", "phone-1"), tree, false},
		{"device registers itself", device, auth.ActDeviceOwn, obj("town-a", "phone-1"), tree, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := auth.Allow(c.p, c.a, c.obj, c.tree); got != c.want {
				t.Errorf("Allow(%+v, %s, %+v) = %v, want %v", c.p, c.a, *c.obj, got, c.want)
			}
		})
	}
	// Every action is refused to every role on every object for a device,
	// and with an unknown role.
	for _, a := range auth.Actions {
		for _, p := range []auth.Principal{device, {Username: "x", Role: "root", Unit: "district"}} {
			if auth.Allow(p, a, obj(p.Unit, p.Username), tree) {
				t.Errorf("Allow(%s, %s, own object) = true", p.Role, a)
			}
		}
	}
}

func TestScopeRoot(t *testing.T) {
	cases := []struct {
		name string
		p    auth.Principal
		want string
	}{
		{"officer: own unit", auth.Principal{Username: "a", Role: auth.RoleOfficer, Unit: "town-a"}, "town-a"},
		{"village officer: own unit", auth.Principal{Username: "v", Role: auth.RoleOfficer, Unit: "village-a1"}, "village-a1"},
		{"supervisor: own unit", auth.Principal{Username: "s", Role: auth.RoleSupervisor, Unit: "town-b"}, "town-b"},
		{"office: the whole district", auth.Principal{Username: "o", Role: auth.RoleOffice, Unit: "town-a"}, ""},
		{"admin: the whole district", auth.Principal{Username: "r", Role: auth.RoleAdmin, Unit: "town-a"}, ""},
		{"device: its unit, never the whole district", auth.Principal{Username: "d", Role: auth.RoleDevice, Unit: "town-a"}, "town-a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := auth.ScopeRoot(c.p); got != c.want {
				t.Errorf("ScopeRoot(%+v) = %q, want %q", c.p, got, c.want)
			}
		})
	}
}

func TestAllowDevices(t *testing.T) {
	obj := &auth.Object{CreatedBy: "off-a"}
	for _, tc := range []struct {
		p    auth.Principal
		want bool
	}{
		{auth.Principal{Username: "off-a", Role: auth.RoleOfficer, Unit: "town-a"}, true},
		{auth.Principal{Username: "off-a2", Role: auth.RoleOfficer, Unit: "town-a"}, false},
		{auth.Principal{Username: "sup-a", Role: auth.RoleSupervisor, Unit: "town-a"}, false},
		{auth.Principal{Username: "root", Role: auth.RoleAdmin, Unit: "district"}, true},
		{auth.Principal{Username: "off-a", Role: auth.RoleOffice, Unit: "district"}, false},
	} {
		if got := auth.Allow(tc.p, auth.ActDevicesRead, obj, tree); got != tc.want {
			t.Errorf("%s (%s) reading off-a's phone: %v, want %v", tc.p.Username, tc.p.Role, got, tc.want)
		}
	}
}
