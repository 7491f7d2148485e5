package monitoring

import "context"

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

// WriteCheckpoint stores a checkpoint of the alert state under number n,
// as the log does every checkpointEvery events.
func (s *Service) WriteCheckpoint(ctx context.Context, n int64) error {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.writeCheckpointLocked(ctx, n)
}

// WaitCheckpoint waits until the checkpoint being written, if any, is
// stored (or failed).
func (s *Service) WaitCheckpoint() { s.ckWG.Wait() }
