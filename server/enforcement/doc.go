// Package enforcement holds the field-record domain of Baoshui: the record
// kinds officers capture on patrol, their validation, the unit tree of the
// patrol teams and the enforcement totals the district reports every year.
//
// It is pure domain code: it imports no database, HTTP or MQTT driver. The
// storage adapter (server/store) and the HTTP API (server/api) depend on it,
// never the other way round.
package enforcement
