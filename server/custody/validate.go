package custody

import (
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/baoshui/baoshui/server/enforcement"
)

// MaxDocuments bounds the documents one step may attach.
const MaxDocuments = 100

// validation collects the offending fields of one input.
type validation struct {
	fields []enforcement.FieldError
}

func (v *validation) add(field, format string, args ...any) {
	v.fields = append(v.fields, enforcement.FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// err returns nil, or an error wrapping enforcement.ErrInvalid and a
// *enforcement.ValidationError with the fields sorted by name.
func (v *validation) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	sort.SliceStable(v.fields, func(i, j int) bool { return v.fields[i].Field < v.fields[j].Field })
	return fmt.Errorf("%w: %w", enforcement.ErrInvalid, &enforcement.ValidationError{Fields: v.fields})
}

// text checks an optional text: valid UTF-8 and at most max runes.
func (v *validation) text(name, s string, max int) {
	switch {
	case !utf8.ValidString(s):
		v.add(name, "must be valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		v.add(name, "at most %d characters", max)
	}
}

// instant checks the date of an act: not after now and, when notBefore is
// set, not before it.
func (v *validation) instant(name string, t, notBefore, now time.Time) {
	switch {
	case t.After(now):
		v.add(name, "must not be in the future")
	case !notBefore.IsZero() && t.Before(notBefore):
		v.add(name, "must not be before %s", notBefore.In(enforcement.Shanghai).Format(time.RFC3339))
	}
}

func (v *validation) fen(name string, f int64) {
	if f < 0 || f > enforcement.MaxFineFen {
		v.add(name, "must be between 0 and %d fen", int64(enforcement.MaxFineFen))
	}
}

// documents checks document hashes: at most MaxDocuments, each a SHA-256 as
// 64 lower-case hex digits, none listed twice.
func (v *validation) documents(docs []string) {
	if len(docs) > MaxDocuments {
		v.add(FieldDocuments, "at most %d documents", MaxDocuments)
		return
	}
	seen := map[string]bool{}
	for i, d := range docs {
		name := fmt.Sprintf("%s[%d]", FieldDocuments, i)
		switch {
		case !isSHA256(d):
			v.add(name, "must be a SHA-256 as 64 lower-case hex digits")
		case seen[d]:
			v.add(name, "listed twice")
		}
		seen[d] = true
	}
}

func isSHA256(s string) bool {
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

// isBlank reports whether s holds only spaces, tabs, line breaks and
// ideographic spaces.
func isBlank(s string) bool {
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' && r != '\u3000' {
			return false
		}
	}
	return true
}
