//go:build !race

package simulate_test

// raceEnabled reports whether the tests run under the race detector, which
// slows the ingest's parser about fivefold.
const raceEnabled = false
