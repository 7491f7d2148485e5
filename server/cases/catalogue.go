package cases

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/baoshui/baoshui/server/enforcement"
)

// Catalogue lists the violations the teams handle, each with its legal
// basis and its penalty discretion bands (行政处罚自由裁量基准). The
// official catalogue comes from the office; Illustrative marks one that is
// not official (like the shipped testdata/cases/catalogue.json).
type Catalogue struct {
	Title        string      `json:"title,omitempty"`
	Illustrative bool        `json:"illustrative,omitempty"`
	Note         string      `json:"note,omitempty"`
	Violations   []Violation `json:"violations"`
}

// Violation is one kind of violation: a stable code, its names, the legal
// provisions it breaks and punishes, and its discretion bands.
type Violation struct {
	Code   string      `json:"code"`
	Name   string      `json:"name"`
	NameEN string      `json:"name_en,omitempty"`
	Basis  []Provision `json:"basis"`
	Bands  []Band      `json:"bands"`
}

// Provision cites an article of a law or regulation in a given version
// (the version's date or name, since articles are renumbered on revision).
type Provision struct {
	Law          string `json:"law"`
	Version      string `json:"version"`
	Article      string `json:"article"`
	Illustrative bool   `json:"illustrative,omitempty"`
}

// Band is one discretion band: the fine range, in fen and inclusive, for a
// circumstance, a first (Repeat false) or repeat offence, and a protection
// zone ("" = any zone).
type Band struct {
	Circumstance Circumstance `json:"circumstance"`
	Repeat       bool         `json:"repeat"`
	Zone         string       `json:"zone,omitempty"`
	MinFen       int64        `json:"min_fen"`
	MaxFen       int64        `json:"max_fen"`
}

func (b Band) contains(fen int64) bool { return fen >= b.MinFen && fen <= b.MaxFen }

// BandCheck is the result of Catalogue.Check, kept on the case as the
// snapshot of the provision and band the fine was measured against: the
// violation and its basis, the band for the case's circumstances (Matched
// false when the catalogue has none), the fine, whether the fine is outside
// that band (OutsideBand, also when no band matched) and outside every band
// of the violation (OutsideEvery), and the written justification given.
type BandCheck struct {
	Violation     string      `json:"violation"`
	Basis         []Provision `json:"basis"`
	Band          Band        `json:"band"`
	Matched       bool        `json:"matched"`
	FineFen       int64       `json:"fine_fen"`
	OutsideBand   bool        `json:"outside_band,omitempty"`
	OutsideEvery  bool        `json:"outside_every,omitempty"`
	Justification string      `json:"justification,omitempty"`
}

// Flagged reports whether the fine departs from the band for the case's
// circumstances and so must be flagged for review.
func (b BandCheck) Flagged() bool { return b.OutsideBand }

// Violation returns the violation with the given code.
func (c Catalogue) Violation(code string) (Violation, bool) {
	for _, v := range c.Violations {
		if v.Code == code {
			return v, true
		}
	}
	return Violation{}, false
}

// Check measures a proposed fine against the bands of a violation. The band
// used is the one for the circumstance and first/repeat offence of circ
// whose zone is circ.Zone, or else the one for any zone. The fine is flagged
// (OutsideBand) when it is not within that band, and then needs a written
// justification (issue 7: "a proposed fine outside the band for the case's
// circumstances needs a written justification and is flagged"), without
// which the error wraps enforcement.ErrInvalid (field "justification");
// OutsideEvery says whether it is outside every band of the violation too. An unknown code
// (field "violation") and a negative fine (field "fine_fen") are also
// ErrInvalid. The BandCheck is returned with the justification error, so
// that the caller can show the band.
func (c Catalogue) Check(code string, circ Circumstances, proposedFen int64, justification string) (BandCheck, error) {
	v := &validation{}
	vio, ok := c.Violation(code)
	if !ok {
		v.Add("violation", "unknown violation code %q", code)
	}
	if proposedFen < 0 {
		v.Add("fine_fen", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return BandCheck{}, fmt.Errorf("cases: check fine: %w", err)
	}
	bc := BandCheck{Violation: code, Basis: append([]Provision(nil), vio.Basis...), FineFen: proposedFen,
		Justification: strings.TrimSpace(justification)}
	for _, exactZone := range []bool{true, false} {
		for _, b := range vio.Bands {
			if b.Circumstance != circ.Circumstance || b.Repeat != circ.Repeat {
				continue
			}
			if exactZone && (b.Zone == "" || b.Zone != circ.Zone) || !exactZone && b.Zone != "" {
				continue
			}
			bc.Band, bc.Matched = b, true
			break
		}
		if bc.Matched {
			break
		}
	}
	bc.OutsideBand = !bc.Matched || !bc.Band.contains(proposedFen)
	bc.OutsideEvery = true
	var ranges []string
	for _, b := range vio.Bands {
		ranges = append(ranges, fmt.Sprintf("%d–%d", b.MinFen, b.MaxFen))
		if b.contains(proposedFen) {
			bc.OutsideEvery = false
		}
	}
	if bc.OutsideBand && bc.Justification == "" {
		v.Add("justification", "required: the fine %d fen is outside the band for these circumstances (bands of %s: %s fen)", proposedFen, code, strings.Join(ranges, ", "))
		return bc, fmt.Errorf("cases: check fine: %w", v.Err())
	}
	return bc, nil
}

// LoadCatalogue decodes a catalogue from JSON, strictly: unknown fields and
// trailing data are refused. It then checks every violation: a unique code
// of lower-case letters, digits and underscores, a name, at least one
// provision with law, version and article, and at least one band, each with
// a known circumstance, 0 ≤ min_fen ≤ max_fen ≤ enforcement.MaxFineFen and
// no two bands for the same circumstance, offence and zone. The error wraps
// enforcement.ErrInvalid with a *enforcement.ValidationError naming each
// bad field (violations[2].bands[0].max_fen).
func LoadCatalogue(data []byte) (Catalogue, error) {
	var c Catalogue
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	v := &validation{}
	if err := dec.Decode(&c); err != nil {
		v.Add(jsonField(err), "%v", err)
		return Catalogue{}, fmt.Errorf("cases: load catalogue: %w", v.Err())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		v.Add("catalogue", "trailing data after the catalogue object")
		return Catalogue{}, fmt.Errorf("cases: load catalogue: %w", v.Err())
	}
	if len(c.Violations) == 0 {
		v.Add("violations", "at least one violation")
	}
	codes := map[string]int{}
	for i, vio := range c.Violations {
		p := fmt.Sprintf("violations[%d]", i)
		switch {
		case !isCode(vio.Code):
			v.Add(p+".code", "required: 1 to 64 lower-case letters, digits or underscores")
		default:
			if j, dup := codes[vio.Code]; dup {
				v.Add(p+".code", "%q is also violations[%d]", vio.Code, j)
			} else {
				codes[vio.Code] = i
			}
		}
		v.Text(p+".name", vio.Name, enforcement.MaxTextRunes, true)
		v.Text(p+".name_en", vio.NameEN, enforcement.MaxTextRunes, false)
		if len(vio.Basis) == 0 {
			v.Add(p+".basis", "at least one provision")
		}
		for j, pr := range vio.Basis {
			q := fmt.Sprintf("%s.basis[%d]", p, j)
			v.Text(q+".law", pr.Law, enforcement.MaxTextRunes, true)
			v.Text(q+".version", pr.Version, 100, true)
			v.Text(q+".article", pr.Article, 100, true)
		}
		if len(vio.Bands) == 0 {
			v.Add(p+".bands", "at least one band")
		}
		bands := map[string]int{}
		for j, b := range vio.Bands {
			q := fmt.Sprintf("%s.bands[%d]", p, j)
			switch b.Circumstance {
			case Minor, Ordinary, Serious:
			default:
				v.Add(q+".circumstance", "must be minor, ordinary or serious")
			}
			v.Text(q+".zone", b.Zone, 64, false)
			if b.MinFen < 0 {
				v.Add(q+".min_fen", "must not be negative")
			}
			switch {
			case b.MaxFen < b.MinFen:
				v.Add(q+".max_fen", "must not be below min_fen")
			case b.MaxFen > enforcement.MaxFineFen:
				v.Add(q+".max_fen", "at most %d", int64(enforcement.MaxFineFen))
			}
			key := fmt.Sprintf("%s/%t/%s", b.Circumstance, b.Repeat, b.Zone)
			if k, dup := bands[key]; dup {
				v.Add(q, "same circumstance, offence and zone as bands[%d]", k)
			} else {
				bands[key] = j
			}
		}
	}
	if err := v.Err(); err != nil {
		return Catalogue{}, fmt.Errorf("cases: load catalogue: %w", err)
	}
	return c, nil
}

func isCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= 'a' && s[i] <= 'z' || s[i] >= '0' && s[i] <= '9' || s[i] == '_') {
			return false
		}
	}
	return true
}

// jsonField names the field a decoding error is about, as well as the
// decoder says.
func jsonField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
	}
	return "catalogue"
}
