package zonegen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestZoneGenerateMatchesTestdata checks that the committed layers are exactly
// what the generator writes, and that it writes the same bytes every time.
// Generate itself checks every layer with geo.ParseLayer.
func TestZoneGenerateMatchesTestdata(t *testing.T) {
	first, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	second, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"protection.geojson", "towns.geojson", "grid.geojson"} {
		if !bytes.Equal(first[name], second[name]) {
			t.Errorf("%s: two runs differ", name)
		}
		committed, err := os.ReadFile(filepath.Join("..", "..", "testdata", "zones", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(committed, first[name]) {
			t.Errorf("testdata/zones/%s is stale: run go run ./geo/cmd/zonegen -out testdata/zones", name)
		}
	}
}

func TestZoneCapsuleSDF(t *testing.T) {
	c := capsule{a: vec{0, 0}, b: vec{0, 1000}, ra: 300, rb: 100}
	for _, tc := range []struct {
		p    vec
		want float64
	}{
		{vec{0, 0}, -300},
		{vec{0, -500}, 200},  // beyond the large end
		{vec{0, 1300}, 200},  // beyond the small end
		{vec{0, 1000}, -100}, // centre of the small end
	} {
		if got := c.sdf(tc.p); abs(got-tc.want) > 1e-9 {
			t.Errorf("sdf(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	// The hull of two discs is the union of the discs between them, so
	// the distance is the least over those discs; sample them finely.
	for _, p := range []vec{{500, 500}, {-400, 200}, {150, 900}, {-2000, 3000}, {90, -1200}, {700, -100}} {
		brute := 1e18
		for i := 0; i <= 100000; i++ {
			s := float64(i) / 100000
			ctr := vec{c.a.x + s*(c.b.x-c.a.x), c.a.y + s*(c.b.y-c.a.y)}
			brute = min(brute, p.sub(ctr).len()-(c.ra+s*(c.rb-c.ra)))
		}
		if got := c.sdf(p); abs(got-brute) > 0.01 {
			t.Errorf("sdf(%v) = %v, sampled %v", p, got, brute)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
