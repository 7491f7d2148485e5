package enforcement

import (
	"fmt"
	"sort"
	"time"
	"unicode/utf8"
)

// MaxDocuments bounds the documents one step of a procedure may attach.
const MaxDocuments = 100

// Check collects the offending fields of one input, for the domain packages
// that validate their inputs field by field (cases, custody, campaigns).
// The zero value is ready to use.
type Check struct {
	fields []FieldError
}

// Add records that field is wrong, with a detail formatted like fmt.Sprintf.
func (c *Check) Add(field, format string, args ...any) {
	c.fields = append(c.fields, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing was added, and otherwise an error wrapping
// ErrInvalid and a *ValidationError with the fields sorted by name.
func (c *Check) Err() error {
	if len(c.fields) == 0 {
		return nil
	}
	sort.SliceStable(c.fields, func(i, j int) bool { return c.fields[i].Field < c.fields[j].Field })
	return fmt.Errorf("%w: %w", ErrInvalid, &ValidationError{Fields: c.fields})
}

// Text checks a text: valid UTF-8, at most max runes, and not blank when
// required.
func (c *Check) Text(name, s string, max int, required bool) {
	switch {
	case !utf8.ValidString(s):
		c.Add(name, "must be valid UTF-8")
	case required && IsBlank(s):
		c.Add(name, "required")
	case utf8.RuneCountInString(s) > max:
		c.Add(name, "at most %d characters", max)
	}
}

// Instant checks the date of an act: given when required, not after now
// and, when notBefore is set, not before it.
func (c *Check) Instant(name string, t, notBefore, now time.Time, required bool) {
	switch {
	case t.IsZero():
		if required {
			c.Add(name, "required: an RFC 3339 instant")
		}
	case t.After(now):
		c.Add(name, "must not be in the future")
	case !notBefore.IsZero() && t.Before(notBefore):
		c.Add(name, "must not be before %s", notBefore.In(Shanghai).Format(time.RFC3339))
	}
}

// Fen checks an amount of money: 0 to MaxFineFen.
func (c *Check) Fen(name string, f int64) {
	if f < 0 || f > MaxFineFen {
		c.Add(name, "must be between 0 and %d fen", int64(MaxFineFen))
	}
}

// Documents checks the field "documents": at most MaxDocuments content
// addresses, each a SHA-256 as 64 lower-case hex digits, none twice.
func (c *Check) Documents(docs []string) {
	if len(docs) > MaxDocuments {
		c.Add("documents", "at most %d documents", MaxDocuments)
		return
	}
	seen := make(map[string]bool, len(docs))
	for i, d := range docs {
		name := fmt.Sprintf("documents[%d]", i)
		switch {
		case !IsSHA256(d):
			c.Add(name, "must be a SHA-256 as 64 lower-case hex digits")
		case seen[d]:
			c.Add(name, "listed twice")
		}
		seen[d] = true
	}
}

// IsSHA256 reports whether s is a SHA-256 as 64 lower-case hex digits.
func IsSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// IsBlank reports whether s holds nothing but spaces, tabs, line breaks and
// ideographic spaces.
func IsBlank(s string) bool {
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' && r != '\u3000' {
			return false
		}
	}
	return true
}
