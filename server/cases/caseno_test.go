package cases_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/enforcement"
)

func TestCaseNoRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		year   int
		seq    int
		want   string
	}{
		{"first of the year", "密保罚", 2020, 1, "密保罚〔2020〕第0001号"},
		{"the 381st", "密保罚", 2020, 381, "密保罚〔2020〕第0381号"},
		{"four digits full", "密保罚", 2021, 9999, "密保罚〔2021〕第9999号"},
		{"five digits", "密保罚", 2021, 10000, "密保罚〔2021〕第10000号"},
		{"another prefix", "京密水罚", 2020, 42, "京密水罚〔2020〕第0042号"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cases.FormatCaseNo(tt.prefix, tt.year, tt.seq)
			if got != tt.want {
				t.Fatalf("FormatCaseNo = %q, want %q", got, tt.want)
			}
			p, y, s, err := cases.ParseCaseNo(got)
			if err != nil || p != tt.prefix || y != tt.year || s != tt.seq {
				t.Errorf("ParseCaseNo = %q %d %d %v", p, y, s, err)
			}
		})
	}
}

func TestParseCaseNoRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"square brackets", "密保罚[2020]第0001号"},
		{"round brackets", "密保罚（2020）第0001号"},
		{"no prefix", "〔2020〕第0001号"},
		{"digit in prefix", "密保罚2〔2020〕第0001号"},
		{"space in prefix", "密保 罚〔2020〕第0001号"},
		{"two-digit year", "密保罚〔20〕第0001号"},
		{"year below 1000", "密保罚〔0999〕第0001号"},
		{"three-digit sequence", "密保罚〔2020〕第001号"},
		{"sequence zero", "密保罚〔2020〕第0000号"},
		{"over-padded sequence", "密保罚〔2020〕第00001号"},
		{"letter in sequence", "密保罚〔2020〕第00a1号"},
		{"no 第", "密保罚〔2020〕0001号"},
		{"no 号", "密保罚〔2020〕第0001"},
		{"trailing space", "密保罚〔2020〕第0001号 "},
		{"year not closed", "密保罚〔2020第0001号"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, _, err := cases.ParseCaseNo(tt.in); !errors.Is(err, enforcement.ErrInvalid) {
				t.Errorf("ParseCaseNo(%q) = %v, want ErrInvalid", tt.in, err)
			}
		})
	}
}

func TestYearOf(t *testing.T) {
	// 2020-12-31 16:30 UTC is already 2021 in Shanghai.
	if y := cases.YearOf(time.Date(2020, 12, 31, 16, 30, 0, 0, time.UTC)); y != 2021 {
		t.Errorf("YearOf = %d, want 2021", y)
	}
	if y := cases.YearOf(time.Date(2020, 12, 31, 15, 59, 0, 0, time.UTC)); y != 2020 {
		t.Errorf("YearOf = %d, want 2020", y)
	}
}

func TestMemorySequencer(t *testing.T) {
	var s cases.MemorySequencer
	ctx := context.Background()
	const n = 200
	got := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.Next(ctx, "密保罚", 2020)
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	wg.Wait()
	seen := make([]bool, n+1)
	for _, v := range got {
		if v < 1 || v > n || seen[v] {
			t.Fatalf("sequence %d issued out of range or twice", v)
		}
		seen[v] = true
	}
	if v, _ := s.Next(ctx, "密保罚", 2021); v != 1 {
		t.Errorf("a new year starts at %d, want 1", v)
	}
	if v, _ := s.Next(ctx, "密保罚", 2020); v != n+1 {
		t.Errorf("next after %d = %d", n, v)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Next(cancelled, "密保罚", 2020); err == nil {
		t.Error("Next on a cancelled context succeeded")
	}
	if v, _ := s.Next(ctx, "密保罚", 2020); v != n+2 {
		t.Errorf("a cancelled call used a number: next = %d, want %d", v, n+2)
	}
}
