package ingest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestAssign(t *testing.T) {
	for _, c := range []struct {
		name  string
		self  string
		peers map[string]bool
		want  []string
	}{
		{"no peers", "a", nil, nil},
		{"a peer online is nobody's", "a", map[string]bool{"b": true}, nil},
		{"alone with a silent peer", "a", map[string]bool{"b": false}, []string{"b"}},
		{"every silent peer when the others are silent too", "a", map[string]bool{"b": false, "c": false}, []string{"b", "c"}},
		{"never itself", "a", map[string]bool{"a": false}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := slices.Sorted(maps.Keys(assign(c.self, c.peers)))
			if !slices.Equal(got, c.want) {
				t.Errorf("assign(%q, %v) = %v, want %v", c.self, c.peers, got, c.want)
			}
		})
	}
}

// TestAssignAgrees checks that servers seeing the same presences split the
// silent peers among themselves: each held by exactly one, and none left
// without a share of them.
func TestAssignAgrees(t *testing.T) {
	live := []string{"baoshui-a", "baoshui-b", "baoshui-c"}
	presences := map[string]bool{}
	for _, l := range live {
		presences[l] = true
	}
	const silent = 60
	for i := range silent {
		presences[fmt.Sprintf("baoshui-%02d", i)] = false
	}
	holders := map[string][]string{}
	for _, self := range live {
		view := maps.Clone(presences)
		delete(view, self) // a server does not list itself among its peers
		got := assign(self, view)
		if len(got) == 0 {
			t.Errorf("%s holds none of %d silent peers", self, silent)
		}
		for p := range got {
			holders[p] = append(holders[p], self)
		}
	}
	for i := range silent {
		p := fmt.Sprintf("baoshui-%02d", i)
		if len(holders[p]) != 1 {
			t.Errorf("%s is held by %v, want exactly one server", p, holders[p])
		}
	}
	// One server gone silent: its own silent peers move, the others' stay.
	before := map[string]string{}
	for p, h := range holders {
		before[p] = h[0]
	}
	view := maps.Clone(presences)
	view["baoshui-c"] = false
	delete(view, "baoshui-a")
	afterA := assign("baoshui-a", view)
	for p, h := range before {
		if h == "baoshui-a" && !afterA[p] {
			t.Errorf("%s moved away from baoshui-a when baoshui-c went silent", p)
		}
	}
}

func TestParsePresence(t *testing.T) {
	topic := PresenceTopic("baoshui-a")
	for _, c := range []struct {
		name, topic, payload string
		ok                   bool
		client, state        string
	}{
		{"online", topic, `{"client":"baoshui-a","topic":"$share/g/x","state":"online"}`, true, "baoshui-a", stateOnline},
		{"offline", topic, `{"client":"baoshui-a","topic":"$share/g/x","state":"offline"}`, true, "baoshui-a", stateOffline},
		{"removed", topic, ``, true, "baoshui-a", ""},
		{"another topic", "baoshui/v1/stations/a/readings", `{"client":"a","state":"online"}`, false, "", ""},
		{"no client in the topic", "baoshui/v1/servers//presence", `{"client":"","state":"online"}`, false, "", ""},
		{"a client of two levels", "baoshui/v1/servers/x/y/presence", `{"client":"x/y","state":"online"}`, false, "", ""},
		{"another client in the payload", topic, `{"client":"baoshui-b","state":"online"}`, false, "", ""},
		{"an unknown state", topic, `{"client":"baoshui-a","state":"asleep"}`, false, "", ""},
		{"not JSON", topic, `online`, false, "", ""},
		{"too large", topic, `{"client":"baoshui-a","state":"online","x":"` + strings.Repeat("x", 5000) + `"}`, false, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			client, p, ok := parsePresence(c.topic, []byte(c.payload))
			if ok != c.ok || client != c.client || p.State != c.state {
				t.Errorf("parsePresence = %q, %+v, %v; want %q, state %q, %v", client, p, ok, c.client, c.state, c.ok)
			}
		})
	}
}

func FuzzParsePresence(f *testing.F) {
	f.Add(PresenceTopic("a"), []byte(`{"client":"a","topic":"t","state":"online"}`))
	f.Add(PresenceTopic("a"), []byte(``))
	f.Add("baoshui/v1/servers/+/presence", []byte(`{"client":"+","state":"offline"}`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		client, p, ok := parsePresence(topic, payload)
		if !ok {
			return
		}
		if client == "" || strings.Contains(client, "/") || PresenceTopic(client) != topic {
			t.Fatalf("accepted client %q of topic %q", client, topic)
		}
		if p.State != stateOnline && p.State != stateOffline && (p.State != "" || len(payload) != 0) {
			t.Fatalf("accepted state %q", p.State)
		}
	})
}
