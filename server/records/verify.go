package records

import (
	"context"
	"errors"
	"fmt"

	"github.com/baoshui/baoshui/server/audit"
)

// AuditReport is the outcome of verifying the stored audit chain.
type AuditReport struct {
	OK       bool         `json:"ok"`
	Entries  int64        `json:"entries"`
	Expected int64        `json:"expected"`
	LastHash string       `json:"last_hash,omitempty"`
	Break    *audit.Break `json:"break,omitempty"`
}

// VerifyAudit reads the whole stored chain in sequence order and checks
// every link and hash; it also checks that the chain reaches the last entry
// this server wrote, so that removing entries from the end is detected too.
func (s *Service) VerifyAudit(ctx context.Context) (AuditReport, error) {
	expected := s.storedSeq.Load()
	v := audit.NewVerifier()
	rep := AuditReport{Expected: expected}
	var last audit.Entry
	err := s.store.ScanAudit(ctx, func(e audit.Entry) error {
		if err := v.Add(e); err != nil {
			return err
		}
		last = e
		return nil
	})
	rep.Entries = v.Count()
	rep.LastHash = last.Hash
	var b *audit.Break
	switch {
	case errors.As(err, &b):
		rep.Break = b
		return rep, nil
	case err != nil:
		return rep, fmt.Errorf("records: verify audit: %w", err)
	case rep.Entries < expected:
		rep.Break = &audit.Break{Seq: rep.Entries + 1, Reason: fmt.Sprintf("the chain ends at %d but this server wrote %d entries", rep.Entries, expected)}
		return rep, nil
	}
	rep.OK = true
	return rep, nil
}
