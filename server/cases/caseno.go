package cases

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/baoshui/baoshui/server/enforcement"
)

// The brackets and words of a case number: 密保罚〔2020〕第0001号. The
// year stands in hexagonal brackets 〔〕 (U+3014, U+3015), as official
// document numbers write it.
const (
	yearOpen  = "〔"
	yearClose = "〕"
	seqOpen   = "第"
	seqClose  = "号"
)

// FormatCaseNo formats a case number in the district's format, prefix
// 〔year〕第seq号 with the sequence zero-padded to 4 digits (longer when it
// needs more): FormatCaseNo("密保罚", 2020, 1) = "密保罚〔2020〕第0001号".
// For a prefix without brackets or digits, a year of 1000 to 9999 and a
// sequence of at least 1, ParseCaseNo gives the arguments back.
func FormatCaseNo(prefix string, year int, seq int) string {
	return fmt.Sprintf("%s%s%d%s%s%04d%s", prefix, yearOpen, year, yearClose, seqOpen, seq, seqClose)
}

// ParseCaseNo parses a number that FormatCaseNo writes, strictly: a
// non-empty prefix of at most 32 characters with no digit, bracket or
// space, a 4-digit year, and a sequence of at least 4 digits, at least 1,
// with no zero padding beyond 4 digits (so that one sequence has one
// spelling). The error wraps enforcement.ErrInvalid.
func ParseCaseNo(s string) (prefix string, year, seq int, err error) {
	bad := func(why string) (string, int, int, error) {
		return "", 0, 0, fmt.Errorf("cases: case number %q: %w: %s (want e.g. 密保罚〔2020〕第0001号)", s, enforcement.ErrInvalid, why)
	}
	i := strings.Index(s, yearOpen)
	if i < 0 {
		return bad("no 〔year〕")
	}
	prefix, rest := s[:i], s[i+len(yearOpen):]
	if prefix == "" {
		return bad("no prefix")
	}
	if !utf8.ValidString(prefix) || utf8.RuneCountInString(prefix) > 32 ||
		strings.ContainsAny(prefix, "0123456789 〔〕[]()（）【】\t\u3000") {
		return bad("bad prefix")
	}
	j := strings.Index(rest, yearClose)
	if j != 4 || !allDigits(rest[:4]) {
		return bad("the year must be 4 digits in 〔〕")
	}
	year, _ = strconv.Atoi(rest[:4])
	if year < 1000 {
		return bad("the year must be 4 digits in 〔〕")
	}
	rest = rest[j+len(yearClose):]
	if !strings.HasPrefix(rest, seqOpen) || !strings.HasSuffix(rest, seqClose) {
		return bad("the sequence must read 第NNNN号")
	}
	digits := rest[len(seqOpen) : len(rest)-len(seqClose)]
	if len(digits) < 4 || len(digits) > 9 || !allDigits(digits) {
		return bad("the sequence must be 4 to 9 digits")
	}
	seq, _ = strconv.Atoi(digits)
	if seq < 1 {
		return bad("the sequence starts at 1")
	}
	if len(digits) > 4 && digits[0] == '0' {
		return bad("the sequence is padded to 4 digits only")
	}
	return prefix, year, seq, nil
}

// YearOf returns the Asia/Shanghai year of an instant: the year a case
// filed at t is numbered in.
func YearOf(t time.Time) int { return t.In(enforcement.Shanghai).Year() }

// Sequencer issues the sequence numbers of case numbers: per prefix and
// year, starting at 1, each number exactly once, never reused and never
// skipped. The store implements it by inserting a document with the
// deterministic id {prefix}:{year}:{seq} for the next seq after the highest
// stored one and retrying with seq+1 on a duplicate key, so that two
// servers never issue the same number and a failed insert leaves no gap.
type Sequencer interface {
	Next(ctx context.Context, prefix string, year int) (int, error)
}

// MemorySequencer is an in-memory Sequencer for tests; it is safe for
// concurrent use. The zero value is ready.
type MemorySequencer struct {
	mu   sync.Mutex
	last map[string]int
}

// Next returns the next sequence number for prefix and year.
func (m *MemorySequencer) Next(ctx context.Context, prefix string, year int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last = map[string]int{}
	}
	k := prefix + ":" + strconv.Itoa(year)
	m.last[k]++
	return m.last[k], nil
}
