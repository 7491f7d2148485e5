package auth

// Action is something a request asks to do; each API route names one.
type Action string

// The actions of the API.
const (
	ActRecordCreate  Action = "record.create"
	ActRecordRead    Action = "record.read"
	ActRecordCorrect Action = "record.correct"
	ActRecordVoid    Action = "record.void"
	ActTotalsRead    Action = "totals.read"
	ActUnitsRead     Action = "units.read"
	ActUnitsWrite    Action = "units.write"
	ActUsersRead     Action = "users.read"
	ActUsersWrite    Action = "users.write"
	ActDeviceOwn     Action = "devices.register"
	ActDevicesRead   Action = "devices.read"
	ActAuditVerify   Action = "audit.verify"
	ActSelfRead      Action = "self.read"
	ActZonesRead     Action = "zones.read"
	ActZonesWrite    Action = "zones.write"
	// ActStationsRead: see the monitoring stations, their readings, water
	// quality and alerts.
	ActStationsRead Action = "stations.read"
	// ActStationsWrite: create and change stations, issue device
	// credentials, inspect quarantined messages.
	ActStationsWrite Action = "stations.write"
	// ActAlertsAck: acknowledge an alert.
	ActAlertsAck Action = "alerts.ack"
	// ActCasesRead: see the administrative penalty cases and their
	// deadlines.
	ActCasesRead Action = "cases.read"
	// ActCasesAct: file a case and take steps of its procedure; package
	// cases then decides which role may take which step (an officer never
	// decides).
	ActCasesAct Action = "cases.act"
	// ActCustodyRead: see the confiscated items in custody.
	ActCustodyRead Action = "custody.read"
	// ActCustodyAct: take items into custody and record their custody
	// steps; package custody then decides which role may take which step.
	ActCustodyAct Action = "custody.act"
	// ActCampaignsRead: see campaigns, joint operations and their reports.
	ActCampaignsRead Action = "campaigns.read"
	// ActCampaignsWrite: define campaigns and their targets.
	ActCampaignsWrite Action = "campaigns.write"
	// ActOperationsWrite: record joint operations of teams in scope.
	ActOperationsWrite Action = "operations.write"
	// ActPublicityRead: export the enforcement information and "double
	// publicity" lists of penalty decisions.
	ActPublicityRead Action = "publicity.read"
)

// Actions lists every action, for the policy table test.
var Actions = []Action{ActRecordCreate, ActRecordRead, ActRecordCorrect, ActRecordVoid, ActTotalsRead,
	ActUnitsRead, ActUnitsWrite, ActUsersRead, ActUsersWrite, ActDeviceOwn, ActDevicesRead, ActAuditVerify, ActSelfRead, ActZonesRead, ActZonesWrite,
	ActStationsRead, ActStationsWrite, ActAlertsAck, ActCasesRead, ActCasesAct,
	ActCustodyRead, ActCustodyAct, ActCampaignsRead, ActCampaignsWrite, ActOperationsWrite, ActPublicityRead}

// grants is the whole role policy: which role may attempt which action.
// Object-level checks (whose records, which subtree) follow in Scope.
var grants = map[Role]map[Action]bool{
	RoleOfficer: set(ActRecordCreate, ActRecordRead, ActRecordCorrect, ActRecordVoid, ActTotalsRead,
		ActUnitsRead, ActDeviceOwn, ActDevicesRead, ActSelfRead, ActZonesRead, ActStationsRead, ActCasesRead, ActCasesAct,
		ActCustodyRead, ActCustodyAct, ActCampaignsRead),
	RoleSupervisor: set(ActRecordCreate, ActRecordRead, ActRecordCorrect, ActRecordVoid, ActTotalsRead,
		ActUnitsRead, ActDeviceOwn, ActDevicesRead, ActSelfRead, ActUsersRead, ActZonesRead, ActStationsRead,
		ActCasesRead, ActCasesAct, ActCustodyRead, ActCustodyAct, ActCampaignsRead, ActOperationsWrite),
	RoleOffice: set(ActRecordCreate, ActRecordRead, ActRecordCorrect, ActRecordVoid, ActTotalsRead,
		ActUnitsRead, ActUsersRead, ActAuditVerify, ActSelfRead, ActZonesRead, ActStationsRead, ActAlertsAck,
		ActCasesRead, ActCasesAct, ActCustodyRead, ActCustodyAct, ActCampaignsRead, ActCampaignsWrite,
		ActOperationsWrite, ActPublicityRead),
	RoleAdmin: set(ActUnitsRead, ActUnitsWrite, ActUsersRead, ActUsersWrite, ActDevicesRead,
		ActAuditVerify, ActSelfRead, ActTotalsRead, ActZonesRead, ActZonesWrite, ActStationsRead, ActStationsWrite, ActAlertsAck,
		ActCasesRead, ActCasesAct, ActCustodyRead, ActCustodyAct, ActCampaignsRead, ActCampaignsWrite,
		ActOperationsWrite, ActPublicityRead),
	RoleDevice: set(),
}

func set(as ...Action) map[Action]bool {
	m := make(map[Action]bool, len(as))
	for _, a := range as {
		m[a] = true
	}
	return m
}

// Tree answers whether one unit lies in the subtree of another; the unit
// tree of the enforcement domain implements it.
type Tree interface {
	Within(id, root string) bool
}

// Object is the part of a record the policy looks at.
type Object struct {
	Unit      string
	CreatedBy string
}

// Allow is the one policy function. It reports whether p may perform a, and,
// when obj is not nil, whether p may do so on that object:
//   - officers see and create their own team's records and amend only
//     those they created themselves;
//   - supervisors see, create and amend the records of their unit's subtree;
//   - the office and admins act on the whole district (admins hold no
//     record actions at all, see grants);
//   - a registered device (obj.CreatedBy is its owner) is seen by its owner
//     and by admins.
func Allow(p Principal, a Action, obj *Object, tree Tree) bool {
	if !grants[p.Role][a] {
		return false
	}
	if obj == nil {
		return true
	}
	if a == ActDevicesRead {
		// Phones are personal: their owner sees them, admins see all.
		return p.Role == RoleAdmin || obj.CreatedBy == p.Username
	}
	switch p.Role {
	case RoleOffice, RoleAdmin:
		return true
	case RoleSupervisor:
		return tree.Within(obj.Unit, p.Unit)
	case RoleOfficer:
		if obj.Unit != p.Unit {
			return false
		}
		if a == ActRecordCorrect || a == ActRecordVoid {
			return obj.CreatedBy == p.Username
		}
		return true
	}
	return false
}

// ScopeRoot is the top of the unit subtree whose data p may read: "" for the
// whole district, otherwise the principal's unit.
func ScopeRoot(p Principal) string {
	switch p.Role {
	case RoleOffice, RoleAdmin:
		return ""
	}
	return p.Unit
}
