package enforcement_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

func TestCheck(t *testing.T) {
	now := time.Date(2020, 7, 1, 12, 0, 0, 0, enforcement.Shanghai)
	sha := strings.Repeat("ab", 32)
	tests := []struct {
		name string
		run  func(c *enforcement.Check)
		bad  []string
	}{
		{"nothing wrong", func(c *enforcement.Check) {
			c.Text("name", "张某", 10, true)
			c.Instant("at", now, now.Add(-time.Hour), now, true)
			c.Fen("fine", 0)
			c.Documents([]string{sha})
		}, nil},
		{"blank required text", func(c *enforcement.Check) { c.Text("name", " \u3000\n", 10, true) }, []string{"name"}},
		{"long text", func(c *enforcement.Check) { c.Text("name", "一二三", 2, false) }, []string{"name"}},
		{"bad UTF-8", func(c *enforcement.Check) { c.Text("name", "\xff", 10, false) }, []string{"name"}},
		{"missing instant", func(c *enforcement.Check) { c.Instant("at", time.Time{}, time.Time{}, now, true) }, []string{"at"}},
		{"optional instant", func(c *enforcement.Check) { c.Instant("at", time.Time{}, time.Time{}, now, false) }, nil},
		{"future", func(c *enforcement.Check) { c.Instant("at", now.Add(time.Second), time.Time{}, now, false) }, []string{"at"}},
		{"before", func(c *enforcement.Check) { c.Instant("at", now, now.Add(time.Second), now.Add(time.Hour), false) }, []string{"at"}},
		{"negative fen", func(c *enforcement.Check) { c.Fen("fine", -1) }, []string{"fine"}},
		{"documents", func(c *enforcement.Check) { c.Documents([]string{sha, strings.ToUpper(sha), sha}) }, []string{"documents[1]", "documents[2]"}},
		{"too many documents", func(c *enforcement.Check) {
			c.Documents(slices.Repeat([]string{sha}, enforcement.MaxDocuments+1))
		}, []string{"documents"}},
		{"sorted by field", func(c *enforcement.Check) { c.Add("b", "x"); c.Add("a", "y") }, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c enforcement.Check
			tt.run(&c)
			err := c.Err()
			var got []string
			var ve *enforcement.ValidationError
			if errors.As(err, &ve) {
				if !errors.Is(err, enforcement.ErrInvalid) {
					t.Errorf("%v does not wrap ErrInvalid", err)
				}
				for _, f := range ve.Fields {
					got = append(got, f.Field)
				}
			} else if err != nil {
				t.Fatalf("error %v", err)
			}
			if !slices.Equal(got, tt.bad) {
				t.Errorf("fields %v, want %v", got, tt.bad)
			}
		})
	}
}
