package monitoring

// SetCheckpointEvery sets how many events apart the log's checkpoints are,
// until the test ends.
func SetCheckpointEvery(t interface{ Cleanup(func()) }, n int64) {
	prev := checkpointEvery
	checkpointEvery = n
	t.Cleanup(func() { checkpointEvery = prev })
}
