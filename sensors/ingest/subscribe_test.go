package ingest

import "testing"

func TestResultKey(t *testing.T) {
	for _, c := range []struct{ name, filter, want string }{
		{"plain", "baoshui/v1/stations/+/readings", "baoshui/v1/stations/+/readings"},
		{"shared", "$share/baoshui/baoshui/v1/stations/+/readings", "baoshui/v1/stations/+/readings"},
		{"queue", "$queue/baoshui/v1/stations/+/readings", "baoshui/v1/stations/+/readings"},
		{"share without a filter", "$share/group", "$share/group"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := resultKey(c.filter); got != c.want {
				t.Errorf("resultKey(%q) = %q, want %q", c.filter, got, c.want)
			}
		})
	}
}
