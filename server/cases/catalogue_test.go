package cases_test

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/enforcement"
)

func loadShipped(t *testing.T) cases.Catalogue {
	t.Helper()
	data, err := os.ReadFile("../../testdata/cases/catalogue.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := cases.LoadCatalogue(data)
	if err != nil {
		t.Fatalf("LoadCatalogue: %v", err)
	}
	return c
}

func TestShippedCatalogue(t *testing.T) {
	c := loadShipped(t)
	if !c.Illustrative {
		t.Error("the shipped catalogue is not marked illustrative")
	}
	var codes []string
	for _, v := range c.Violations {
		codes = append(codes, v.Code)
		for _, p := range v.Basis {
			if !p.Illustrative {
				t.Errorf("%s cites %s %s without marking it illustrative", v.Code, p.Law, p.Article)
			}
		}
	}
	want := []string{"fishing_first_zone", "swimming_first_zone", "grazing_first_zone", "vehicle_washing", "dumping_waste"}
	if !slices.Equal(codes, want) {
		t.Errorf("codes = %v, want %v", codes, want)
	}
}

func TestLoadCatalogueErrors(t *testing.T) {
	const band = `{"circumstance":"minor","repeat":false,"min_fen":100,"max_fen":200}`
	const basis = `[{"law":"条例","version":"2019","article":"第1条"}]`
	vio := func(code, bands string) string {
		return `{"code":"` + code + `","name":"名","basis":` + basis + `,"bands":[` + bands + `]}`
	}
	tests := []struct {
		name   string
		in     string
		fields []string
	}{
		{"not JSON", `{"violations":`, []string{"catalogue"}},
		{"unknown field", `{"violations":[],"extra":1}`, []string{"extra"}},
		{"wrong type", `{"violations":[{"code":"a","bands":[{"min_fen":"x"}]}]}`, []string{"violations.bands.min_fen"}},
		{"trailing data", `{"violations":[` + vio("a", band) + `]} {}`, []string{"catalogue"}},
		{"no violations", `{"violations":[]}`, []string{"violations"}},
		{"bad and duplicate codes", `{"violations":[` + vio("a", band) + `,` + vio("a", band) + `,` + vio("Fish-1", band) + `]}`,
			[]string{"violations[1].code", "violations[2].code"}},
		{"missing name, basis and bands", `{"violations":[{"code":"a"}]}`,
			[]string{"violations[0].bands", "violations[0].basis", "violations[0].name"}},
		{"provision without law, version, article", `{"violations":[{"code":"a","name":"n","basis":[{}],"bands":[` + band + `]}]}`,
			[]string{"violations[0].basis[0].article", "violations[0].basis[0].law", "violations[0].basis[0].version"}},
		{"bad bands", `{"violations":[` + vio("a",
			`{"circumstance":"grave","min_fen":-1,"max_fen":0},{"circumstance":"serious","min_fen":300,"max_fen":200},`+band+`,`+band) + `]}`,
			[]string{"violations[0].bands[0].circumstance", "violations[0].bands[0].min_fen", "violations[0].bands[1].max_fen", "violations[0].bands[3]"}},
		{"same band in another zone is fine, over the limit is not", `{"violations":[` + vio("a",
			band+`,{"circumstance":"minor","zone":"first","min_fen":0,"max_fen":99999999999999}`) + `]}`,
			[]string{"violations[0].bands[1].max_fen"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cases.LoadCatalogue([]byte(tt.in))
			if got := fieldsOf(t, err); !slices.Equal(got, tt.fields) {
				t.Errorf("fields = %v, want %v (%v)", got, tt.fields, err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	cat := loadShipped(t)
	ord := cases.Circumstances{Circumstance: cases.Ordinary}
	tests := []struct {
		name          string
		code          string
		circ          cases.Circumstances
		fen           int64
		justification string
		band          [2]int64 // min, max of the band used; {0,0} when none matched
		flagged       bool
		outsideEvery  bool
		errField      string
	}{
		{"inside the band", "fishing_first_zone", ord, 30000, "", [2]int64{20000, 50000}, false, false, ""},
		{"at the band's minimum", "fishing_first_zone", ord, 20000, "", [2]int64{20000, 50000}, false, false, ""},
		{"at the band's maximum", "fishing_first_zone", ord, 50000, "", [2]int64{20000, 50000}, false, false, ""},
		{"above the band, inside the serious one, no justification", "fishing_first_zone", ord, 60000, "", [2]int64{20000, 50000}, true, false, "justification"},
		{"above the band, justified", "fishing_first_zone", ord, 60000, "当事人拒不改正", [2]int64{20000, 50000}, true, false, ""},
		{"repeat offence band", "fishing_first_zone", cases.Circumstances{Circumstance: cases.Ordinary, Repeat: true}, 60000, "",
			[2]int64{50000, 100000}, false, false, ""},
		{"outside every band, no justification", "fishing_first_zone", ord, 300000, "", [2]int64{20000, 50000}, true, true, "justification"},
		{"outside every band, blank justification", "fishing_first_zone", ord, 1000, " \t", [2]int64{20000, 50000}, true, true, "justification"},
		{"outside every band, justified", "fishing_first_zone", ord, 300000, "情节特别严重", [2]int64{20000, 50000}, true, true, ""},
		{"zone band preferred", "grazing_first_zone", cases.Circumstances{Circumstance: cases.Ordinary, Zone: "first"}, 250000, "",
			[2]int64{100000, 300000}, false, false, ""},
		{"any-zone band elsewhere", "grazing_first_zone", cases.Circumstances{Circumstance: cases.Ordinary, Zone: "second"}, 250000, "",
			[2]int64{50000, 200000}, true, false, "justification"},
		{"no band for the circumstances", "swimming_first_zone", cases.Circumstances{Circumstance: cases.Serious, Repeat: true}, 60000, "",
			[2]int64{0, 0}, true, false, "justification"},
		{"no circumstances given", "swimming_first_zone", cases.Circumstances{}, 60000, "", [2]int64{0, 0}, true, false, "justification"},
		{"unknown violation", "poaching", ord, 100, "", [2]int64{}, false, false, "violation"},
		{"negative fine", "fishing_first_zone", ord, -1, "", [2]int64{}, false, false, "fine_fen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bc, err := cat.Check(tt.code, tt.circ, tt.fen, tt.justification)
			if tt.errField != "" {
				if got := fieldsOf(t, err); !slices.Equal(got, []string{tt.errField}) {
					t.Fatalf("fields = %v, want %s", got, tt.errField)
				}
				if tt.errField != "justification" {
					return
				}
			} else if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got := [2]int64{bc.Band.MinFen, bc.Band.MaxFen}; got != tt.band || bc.Matched != (tt.band != [2]int64{}) {
				t.Errorf("band = %v matched %v, want %v", got, bc.Matched, tt.band)
			}
			if bc.Flagged() != tt.flagged || bc.OutsideEvery != tt.outsideEvery {
				t.Errorf("flagged %v outsideEvery %v, want %v %v", bc.Flagged(), bc.OutsideEvery, tt.flagged, tt.outsideEvery)
			}
			if bc.Violation != tt.code || len(bc.Basis) == 0 || bc.FineFen != tt.fen {
				t.Errorf("snapshot %+v", bc)
			}
		})
	}
	_, err := cat.Check("fishing_first_zone", ord, 300000, "")
	if !errors.Is(err, enforcement.ErrInvalid) || !strings.Contains(err.Error(), "5000–20000") {
		t.Errorf("the error should list the bands: %v", err)
	}
}
