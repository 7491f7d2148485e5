package sensors

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The error kinds of the package; every error it returns wraps one of them,
// so that callers can test for it with errors.Is.
var (
	// ErrInvalid is wrapped by every *ValidationError: the input breaks a
	// rule (a bad value, a bad station, a malformed stations file).
	ErrInvalid = errors.New("invalid input")
	// ErrUnknownParam is returned for a parameter name the package does
	// not know.
	ErrUnknownParam = errors.New("unknown parameter")
	// ErrNotClassified is returned for a parameter that has no class limits
	// for the water body asked about: the extras (temperature, conductivity,
	// turbidity, chlorophyll-a) for every water body, and total nitrogen for
	// rivers.
	ErrNotClassified = errors.New("not classified")
)

// MaxProblems is the number of problems a ValidationError lists at most; the
// count of further problems is kept in ValidationError.Omitted.
const MaxProblems = 100

// Problem is one fault found in an input.
type Problem struct {
	// Field is the path of the offending field, such as "target_class",
	// "location.coordinates", "params[2]", "stations[3].id" or, in a
	// sample, the parameter's field name ("tp_mg_l"). It is empty for a
	// fault of the input as a whole (not JSON, not an object).
	Field string `json:"field"`
	// Station is the id of the station the fault belongs to, when it is
	// known and the fault is found in a list of stations; otherwise empty.
	Station string `json:"station,omitempty"`
	// Detail says what is wrong, in lower case.
	Detail string `json:"detail"`
}

// String renders the problem as `field: detail (station "id")`, naming only
// the parts that apply.
func (p Problem) String() string {
	var b strings.Builder
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Detail)
	if p.Station != "" {
		b.WriteString(" (station ")
		b.WriteString(strconv.Quote(p.Station))
		b.WriteString(")")
	}
	return b.String()
}

// ValidationError lists every fault found in one input, up to MaxProblems,
// so that an API can answer 422 naming each of them. It wraps ErrInvalid.
type ValidationError struct {
	// Op is the operation that rejected the input, such as
	// "sensors.LoadStations".
	Op string
	// Problems are the faults found, in the order of the input.
	Problems []Problem
	// Omitted counts the further faults found beyond MaxProblems.
	Omitted int
}

// Error joins the problems as `op: <problem>; <problem>`.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	if len(e.Problems) == 0 {
		b.WriteString("invalid input")
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, " (and %d more problems)", e.Omitted)
	}
	return b.String()
}

// Unwrap returns ErrInvalid.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// add records a problem, counting it in Omitted beyond the cap.
func (e *ValidationError) add(p Problem) {
	if len(e.Problems) >= MaxProblems {
		e.Omitted++
		return
	}
	e.Problems = append(e.Problems, p)
}

// addf records a problem of field with a formatted detail.
func (e *ValidationError) addf(field, format string, args ...any) {
	e.add(Problem{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// orNil returns e, or nil when it holds no problem.
func (e *ValidationError) orNil() error {
	if len(e.Problems) == 0 && e.Omitted == 0 {
		return nil
	}
	return e
}
