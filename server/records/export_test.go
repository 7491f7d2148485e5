package records

import "time"

// SetHoleGrace shortens the wait for a claimed revision that never comes,
// for the duration of a test.
func SetHoleGrace(d time.Duration) (restore func()) {
	old := holeGrace
	holeGrace = d
	return func() { holeGrace = old }
}
