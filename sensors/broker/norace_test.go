//go:build !race

package broker

// raceEnabled reports whether the tests run under the race detector, which
// slows the clients so much that timing measurements mean nothing.
const raceEnabled = false
