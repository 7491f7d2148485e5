package sensors

import (
	"fmt"
	"strconv"
)

// Class is a water-quality class of GB 3838-2002, from ClassI (the best) to
// ClassV, or ClassWorseThanV (劣V类) for a value beyond the Class V limit.
// Classes are ordered: a larger Class is worse. The zero value, ClassNone,
// means "not classified" (no classified parameter, or an invalid input).
type Class uint8

// The classes, from the best to the worst.
const (
	ClassNone Class = iota
	ClassI
	ClassII
	ClassIII
	ClassIV
	ClassV
	ClassWorseThanV
)

// classNames are the notations of the classes, indexed by Class.
var classNames = [...]string{"", "I", "II", "III", "IV", "V", "劣V"}

// String returns the Roman numeral of the class ("I" to "V"), "劣V" for
// ClassWorseThanV and "none" for ClassNone, as the reports print them.
func (c Class) String() string {
	switch {
	case c == ClassNone:
		return "none"
	case int(c) < len(classNames):
		return classNames[c]
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// NameEN returns the class in English: "I" to "V", "worse than V", and
// "none" for ClassNone.
func (c Class) NameEN() string {
	if c == ClassWorseThanV {
		return "worse than V"
	}
	return c.String()
}

// Valid reports whether c is one of ClassI to ClassWorseThanV.
func (c Class) Valid() bool { return c >= ClassI && c <= ClassWorseThanV }

// ValidTarget reports whether c may be a station's target class: ClassI to
// ClassV.
func (c Class) ValidTarget() bool { return c >= ClassI && c <= ClassV }

// Worse reports whether c is worse than o. ClassNone is worse than nothing
// and nothing is worse than it.
func (c Class) Worse(o Class) bool { return c != ClassNone && o != ClassNone && c > o }

// worst returns the worse of a and b, ignoring ClassNone.
func worst(a, b Class) Class {
	if a == ClassNone || b > a {
		return b
	}
	return a
}

// ParseClass reads a class written as "I", "II", "III", "IV", "V", "劣V" or
// "worse than V".
func ParseClass(s string) (Class, error) {
	for c := ClassI; c <= ClassWorseThanV; c++ {
		if s == classNames[c] {
			return c, nil
		}
	}
	if s == "worse than V" {
		return ClassWorseThanV, nil
	}
	return ClassNone, fmt.Errorf("sensors.ParseClass: %q: %w: want I, II, III, IV, V or 劣V", s, ErrInvalid)
}

// MarshalText writes the class as String does, and ClassNone as "" (so that
// a JSON member with omitempty leaves it out).
func (c Class) MarshalText() ([]byte, error) {
	if c == ClassNone {
		return []byte{}, nil
	}
	if !c.Valid() {
		return nil, fmt.Errorf("sensors.Class.MarshalText: %d: %w: no such class", uint8(c), ErrInvalid)
	}
	return []byte(classNames[c]), nil
}

// UnmarshalText reads the class as ParseClass does.
func (c *Class) UnmarshalText(b []byte) error {
	v, err := ParseClass(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}
