package cases_test

import (
	"testing"

	"github.com/baoshui/baoshui/server/cases"
)

func TestMaskID(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"resident ID", "110228199001011234", "110228********1234"},
		{"check character X", "11022819900101123X", "110228********123X"},
		{"check character x", "11022819900101123x", "110228********123x"},
		{"surrounding spaces", " 110228199001011234 ", "110228********1234"},
		{"first-generation 15 digits", "110228900101123", "110228******123"},
		{"empty", "", ""},
		{"only spaces", "   ", ""},
		{"17 digits is not an ID", "11022819900101123", "*************1123"},
		{"X in the middle is not an ID", "1102281990010X1234", "**************1234"},
		{"passport", "E12345678", "*****5678"},
		{"short, masked whole", "12345678", "********"},
		{"one character", "7", "*"},
		{"non-ASCII counted in characters", "护照号码一二三四五", "*****二三四五"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cases.MaskID(tt.in); got != tt.want {
				t.Errorf("MaskID(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
