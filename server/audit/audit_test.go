package audit_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/audit"
)

const n = 6

func hash64(c byte) string { return strings.Repeat(string(c), 64) }

// buildChain returns n entries made by a fresh Chain.
func buildChain(t *testing.T) []audit.Entry {
	t.Helper()
	c := audit.NewChain(audit.Entry{})
	start := time.Date(2020, 7, 4, 15, 20, 0, 123_456_789, time.FixedZone("CST", 8*3600))
	var out []audit.Entry
	for i := range n {
		e := audit.Entry{
			At:     start.Add(time.Duration(i) * time.Minute),
			Actor:  fmt.Sprintf("officer-%d", i%3),
			Action: []string{"record.create", "record.correct", "record.void"}[i%3],
			Object: fmt.Sprintf("record-%d", i/2),
			Rev:    int64(i%2 + 1),
			Before: map[bool]string{true: "", false: hash64('a' + byte(i))}[i%2 == 0],
			After:  hash64('0' + byte(i)),
		}
		out = append(out, c.Next(e))
	}
	return out
}

// verify runs a Verifier over entries and returns the first error.
func verify(entries []audit.Entry) (int64, error) {
	v := audit.NewVerifier()
	for _, e := range entries {
		if err := v.Add(e); err != nil {
			return v.Count(), err
		}
	}
	return v.Count(), nil
}

// breakAt fails the test unless err is a *audit.Break at seq.
func breakAt(t *testing.T, err error, seq int64) {
	t.Helper()
	var b *audit.Break
	if !errors.As(err, &b) {
		t.Fatalf("error = %v (%T), want a *audit.Break at entry %d", err, err, seq)
	}
	if b.Seq != seq {
		t.Errorf("break at entry %d (%s), want entry %d", b.Seq, b.Reason, seq)
	}
	if b.Reason == "" || !strings.Contains(b.Error(), fmt.Sprintf("entry %d", b.Seq)) {
		t.Errorf("Break error %q lacks the entry or a reason", b.Error())
	}
}

func TestChainVerifies(t *testing.T) {
	entries := buildChain(t)
	count, err := verify(entries)
	if err != nil {
		t.Fatalf("an untouched chain does not verify: %v", err)
	}
	if count != n {
		t.Errorf("Count() = %d, want %d", count, n)
	}
	for i, e := range entries {
		if e.Seq != int64(i+1) {
			t.Errorf("entry %d has Seq %d", i, e.Seq)
		}
		if i == 0 && e.Prev != audit.Genesis {
			t.Errorf("first entry's Prev = %s, want Genesis", e.Prev)
		}
		if i > 0 && e.Prev != entries[i-1].Hash {
			t.Errorf("entry %d does not link to entry %d", e.Seq, entries[i-1].Seq)
		}
		if e.Hash != e.ComputeHash() || len(e.Hash) != 64 {
			t.Errorf("entry %d hash %q", e.Seq, e.Hash)
		}
		if e.At.Location() != time.UTC || e.At.Nanosecond()%int(time.Millisecond) != 0 {
			t.Errorf("entry %d At = %v, want UTC at millisecond precision", e.Seq, e.At)
		}
	}
	if len(audit.Genesis) != 64 || strings.Trim(audit.Genesis, "0") != "" {
		t.Errorf("Genesis = %q", audit.Genesis)
	}
	// An empty trail verifies with nothing counted.
	if c, err := verify(nil); err != nil || c != 0 {
		t.Errorf("empty trail: %d, %v", c, err)
	}
}

func TestEditDetected(t *testing.T) {
	edits := []struct {
		field string
		edit  func(e *audit.Entry)
	}{
		{"actor", func(e *audit.Entry) { e.Actor += "x" }},
		{"actor emptied", func(e *audit.Entry) { e.Actor = "" }},
		{"action", func(e *audit.Entry) { e.Action = "record.delete" }},
		{"object", func(e *audit.Entry) { e.Object = "record-99" }},
		{"rev", func(e *audit.Entry) { e.Rev++ }},
		{"rev to zero", func(e *audit.Entry) { e.Rev = 0 }},
		{"before", func(e *audit.Entry) { e.Before = hash64('z') }},
		{"after", func(e *audit.Entry) { e.After = hash64('z') }},
		{"after emptied", func(e *audit.Entry) { e.After = "" }},
		{"at by one millisecond", func(e *audit.Entry) { e.At = e.At.Add(time.Millisecond) }},
		{"at by a day", func(e *audit.Entry) { e.At = e.At.AddDate(0, 0, -1) }},
		{"prev", func(e *audit.Entry) { e.Prev = hash64('9') }},
		{"hash", func(e *audit.Entry) { e.Hash = hash64('9') }},
		{"seq", func(e *audit.Entry) { e.Seq += 10 }},
		{"fields shifted between actor and action", func(e *audit.Entry) {
			e.Actor, e.Action = e.Actor+e.Action[:1], e.Action[1:]
		}},
	}
	for _, ed := range edits {
		for i := range n {
			t.Run(fmt.Sprintf("%s/entry %d", ed.field, i+1), func(t *testing.T) {
				entries := buildChain(t)
				ed.edit(&entries[i])
				_, err := verify(entries)
				breakAt(t, err, int64(i+1))
			})
		}
	}
}

// TestEditAndRehashDetected: an editor who also recomputes the edited
// entry's hash breaks the link of the entry after it.
func TestEditAndRehashDetected(t *testing.T) {
	for i := range n - 1 {
		t.Run(fmt.Sprintf("entry %d", i+1), func(t *testing.T) {
			entries := buildChain(t)
			entries[i].Actor = "someone-else"
			entries[i].Hash = entries[i].ComputeHash()
			_, err := verify(entries)
			breakAt(t, err, int64(i+2))
		})
	}
}

// TestNoChangeNoBreak: what is not a change of the stored facts does not
// break the chain.
func TestNoChangeNoBreak(t *testing.T) {
	cases := []struct {
		name string
		edit func(e *audit.Entry)
	}{
		{"same instant in another zone", func(e *audit.Entry) { e.At = e.At.In(time.FixedZone("", -5*3600)) }},
		{"sub-millisecond change of at (the store keeps ms)", func(e *audit.Entry) { e.At = e.At.Add(999 * time.Microsecond) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			entries := buildChain(t)
			for i := range entries {
				c.edit(&entries[i])
			}
			if _, err := verify(entries); err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
}

func TestDeleteDetected(t *testing.T) {
	for i := range n - 1 {
		t.Run(fmt.Sprintf("entry %d", i+1), func(t *testing.T) {
			entries := buildChain(t)
			entries = slices.Delete(entries, i, i+1)
			_, err := verify(entries)
			breakAt(t, err, int64(i+1))
		})
	}
	// Removing the last entries leaves a shorter chain that verifies: only
	// the count, compared with the stored head, reveals it.
	t.Run("last entry", func(t *testing.T) {
		entries := buildChain(t)
		count, err := verify(entries[:n-1])
		if err != nil {
			t.Fatalf("a truncated chain: %v", err)
		}
		if count != n-1 {
			t.Errorf("Count() = %d, want %d", count, n-1)
		}
	})
}

func TestSwapDetected(t *testing.T) {
	for i := range n - 1 {
		for j := i + 1; j < n; j++ {
			t.Run(fmt.Sprintf("entries %d and %d", i+1, j+1), func(t *testing.T) {
				entries := buildChain(t)
				entries[i], entries[j] = entries[j], entries[i]
				_, err := verify(entries)
				breakAt(t, err, int64(i+1))
			})
		}
	}
	t.Run("swapped and renumbered", func(t *testing.T) {
		entries := buildChain(t)
		entries[1], entries[2] = entries[2], entries[1]
		entries[1].Seq, entries[2].Seq = 2, 3
		_, err := verify(entries)
		breakAt(t, err, 2)
	})
}

func TestInsertDetected(t *testing.T) {
	forge := func(seq int64, prev string) audit.Entry {
		e := audit.Entry{Seq: seq, At: time.Date(2020, 7, 4, 8, 0, 0, 0, time.UTC), Actor: "mallory",
			Action: "record.void", Object: "record-0", Rev: 9, After: hash64('m'), Prev: prev}
		e.Hash = e.ComputeHash()
		return e
	}
	for i := 1; i < n; i++ {
		t.Run(fmt.Sprintf("well-formed forgery before entry %d", i+1), func(t *testing.T) {
			entries := buildChain(t)
			// The forgery takes the place and number of entry i+1 and links
			// to entry i; entry i+1 then follows it with its old number.
			f := forge(int64(i+1), entries[i-1].Hash)
			entries = slices.Insert(entries, i, f)
			_, err := verify(entries)
			breakAt(t, err, int64(i+2))
		})
		t.Run(fmt.Sprintf("renumbered forgery before entry %d", i+1), func(t *testing.T) {
			entries := buildChain(t)
			f := forge(int64(i+1), entries[i-1].Hash)
			entries = slices.Insert(entries, i, f)
			for k := i + 1; k < len(entries); k++ {
				entries[k].Seq++
			}
			// Renumbering changes the hashes of the entries after it.
			_, err := verify(entries)
			breakAt(t, err, int64(i+2))
		})
	}
	t.Run("forgery with a made-up hash", func(t *testing.T) {
		entries := buildChain(t)
		f := forge(n+1, entries[n-1].Hash)
		f.Hash = hash64('1')
		_, err := verify(append(entries, f))
		breakAt(t, err, n+1)
	})
	t.Run("forgery not linked to the last entry", func(t *testing.T) {
		entries := buildChain(t)
		_, err := verify(append(entries, forge(n+1, entries[n-2].Hash)))
		breakAt(t, err, n+1)
	})
	t.Run("duplicate entry", func(t *testing.T) {
		entries := buildChain(t)
		entries = slices.Insert(entries, 3, entries[2])
		_, err := verify(entries)
		breakAt(t, err, 4)
	})
}

func TestNewChainContinues(t *testing.T) {
	first := buildChain(t)
	for _, k := range []int{1, 3, n} {
		t.Run(fmt.Sprintf("after %d entries", k), func(t *testing.T) {
			stored := slices.Clone(first[:k])
			c := audit.NewChain(stored[k-1])
			if seq, h := c.Head(); seq != int64(k) || h != stored[k-1].Hash {
				t.Errorf("Head() = %d %s, want %d %s", seq, h, k, stored[k-1].Hash)
			}
			for i := range 3 {
				e := c.Next(audit.Entry{At: time.Now(), Actor: "admin", Action: "units.write", Object: fmt.Sprintf("unit-%d", i)})
				if e.Seq != int64(k+i+1) {
					t.Errorf("continued entry has Seq %d, want %d", e.Seq, k+i+1)
				}
				if e.Prev != stored[len(stored)-1].Hash {
					t.Errorf("continued entry %d does not link to %d", e.Seq, stored[len(stored)-1].Seq)
				}
				stored = append(stored, e)
			}
			if count, err := verify(stored); err != nil || count != int64(k+3) {
				t.Errorf("continued chain: %d, %v", count, err)
			}
		})
	}
	t.Run("empty trail", func(t *testing.T) {
		c := audit.NewChain(audit.Entry{})
		if seq, h := c.Head(); seq != 0 || h != audit.Genesis {
			t.Errorf("Head() of a new chain = %d %s", seq, h)
		}
		e := c.Next(audit.Entry{Actor: "a", Action: "b", Object: "c"})
		if e.Seq != 1 || e.Prev != audit.Genesis {
			t.Errorf("first entry = %+v", e)
		}
		if seq, h := c.Head(); seq != 1 || h != e.Hash {
			t.Errorf("Head() = %d %s after one entry", seq, h)
		}
	})
	t.Run("restoring a copy undoes entries not stored", func(t *testing.T) {
		c := audit.NewChain(first[n-1])
		saved := *c
		lost := c.Next(audit.Entry{Actor: "a", Action: "b", Object: "lost"})
		*c = saved
		e := c.Next(audit.Entry{Actor: "a", Action: "b", Object: "kept"})
		if e.Seq != lost.Seq || e.Prev != first[n-1].Hash {
			t.Errorf("after restore: Seq %d Prev %s, want %d %s", e.Seq, e.Prev, lost.Seq, first[n-1].Hash)
		}
		if _, err := verify(append(slices.Clone(first), e)); err != nil {
			t.Errorf("verify: %v", err)
		}
	})
	t.Run("continuing from the wrong last entry breaks", func(t *testing.T) {
		c := audit.NewChain(first[n-2])
		e := c.Next(audit.Entry{Actor: "a", Action: "b", Object: "c"})
		_, err := verify(append(slices.Clone(first), e))
		breakAt(t, err, n+1)
	})
}

// TestComputeHashUnambiguous: moving text from one field to the next gives
// another hash.
func TestComputeHashUnambiguous(t *testing.T) {
	base := audit.Entry{Seq: 1, At: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Actor: "ab", Action: "c", Object: "d", Prev: audit.Genesis}
	variants := []audit.Entry{base, base, base, base}
	variants[1].Actor, variants[1].Action = "a", "bc"
	variants[2].Action, variants[2].Object = "", "cd"
	variants[3].Actor, variants[3].Action = "ab,1:c", ""
	seen := map[string]int{}
	for i, v := range variants {
		h := v.ComputeHash()
		if j, ok := seen[h]; ok {
			t.Errorf("variants %d and %d share a hash", j, i)
		}
		seen[h] = i
	}
}
