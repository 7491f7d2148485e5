package monitoring

// SetCheckpointEvery sets how many events apart the log's checkpoints are,
// until the test ends.
func SetCheckpointEvery(t interface{ Cleanup(func()) }, n int64) {
	prev := checkpointEvery
	checkpointEvery = n
	t.Cleanup(func() { checkpointEvery = prev })
}

// SetCheckpointPartBytes sets the most encoded station states in one part
// of a checkpoint, until the test ends.
func SetCheckpointPartBytes(t interface{ Cleanup(func()) }, n int) {
	prev := checkpointPartBytes
	checkpointPartBytes = n
	t.Cleanup(func() { checkpointPartBytes = prev })
}
