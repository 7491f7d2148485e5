package sensors_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/baoshui/baoshui/sensors"
)

func TestClassNames(t *testing.T) {
	tests := []struct {
		class      sensors.Class
		str, en    string
		text       string
		valid, tgt bool
	}{
		{sensors.ClassNone, "none", "none", "", false, false},
		{cI, "I", "I", "I", true, true},
		{cII, "II", "II", "II", true, true},
		{cIII, "III", "III", "III", true, true},
		{cIV, "IV", "IV", "IV", true, true},
		{cV, "V", "V", "V", true, true},
		{cWorse, "劣V", "worse than V", "劣V", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.en, func(t *testing.T) {
			if got := tc.class.String(); got != tc.str {
				t.Errorf("String() = %q, want %q", got, tc.str)
			}
			if got := tc.class.NameEN(); got != tc.en {
				t.Errorf("NameEN() = %q, want %q", got, tc.en)
			}
			b, err := tc.class.MarshalText()
			if err != nil || string(b) != tc.text {
				t.Errorf("MarshalText() = %q, %v; want %q", b, err, tc.text)
			}
			if tc.class.Valid() != tc.valid || tc.class.ValidTarget() != tc.tgt {
				t.Errorf("Valid, ValidTarget = %v, %v; want %v, %v", tc.class.Valid(), tc.class.ValidTarget(), tc.valid, tc.tgt)
			}
			if tc.class != sensors.ClassNone {
				got, err := sensors.ParseClass(tc.text)
				if err != nil || got != tc.class {
					t.Errorf("ParseClass(%q) = %v, %v", tc.text, got, err)
				}
			}
		})
	}
	if got, err := sensors.ParseClass("worse than V"); err != nil || got != cWorse {
		t.Errorf(`ParseClass("worse than V") = %v, %v`, got, err)
	}
	if got := sensors.Class(9).String(); got != "Class(9)" {
		t.Errorf("Class(9).String() = %q", got)
	}
	if _, err := sensors.Class(9).MarshalText(); !errors.Is(err, sensors.ErrInvalid) {
		t.Errorf("Class(9).MarshalText error = %v, want ErrInvalid", err)
	}
}

func TestParseClassRefuses(t *testing.T) {
	for _, s := range []string{"", "ii", "VI", "0", "2", "Class II", " II", "劣五", "none"} {
		if c, err := sensors.ParseClass(s); err == nil || !errors.Is(err, sensors.ErrInvalid) {
			t.Errorf("ParseClass(%q) = %v, %v; want ErrInvalid", s, c, err)
		}
	}
}

func TestClassOrder(t *testing.T) {
	tests := []struct {
		a, b sensors.Class
		want bool
	}{
		{cIII, cII, true},
		{cII, cII, false},
		{cI, cII, false},
		{cWorse, cV, true},
		{sensors.ClassNone, cII, false},
		{cII, sensors.ClassNone, false},
	}
	for _, tc := range tests {
		if got := tc.a.Worse(tc.b); got != tc.want {
			t.Errorf("%v.Worse(%v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestClassJSON(t *testing.T) {
	type doc struct {
		C sensors.Class `json:"c"`
		N sensors.Class `json:"n,omitempty"`
	}
	b, err := json.Marshal(doc{C: cWorse})
	if err != nil || string(b) != `{"c":"劣V"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"c":"IV"}`), &d); err != nil || d.C != cIV {
		t.Errorf("Unmarshal IV = %v, %v", d.C, err)
	}
	if err := json.Unmarshal([]byte(`{"c":2}`), &d); err == nil {
		t.Errorf("a number decoded into a Class")
	}
	if err := json.Unmarshal([]byte(`{"c":"VI"}`), &d); err == nil {
		t.Errorf(`"VI" decoded into a Class`)
	}
}
