package demo

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/baoshui/baoshui/server/enforcement"
)

const numDays = 366 // 2020 is a leap year

// The shares of persons cleared by activity (illustrative; "other" takes the
// rest of the reported total).
var personShares = []struct {
	activity enforcement.Activity
	persons  int64
}{
	{enforcement.ActivityFishing, 2543},
	{enforcement.ActivitySwimming, 1782},
	{enforcement.ActivityVisiting, 1986},
	{enforcement.ActivityOther, 0}, // the remainder
}

// Generate builds the demo year for seed. The same seed always gives the
// same year (deep-equal, and byte-identical once written); the totals of
// every seed are exactly Reported2020. It panics if they are not: that is
// a bug in the generator, not a condition of the input.
func Generate(seed int64) Year {
	y := generate(seed, true)
	if got := y.Figures(); got != Reported2020 {
		panic(fmt.Sprintf("demo.Generate(%d): figures %+v, want %+v", seed, got, Reported2020))
	}
	from, to := enforcement.DayFromDate(2020, 1, 1), enforcement.DayFromDate(2021, 1, 1)
	for i := range y.Records {
		for _, c := range y.Records[i].Contributions() {
			if c.Day < from || c.Day >= to {
				panic(fmt.Sprintf("demo.Generate(%d): record %s counts on %s, outside 2020", seed, y.Records[i].ID, c.Day))
			}
		}
	}
	return y
}

// generate runs the generator. Without yearEnd every case is decided
// within 2020 and its fines alone add up to the reported total: the year
// as it was before some cases were left open and some transferred, which
// must be the same but for those case records and the fines spread over
// the others (yearEnd draws nothing from the random source).
func generate(seed int64, yearEnd bool) Year {
	g := newGen(seed)
	g.basePatrols()
	g.expulsions()
	g.vehicles()
	g.confiscations()
	g.grazing()
	g.cases()
	if yearEnd {
		g.yearEnd()
	}
	g.finish()
	return g.year()
}

type unitInfo struct {
	enforcement.Unit
	town     int     // index into towns; -1 for the district team
	lo, hi   float64 // the stretch of shore (arc length, m) the team patrols
	officers []string
}

type unitDay struct{ unit, day int }

type dayInfo struct {
	date    time.Time // 00:00 Asia/Shanghai
	month   time.Month
	off     bool    // a weekend or public holiday (makeup workdays excluded)
	peak    bool    // Qingming, May Day and National Day holidays
	weather float64 // how inviting the day was; multiplies outdoor activity
}

type gen struct {
	r        *rand.Rand
	entropy  randReader
	shore    *shoreline
	units    []unitInfo
	users    []User
	townUnit []int   // unit index of each town's team
	villages [][]int // unit indexes of each town's village teams
	days     [numDays]dayInfo
	byDay    map[unitDay][]*patrol
	patrols  []*patrol
	pending  []pending
	sameSpot [][2]*enforcement.Record // {case, incident}: the case is placed where the incident was
	records  []*enforcement.Record

	townDist dist
	activity map[enforcement.Activity]dist // day distributions, whole year
	caseDays map[enforcement.Activity]dist // day distributions up to 20 December

	items    []*enforcement.Item // every confiscated item line, in creation order
	caseList []caseInfo
}

type caseInfo struct {
	rec *enforcement.Record
	v   *violation
}

// randReader feeds ULID entropy from the seeded generator.
type randReader struct{ r *rand.Rand }

func (rr randReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(rr.r.Uint32())
	}
	return len(p), nil
}

func newGen(seed int64) *gen {
	r := rand.New(rand.NewPCG(uint64(seed), 0x6d697975_6e323032)) // "miyun202"
	g := &gen{
		r:        r,
		entropy:  randReader{r},
		shore:    newShoreline(shoreLonLat),
		byDay:    map[unitDay][]*patrol{},
		activity: map[enforcement.Activity]dist{},
		caseDays: map[enforcement.Activity]dist{},
	}
	g.buildUnits()
	g.buildDays()
	return g
}

func (g *gen) buildUnits() {
	g.units = append(g.units, unitInfo{
		Unit: enforcement.Unit{ID: DistrictUnit, Name: "密云区保水大队", NameEN: "Miyun District Water Protection Brigade",
			Tier: enforcement.TierDistrict},
		town: -1,
	})
	anchors := make([]float64, len(towns))
	for i, t := range towns {
		anchors[i] = g.shore.vertexArc(t.anchor)
	}
	for i, t := range towns {
		gap := math.Inf(1)
		for j := range towns {
			if j != i {
				d := math.Abs(anchors[i] - anchors[j])
				gap = min(gap, d, g.shore.perimeter-d)
			}
		}
		half := min(4500, 0.45*gap)
		c := anchors[i]
		g.townUnit = append(g.townUnit, len(g.units))
		g.units = append(g.units, unitInfo{
			Unit: enforcement.Unit{ID: "town-" + t.slug, Name: t.name + "保水队", NameEN: t.nameEN + " Town Water Protection Team",
				Tier: enforcement.TierTown, Parent: DistrictUnit},
			town: i, lo: c - half, hi: c + half,
		})
		var vs []int
		for k, v := range t.villages {
			f := -0.55 + 1.1*float64(k)/float64(len(t.villages)-1)
			vc, vh := c+f*half, 0.3*half
			vs = append(vs, len(g.units))
			g.units = append(g.units, unitInfo{
				Unit: enforcement.Unit{ID: "village-" + v.slug, Name: v.name + "保水队", NameEN: v.nameEN + " Village Water Protection Team",
					Tier: enforcement.TierVillage, Parent: "town-" + t.slug},
				town: i, lo: vc - vh, hi: vc + vh,
			})
		}
		g.villages = append(g.villages, vs)
	}

	g.users = []User{
		{Username: "admin", Password: Password, Name: "系统管理员", Role: RoleAdmin, Unit: DistrictUnit},
		{Username: "office", Password: Password, Name: "区保水办公室", Role: RoleOffice, Unit: DistrictUnit},
	}
	for i := range g.units {
		u := &g.units[i]
		slug, n := DistrictUnit, 2
		switch u.Tier {
		case enforcement.TierTown:
			slug = towns[u.town].slug
			g.users = append(g.users, User{Username: "supervisor-" + slug, Password: Password,
				Name: u.Name + "队长", Role: RoleSupervisor, Unit: u.ID})
		case enforcement.TierVillage:
			slug, n = u.ID[len("village-"):], 1
		}
		for k := 1; k <= n; k++ {
			name := fmt.Sprintf("officer-%s-%d", slug, k)
			u.officers = append(u.officers, name)
			g.users = append(g.users, User{Username: name, Password: Password,
				Name: fmt.Sprintf("%s队员%d", u.Name, k), Role: RoleOfficer, Unit: u.ID})
		}
	}

	w := make([]float64, len(towns))
	for i, t := range towns {
		w[i] = t.weight
	}
	g.townDist = newDist(w)
}

// holidays2020 are the public holidays of 2020 (the Spring Festival as
// extended in January 2020); makeup2020 the weekend days that were workdays.
var (
	holidays2020 = [][2]string{
		{"2020-01-01", "2020-01-01"}, {"2020-01-24", "2020-02-02"}, {"2020-04-04", "2020-04-06"},
		{"2020-05-01", "2020-05-05"}, {"2020-06-25", "2020-06-27"}, {"2020-10-01", "2020-10-08"},
	}
	peak2020   = map[string]bool{"2020-04-04": true, "2020-05-01": true, "2020-10-01": true} // first days of peak holidays
	makeup2020 = []string{"2020-01-19", "2020-04-26", "2020-05-09", "2020-06-28", "2020-09-27", "2020-10-10"}
)

func (g *gen) buildDays() {
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, enforcement.Shanghai)
	for i := range g.days {
		d := start.AddDate(0, 0, i)
		wd := d.Weekday()
		g.days[i] = dayInfo{
			date:    d,
			month:   d.Month(),
			off:     wd == time.Saturday || wd == time.Sunday,
			weather: math.Exp(0.3 * g.r.NormFloat64()),
		}
	}
	index := func(s string) int {
		t, err := time.ParseInLocation(time.DateOnly, s, enforcement.Shanghai)
		if err != nil {
			panic(err)
		}
		return int(t.Sub(start).Hours() / 24)
	}
	for _, h := range holidays2020 {
		peak := peak2020[h[0]]
		for i := index(h[0]); i <= index(h[1]); i++ {
			g.days[i].off = true
			g.days[i].peak = peak
		}
	}
	for _, s := range makeup2020 {
		g.days[index(s)].off = false
	}

	lastCaseDay := index("2020-12-20")
	for _, a := range enforcement.Activities {
		w := make([]float64, numDays)
		for i := range w {
			w[i] = g.dayWeight(a, i)
		}
		g.activity[a] = newDist(w)
		cw := slices.Clone(w)
		clear(cw[lastCaseDay+1:])
		g.caseDays[a] = newDist(cw)
	}
}

// Monthly intensity of each activity, January first (illustrative).
var (
	fishingOutside = [13]float64{0, 0.06, 0.05, 0.2, 0, 0, 0, 0, 0, 0.45, 0.35, 0.15, 0.08}
	fishingInside  = [13]float64{0, 0, 0, 0, 0.9, 1.1, 1.2, 1.1, 1.0, 0.9, 0, 0, 0}
	swimmingMonth  = [13]float64{0, 0.02, 0.01, 0.01, 0.05, 0.35, 1.0, 1.6, 1.5, 0.45, 0.06, 0.02, 0.02}
	visitingMonth  = [13]float64{0, 0.25, 0.12, 0.3, 0.75, 0.9, 0.6, 0.55, 0.6, 0.85, 1.0, 0.45, 0.2}
	otherMonth     = [13]float64{0, 0.4, 0.3, 0.5, 0.8, 1, 1, 1, 1, 1, 1, 0.6, 0.4}
)

// inFishingBan reports whether the day lies in the fishing-ban season,
// 1 April to 24 September.
func inFishingBan(d time.Time) bool {
	m, day := d.Month(), d.Day()
	return m >= time.April && (m < time.September || m == time.September && day <= 24)
}

// dayWeight is how much of a year's activity a falls on day i.
func (g *gen) dayWeight(a enforcement.Activity, i int) float64 {
	d := g.days[i]
	var w, offFactor float64
	switch a {
	case enforcement.ActivityFishing:
		w, offFactor = fishingOutside[d.month], 1.6
		if inFishingBan(d.date) {
			w = fishingInside[d.month]
		}
		w *= d.weather
	case enforcement.ActivitySwimming:
		w, offFactor = swimmingMonth[d.month]*d.weather*d.weather, 2.2
	case enforcement.ActivityVisiting:
		w, offFactor = visitingMonth[d.month]*d.weather, 2.6
		if d.peak {
			w *= 1.6
		}
	default:
		w, offFactor = otherMonth[d.month]*d.weather, 1.4
	}
	if d.off {
		w *= offFactor
	}
	return w
}

// minuteFor is a plausible local time of day (minutes after midnight) for
// activity a on day i: anglers at dawn and dusk (ice fishing by day in
// winter), swimmers in the afternoon, visitors around midday.
func (g *gen) minuteFor(a enforcement.Activity, i int) int {
	m := g.days[i].month
	x := g.r.Float64()
	switch a {
	case enforcement.ActivityFishing:
		if m == time.December || m <= time.February {
			return 9*60 + g.r.IntN(390)
		}
		switch {
		case x < 0.3:
			return 5*60 + g.r.IntN(180)
		case x < 0.65:
			return 17*60 + g.r.IntN(180)
		}
		return 8*60 + g.r.IntN(540)
	case enforcement.ActivitySwimming:
		if x < 0.8 {
			return 13*60 + g.r.IntN(390)
		}
		return 10*60 + g.r.IntN(180)
	case enforcement.ActivityVisiting:
		return 9*60 + (g.r.IntN(510)+g.r.IntN(510))/2
	}
	return 8*60 + g.r.IntN(600)
}

// dist samples an index with probability proportional to its weight.
type dist struct{ cum []float64 }

func newDist(w []float64) dist {
	cum := make([]float64, len(w))
	var s float64
	for i, x := range w {
		s += x
		cum[i] = s
	}
	return dist{cum}
}

func (d dist) sample(r *rand.Rand) int {
	x := r.Float64() * d.cum[len(d.cum)-1]
	// The first index whose cumulative weight exceeds x: never a zero-weight one.
	return sort.Search(len(d.cum)-1, func(i int) bool { return d.cum[i] > x })
}

func weighted(r *rand.Rand, w []float64) int { return newDist(w).sample(r) }

func (g *gen) newID(t time.Time) string {
	return ulid.MustNew(ulid.Timestamp(t), g.entropy).String()
}

func (g *gen) at(day, minute int) time.Time {
	return g.days[day].date.Add(time.Duration(minute) * time.Minute)
}

// campaignOf is the campaign of a record observed at t.
func campaignOf(t time.Time) string {
	d := t.In(enforcement.Shanghai).Format(time.DateOnly)
	if d >= CampaignFrom && d <= CampaignTo {
		return Campaign
	}
	return ""
}

// basePatrols lays down the regular patrols: each town team most days
// (morning, afternoon or both), the district team on some days, the village
// teams now and then.
func (g *gen) basePatrols() {
	townDay := [13]float64{0, 0.75, 0.7, 0.85, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.92, 0.85, 0.78}
	for day := range numDays {
		m := g.days[day].month
		summer := m >= time.April && m <= time.September
		for u := range g.units {
			ui := &g.units[u]
			switch ui.Tier {
			case enforcement.TierDistrict:
				if g.r.Float64() < 0.3 {
					t := g.townDist.sample(g.r)
					tu := &g.units[g.townUnit[t]]
					g.slotPatrol(u, day, g.r.IntN(2) == 0, tu.lo, tu.hi, g.r.Float64() < 0.6, 0)
				}
			case enforcement.TierTown:
				if g.r.Float64() >= townDay[m] {
					continue
				}
				both, amOnly := 0.15, 0.5
				if summer {
					both, amOnly = 0.3, 0.4
				}
				x := g.r.Float64()
				am, pm := x < both+amOnly, x < both || x >= both+amOnly
				drive := g.r.Float64() < 0.25
				if am {
					g.slotPatrol(u, day, true, ui.lo, ui.hi, drive, 0)
				}
				if pm {
					g.slotPatrol(u, day, false, ui.lo, ui.hi, drive, 0)
				}
			case enforcement.TierVillage:
				p := 0.06
				if summer {
					p = 0.09
				}
				if g.r.Float64() < p {
					g.slotPatrol(u, day, g.r.IntN(2) == 0, ui.lo, ui.hi, false, 150)
				}
			}
		}
	}
}

// slotPatrol adds a morning (from 07:30–09:00) or afternoon (from
// 13:30–15:00) patrol of 2 to 4 hours, or up to maxMin minutes if set. In
// the fishing-ban season town and district teams often go out at dawn (from
// 05:00–06:30) and, in summer, in the evening (from 16:00–17:30), when the
// anglers come.
func (g *gen) slotPatrol(u, day int, morning bool, lo, hi float64, drive bool, maxMin int) {
	ban := inFishingBan(g.days[day].date) && maxMin == 0
	summer := g.days[day].month >= time.May && g.days[day].month <= time.August
	var start int
	switch {
	case morning && ban && g.r.Float64() < 0.5:
		start = 5*60 + 5*g.r.IntN(19)
	case morning:
		start = 7*60 + 30 + 5*g.r.IntN(19)
	case summer && ban && g.r.Float64() < 0.5:
		start = 16*60 + 5*g.r.IntN(19)
	default:
		start = 13*60 + 30 + 5*g.r.IntN(19)
	}
	dur := 120 + 5*g.r.IntN(25)
	if maxMin > 0 {
		dur = 90 + 5*g.r.IntN((maxMin-90)/5+1)
	}
	g.newPatrol(u, day, start, dur, lo, hi, drive)
}

// patrol is a planned patrol. Its window may still grow while incidents
// are placed on it; its track and record are made by finish.
type patrol struct {
	u, day     int
	start, end int     // minutes after midnight
	lo, hi     float64 // stretch of shore, arc length in metres
	drive      bool
	officers   []string
	rec        *enforcement.Record
	arcs, offs []float64 // where along the shore, and how far off it, each track point is
}

// pending is a record waiting for its patrol's track: its location is where
// the patrol was at its time, give or take 15–180 m.
type pending struct {
	rec *enforcement.Record
	p   *patrol
}

// newPatrol plans a patrol of unit u on day from minute start for dur
// minutes along the shore between arc lengths lo and hi.
func (g *gen) newPatrol(u, day, start, dur int, lo, hi float64, drive bool) *patrol {
	officers := g.units[u].officers
	if len(officers) > 1 && g.r.Float64() < 0.35 {
		officers = []string{officers[g.r.IntN(len(officers))]}
	}
	p := &patrol{u: u, day: day, start: start, end: start + dur, lo: lo, hi: hi, drive: drive, officers: officers}
	g.patrols = append(g.patrols, p)
	k := unitDay{u, day}
	g.byDay[k] = append(g.byDay[k], p)
	return p
}

// maxPatrol is the longest a patrol may grow to take in an incident.
const maxPatrol = 300

// place finds the patrol of unit u during which something seen on day at
// minute was recorded: a patrol covering that time; else one that ends or
// starts within 90 minutes of it and may grow to cover it (up to five
// hours); else a new patrol around it. town is the stretch of shore a new
// district patrol walks. It returns the patrol and the minute.
func (g *gen) place(u, town, day, minute int) (*patrol, int) {
	var best *patrol
	bestGap := math.MaxInt
	for _, p := range g.byDay[unitDay{u, day}] {
		if minute >= p.start && minute <= p.end {
			return p, minute
		}
		gap := p.start - minute
		if minute > p.end {
			gap = minute - p.end
		}
		if gap < bestGap {
			best, bestGap = p, gap
		}
	}
	if best != nil && bestGap <= 90 {
		margin := 5 + 5*g.r.IntN(4)
		if minute < best.start {
			if s := (minute - margin) / 5 * 5; best.end-s <= maxPatrol && s >= 4*60+30 {
				best.start = s
				return best, minute
			}
		} else if e := (minute + margin + 4) / 5 * 5; e-best.start <= maxPatrol && e <= 23*60 {
			best.end = e
			return best, minute
		}
	}
	dur := 90 + 5*g.r.IntN(25)
	frac := 0.1 + 0.8*g.r.Float64()
	if minute >= 18*60 {
		frac = 0.4 + 0.5*g.r.Float64()
	}
	start := max(minute-int(frac*float64(dur)), 4*60+30)
	start -= start % 5
	ui := &g.units[u]
	lo, hi := ui.lo, ui.hi
	drive := false
	switch ui.Tier {
	case enforcement.TierDistrict:
		tu := &g.units[g.townUnit[town]]
		lo, hi, drive = tu.lo, tu.hi, g.r.Float64() < 0.6
	case enforcement.TierTown:
		drive = g.r.Float64() < 0.25
	}
	return g.newPatrol(u, day, start, dur, lo, hi, drive), minute
}

// finish walks every planned patrol — a track of 10 to 40 timed points
// along its stretch of shore, on foot or by car — makes its record, and
// places every pending record near its patrol.
func (g *gen) finish() {
	for _, p := range g.patrols {
		p.rec = g.walk(p)
		g.records = append(g.records, p.rec)
	}
	for _, e := range g.pending {
		e.rec.PatrolID = e.p.rec.ID
		e.rec.Location = g.near(e.p, e.rec.ObservedAt)
	}
	for _, s := range g.sameSpot {
		s[0].Location = &enforcement.Point{Type: "Point", Coordinates: s[1].Location.Coordinates}
	}
}

func (g *gen) walk(pl *patrol) *enforcement.Record {
	dur := pl.end - pl.start
	t0 := g.at(pl.day, pl.start)
	t1 := g.at(pl.day, pl.end)
	speed := 0.7 + 0.5*g.r.Float64() // m/s on foot, with stops
	if pl.drive {
		speed = 2 + 2*g.r.Float64() // a patrol car crawling along the shore road
	}
	n := min(max(dur/12+g.r.IntN(5)-2, 10), 40)
	step := t1.Sub(t0) / time.Duration(n-1)
	times := make([]time.Time, n)
	coords := make([]enforcement.Position, n)
	lo, hi := pl.lo, pl.hi
	s := lo + (hi-lo)*g.r.Float64()
	dir := 1.0
	if g.r.IntN(2) == 0 {
		dir = -1
	}
	off := 20 + 40*g.r.Float64()
	for i := range n {
		switch i {
		case 0:
			times[i] = t0
		case n - 1:
			times[i] = t1
		default:
			jitter := time.Duration((g.r.Float64() - 0.5) * 0.6 * float64(step))
			times[i] = t0.Add(time.Duration(i)*step + jitter).Truncate(time.Second)
		}
		if i > 0 {
			s += dir * speed * times[i].Sub(times[i-1]).Seconds() * (0.6 + 0.8*g.r.Float64())
			for s < lo || s > hi {
				if s > hi {
					s, dir = 2*hi-s, -dir
				} else {
					s, dir = 2*lo-s, -dir
				}
			}
			off = min(max(off+15*g.r.NormFloat64(), 5), 120)
		}
		coords[i] = toLonLat(g.shore.at(s, off))
		pl.arcs = append(pl.arcs, s)
		pl.offs = append(pl.offs, off)
	}
	return &enforcement.Record{
		ID:         g.newID(t0),
		Kind:       enforcement.KindPatrol,
		ObservedAt: t0,
		Location:   &enforcement.Point{Type: "Point", Coordinates: coords[0]},
		Unit:       g.units[pl.u].ID,
		Officers:   slices.Clone(pl.officers),
		Campaign:   campaignOf(t0),
		StartedAt:  &t0,
		EndedAt:    &t1,
		Track:      &enforcement.LineString{Type: "LineString", Coordinates: coords},
		TrackTimes: times,
	}
}

// near is a point 15–180 m from where patrol p was at time t: on the
// shore between the track points either side of t, so that a patrol car's
// long hop across a bay never puts an incident out in the water.
func (g *gen) near(p *patrol, t time.Time) *enforcement.Point {
	tt := p.rec.TrackTimes
	i := sort.Search(len(tt), func(i int) bool { return tt[i].After(t) }) // first point after t
	var arc, off float64
	switch {
	case i == 0:
		arc, off = p.arcs[0], p.offs[0]
	case i == len(tt):
		arc, off = p.arcs[i-1], p.offs[i-1]
	default:
		f := t.Sub(tt[i-1]).Seconds() / tt[i].Sub(tt[i-1]).Seconds()
		arc = p.arcs[i-1] + f*(p.arcs[i]-p.arcs[i-1])
		off = p.offs[i-1] + f*(p.offs[i]-p.offs[i-1])
	}
	x, y := g.shore.at(arc, off)
	d := 15 + 165*g.r.Float64()
	b := 2 * math.Pi * g.r.Float64()
	pos := toLonLat(x+d*math.Cos(b), y+d*math.Sin(b))
	return &enforcement.Point{Type: "Point", Coordinates: pos}
}

// pickUnit chooses the team that recorded an incident: a town by its share
// of visitors, then the district team, one of the town's village teams or
// the town team.
func (g *gen) pickUnit(pDistrict, pVillage float64) (u, town int) {
	town = g.townDist.sample(g.r)
	x := g.r.Float64()
	switch {
	case x < pDistrict:
		return 0, town
	case x < pDistrict+pVillage:
		vs := g.villages[town]
		return vs[g.r.IntN(len(vs))], town
	}
	return g.townUnit[town], town
}

// record adds a record of kind seen by unit u on day at about minute,
// linked to the patrol it was seen on; finish places it near that patrol.
func (g *gen) record(kind enforcement.Kind, u, town, day, minute int) *enforcement.Record {
	p, minute := g.place(u, town, day, minute)
	t := g.at(day, minute)
	officers := p.officers
	if len(officers) > 1 && g.r.Float64() < 0.45 {
		officers = []string{officers[g.r.IntN(len(officers))]}
	}
	rec := &enforcement.Record{
		ID:         g.newID(t),
		Kind:       kind,
		ObservedAt: t,
		Unit:       g.units[u].ID,
		Officers:   slices.Clone(officers),
		Campaign:   campaignOf(t),
	}
	g.records = append(g.records, rec)
	g.pending = append(g.pending, pending{rec, p})
	return rec
}

// Group sizes of the people cleared away, by activity (weights of 1, 2, …).
var groupSizes = map[enforcement.Activity][]float64{
	enforcement.ActivityFishing:  {50, 30, 12, 5, 2, 1},
	enforcement.ActivitySwimming: {25, 30, 18, 12, 6, 4, 3, 2},
	enforcement.ActivityVisiting: {10, 28, 20, 16, 10, 7, 5, 4},
	enforcement.ActivityOther:    {55, 30, 10, 5},
}

func (g *gen) groupSize(a enforcement.Activity) int64 {
	switch {
	case a == enforcement.ActivitySwimming && g.r.Float64() < 0.02:
		return 10 + g.r.Int64N(11) // a company outing at the water
	case a == enforcement.ActivityVisiting && g.r.Float64() < 0.04:
		return 10 + g.r.Int64N(21) // a tour group on the dam
	}
	return int64(weighted(g.r, groupSizes[a])) + 1
}

// expulsions clears away exactly the reported number of people: groups are
// drawn until each activity's share is used up, the last group taking what
// is left.
func (g *gen) expulsions() {
	rest := Reported2020.PersonsCleared
	for _, s := range personShares {
		left := s.persons
		if s.persons == 0 {
			left = rest
		}
		rest -= left
		d := g.activity[s.activity]
		for left > 0 {
			n := min(g.groupSize(s.activity), left)
			day := d.sample(g.r)
			u, town := g.pickUnit(0.10, 0.12)
			rec := g.record(enforcement.KindExpulsion, u, town, day, g.minuteFor(s.activity, day))
			rec.Persons, rec.Activity = n, s.activity
			left -= n
		}
	}
}

// vehicles clears exactly the reported number of vehicles: visitors' and
// anglers' cars on the shore.
func (g *gen) vehicles() {
	sizes := []float64{72, 18, 6, 2, 1, 0.4, 0.3, 0.3}
	left := Reported2020.VehiclesCleared
	for left > 0 {
		n := min(int64(weighted(g.r, sizes))+1, left)
		a := enforcement.ActivityVisiting
		if g.r.Float64() < 0.4 {
			a = enforcement.ActivityFishing
		}
		day := g.activity[a].sample(g.r)
		u, town := g.pickUnit(0.12, 0.13)
		rec := g.record(enforcement.KindVehicle, u, town, day, g.minuteFor(a, day))
		rec.Vehicles = n
		if g.r.Float64() < 0.7 {
			for range min(n, 4) {
				rec.Plates = append(rec.Plates, g.plate())
			}
		}
		left -= n
	}
}

// plate is an invented licence plate such as 京Q·8A2B6.
func (g *gen) plate() string {
	w := make([]float64, len(platePrefixes))
	for i, p := range platePrefixes {
		w[i] = p.weight
	}
	b := []byte(platePrefixes[weighted(g.r, w)].prefix + "·")
	letters := 0
	if x := g.r.Float64(); x >= 0.7 {
		letters = 1
		if x >= 0.9 {
			letters = 2
		}
	}
	pos := g.r.Perm(5)[:letters]
	for i := range 5 {
		if slices.Contains(pos, i) {
			b = append(b, plateLetters[g.r.IntN(len(plateLetters))])
		} else {
			b = append(b, byte('0'+g.r.IntN(10)))
		}
	}
	return string(b)
}

// confiscations seizes exactly the reported number of items; their values
// are then scaled and nudged so the total value is exactly the reported one.
func (g *gen) confiscations() {
	w := make([]float64, len(seizures))
	for i, s := range seizures {
		w[i] = s.weight
	}
	left := Reported2020.ItemsConfiscated
	for left > 0 {
		s := &seizures[weighted(g.r, w)]
		day := g.activity[s.activity].sample(g.r)
		u, town := g.pickUnit(0.15, 0)
		rec := g.record(enforcement.KindConfiscation, u, town, day, g.minuteFor(s.activity, day))
		pieces := slices.Clone(s.always)
		for _, p := range s.maybe {
			if g.r.IntN(2) == 0 {
				pieces = append(pieces, p)
			}
		}
		for _, p := range pieces {
			if left == 0 {
				break
			}
			q := min(p.minQ+g.r.Int64N(p.maxQ-p.minQ+1), left)
			yuan := (p.minYuan + g.r.Int64N(p.maxYuan-p.minYuan+1) + 5) / 10 * 10
			rec.Items = append(rec.Items, enforcement.Item{Name: p.name, Quantity: q, UnitValueFen: yuan})
			left -= q
		}
	}
	// UnitValueFen holds yuan until the values are final.
	for _, rec := range g.records {
		for i := range rec.Items {
			g.items = append(g.items, &rec.Items[i])
		}
	}
	target := Reported2020.ConfiscatedValueFen / 100
	var sum int64
	for _, it := range g.items {
		sum += it.Quantity * it.UnitValueFen
	}
	f := float64(target) / float64(sum)
	sum = 0
	var ones []*enforcement.Item
	for _, it := range g.items {
		it.UnitValueFen = max(int64(math.Round(float64(it.UnitValueFen)*f)), 10)
		sum += it.Quantity * it.UnitValueFen
		if it.Quantity == 1 {
			ones = append(ones, it)
		}
	}
	perm := g.r.Perm(len(ones))
	for pass := 0; sum != target; pass++ {
		if pass > 100 || len(ones) == 0 {
			panic(fmt.Sprintf("demo: cannot settle the confiscated value: off by %d yuan", target-sum))
		}
		for _, k := range perm {
			it := ones[k]
			step := min(max(target-sum, -it.UnitValueFen/4), it.UnitValueFen/4)
			it.UnitValueFen += step
			sum += step
			if sum == target {
				break
			}
		}
	}
	for _, it := range g.items {
		it.UnitValueFen *= 100
	}
}

// grazingIncidents are the five grazing incidents of the year (dates,
// places and herds illustrative); two of them led to a case.
var grazingIncidents = []struct {
	date    string
	town    string
	village bool
	animals int64
	note    string
	cased   bool
}{
	{"2020-04-18", "bulaotun", false, 35, "羊群约35只在库滨带放牧，已劝离", true},
	{"2020-05-23", "gaoling", true, 28, "山羊28只进入一级保护区，已劝离", false},
	{"2020-07-09", "fengjiayu", false, 6, "黄牛6头在库边放牧，已劝离", false},
	{"2020-09-19", "taishitun", false, 42, "羊群40余只在库滨带放牧，已劝离并立案", true},
	{"2020-10-24", "shicheng", true, 0, "放牧人员已劝离，牲畜数量未清点", false},
}

func (g *gen) grazing() {
	for _, inc := range grazingIncidents {
		town := slices.IndexFunc(towns, func(t town) bool { return t.slug == inc.town })
		day := int(mustDate(inc.date).Sub(g.days[0].date).Hours() / 24)
		u := g.townUnit[town]
		if inc.village {
			vs := g.villages[town]
			u = vs[g.r.IntN(len(vs))]
		}
		minute := 6*60 + 30 + g.r.IntN(180)
		if g.r.IntN(2) == 0 {
			minute = 15*60 + 30 + g.r.IntN(150)
		}
		rec := g.record(enforcement.KindGrazing, u, town, day, minute)
		rec.Animals, rec.Note = inc.animals, inc.note
		if inc.cased {
			g.sameSpot = append(g.sameSpot, [2]*enforcement.Record{g.caseFor(rec, &grazingViolation), rec})
		}
	}
}

func mustDate(s string) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, s, enforcement.Shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// cases files exactly the reported number of cases, numbers them in order of
// filing and nudges the fines, within each violation's discretion range, so
// that they add up to the reported total. Every case is decided in 2020
// here; yearEnd then leaves some open and transfers some.
func (g *gen) cases() {
	w := make([]float64, len(violations))
	for i, v := range violations {
		w[i] = v.weight
	}
	for int64(len(g.caseList)) < Reported2020.CasesFiled {
		v := &violations[weighted(g.r, w)]
		day := g.caseDays[v.activity].sample(g.r)
		town := g.townDist.sample(g.r)
		u := g.townUnit[town]
		if g.r.Float64() < 0.12 {
			u = 0
		}
		c := g.record(enforcement.KindCase, u, town, day, g.minuteFor(v.activity, day))
		g.fillCase(c, v)
	}

	target := Reported2020.FinesFen / 10000 // in hundreds of yuan
	var sum int64
	for _, c := range g.caseList {
		sum += c.rec.FineFen / 10000
	}
	for i := 0; sum != target; i++ {
		if i > 1_000_000 {
			panic(fmt.Sprintf("demo: cannot settle the fines: off by %d00 yuan", target-sum))
		}
		c := g.caseList[g.r.IntN(len(g.caseList))]
		if c.rec.FineFen == 0 {
			continue // a warning stays a warning
		}
		step := min(max(target-sum, -1-g.r.Int64N(5)), 1+g.r.Int64N(5))
		fine := c.rec.FineFen/10000 + step
		if fine*100 < c.v.minYuan || fine*100 > c.v.maxYuan {
			continue
		}
		c.rec.FineFen = fine * 10000
		sum += step
	}

	slices.SortFunc(g.caseList, func(a, b caseInfo) int {
		return cmp.Or(a.rec.FiledAt.Compare(*b.rec.FiledAt), cmp.Compare(a.rec.ID, b.rec.ID))
	})
	for i, c := range g.caseList {
		c.rec.CaseNo = fmt.Sprintf("密保罚〔2020〕第%04d号", i+1)
	}
}

// The case records that do not end in a decision within 2020.
const (
	numOpen        = 9 // still open at the end of the year
	numTransferred = 4 // transferred to the public security organs (行刑衔接)
)

// openStatuses are the statuses the cases still open at the end of 2020
// carry, in turn in the order of filing.
var openStatuses = []string{"investigating", "notice_served", "legal_review"}

// openFrom is the earliest filing of a case still open at the end of 2020:
// late enough that its 90-day decision period has not run out by then.
// (Few cases are filed in winter: with seed 2020 the last is filed on
// 9 December, the ninth non-warning case from the end on 25 November.)
var openFrom = time.Date(2020, 11, 20, 0, 0, 0, 0, enforcement.Shanghai)

// yearEnd leaves some of the last-filed cases open at the end of the year
// and transfers a few serious ones to the public security organs: neither
// has a decision or a fine. Their fines go, 100 yuan at a time, to the
// other decided cases, within each violation's discretion range, so the
// fines decided in 2020 still add up to the reported total. It is
// deterministic and draws nothing from g.r, so that no other record of the
// year changes.
func (g *gen) yearEnd() {
	var removed int64 // in hundreds of yuan
	undecide := func(c caseInfo, status string) {
		removed += c.rec.FineFen / 10000
		c.rec.Status, c.rec.FineFen, c.rec.DecidedAt = status, 0, nil
	}

	// Open: the last-filed cases (never a warning), filed on or after
	// openFrom, in the order of filing.
	var open []caseInfo
	for i := len(g.caseList) - 1; i >= 0 && len(open) < numOpen; i-- {
		c := g.caseList[i]
		if c.rec.FiledAt.Before(openFrom) {
			break
		}
		if c.rec.FineFen > 0 {
			open = append(open, c)
		}
	}
	slices.Reverse(open)
	for k, c := range open {
		undecide(c, openStatuses[k%len(openStatuses)])
	}

	// Transferred: the highest fines of the most serious violations (the
	// highest top of the discretion range: electrofishing) among the cases
	// filed before December.
	december := time.Date(2020, 12, 1, 0, 0, 0, 0, enforcement.Shanghai)
	var serious []caseInfo
	for _, c := range g.caseList {
		if c.rec.FineFen > 0 && c.rec.DecidedAt != nil && c.rec.FiledAt.Before(december) {
			serious = append(serious, c)
		}
	}
	slices.SortStableFunc(serious, func(a, b caseInfo) int {
		return cmp.Or(cmp.Compare(b.v.maxYuan, a.v.maxYuan), cmp.Compare(b.rec.FineFen, a.rec.FineFen),
			cmp.Compare(a.rec.CaseNo, b.rec.CaseNo))
	})
	for _, c := range serious[:min(numTransferred, len(serious))] {
		undecide(c, "transferred")
	}

	// Spread what was taken over the decided cases, 100 yuan each in turn
	// in the order of filing, as long as the violation's range allows.
	for removed > 0 {
		progress := false
		for _, c := range g.caseList {
			if removed == 0 {
				break
			}
			if c.rec.DecidedAt == nil || c.rec.FineFen == 0 || c.rec.FineFen/100+100 > c.v.maxYuan {
				continue
			}
			c.rec.FineFen += 10000
			removed--
			progress = true
		}
		if !progress {
			panic(fmt.Sprintf("demo: cannot spread the fines of the open and transferred cases: %d00 yuan left", removed))
		}
	}
}

// caseFor files a case about the incident rec, by the same team on the
// same patrol. Only town and district teams file cases: village teams have
// no power to fine.
func (g *gen) caseFor(rec *enforcement.Record, v *violation) *enforcement.Record {
	u := slices.IndexFunc(g.units, func(u unitInfo) bool { return u.ID == rec.Unit })
	if g.units[u].Tier == enforcement.TierVillage {
		panic("demo: a village team cannot file a case")
	}
	obs := rec.ObservedAt
	day := int(obs.Sub(g.days[0].date).Hours() / 24)
	minute := obs.Hour()*60 + obs.Minute()
	c := g.record(enforcement.KindCase, u, g.units[u].town, day, minute)
	g.fillCase(c, v)
	return c
}

// fillCase fills the case fields of c: filing the same day or within five
// days, a decision 3–45 days later (on the spot for small fines), all
// within 2020.
func (g *gen) fillCase(c *enforcement.Record, v *violation) {
	obs := c.ObservedAt
	var filed time.Time
	if g.r.Float64() < 0.4 {
		filed = obs.Add(time.Duration(60+g.r.IntN(181)) * time.Minute)
	} else {
		d := time.Date(obs.Year(), obs.Month(), obs.Day(), 9, 0, 0, 0, enforcement.Shanghai)
		filed = d.AddDate(0, 0, 1+g.r.IntN(5)).Add(time.Duration(g.r.IntN(510)) * time.Minute)
	}
	fine := v.fines[weighted(g.r, v.fineWeight)]
	var decided time.Time
	if fine <= 200 && g.r.Float64() < 0.5 {
		decided = filed.Add(time.Duration(10+g.r.IntN(51)) * time.Minute) // on the spot
	} else {
		d := time.Date(filed.Year(), filed.Month(), filed.Day(), 9, 0, 0, 0, enforcement.Shanghai)
		decided = d.AddDate(0, 0, 3+g.r.IntN(43)).Add(time.Duration(g.r.IntN(510)) * time.Minute)
	}
	yearEnd := time.Date(2020, 12, 31, 17, 30, 0, 0, enforcement.Shanghai)
	if decided.After(yearEnd) {
		span := yearEnd.Sub(filed) - 30*time.Minute
		decided = filed.Add(30*time.Minute + time.Duration(g.r.Int64N(int64(span)))).Truncate(time.Minute)
	}
	status := "closed"
	if fine > 0 && (decided.Month() == time.December && g.r.Float64() < 0.6 || g.r.Float64() < 0.05) {
		status = "paid"
	}
	c.Violation = v.text
	c.LegalBasis = v.basis
	c.Party = g.party(v)
	c.FineFen = fine * 100
	c.Status = status
	c.FiledAt = &filed
	c.DecidedAt = &decided
	g.caseList = append(g.caseList, caseInfo{c, v})
}

// party is an anonymised party: a person ("张某", "李某某") or, for
// dumping, now and then a business.
func (g *gen) party(v *violation) string {
	if v.activity == enforcement.ActivityOther && g.r.Float64() < 0.3 {
		return []string{"某农家院", "某餐饮店", "某民宿"}[g.r.IntN(3)]
	}
	s := surnames[g.r.IntN(len(surnames))]
	if g.r.Float64() < 0.3 {
		return s + "某某"
	}
	return s + "某"
}

// year orders everything and copies it out.
func (g *gen) year() Year {
	recs := slices.Clone(g.records)
	slices.SortStableFunc(recs, func(a, b *enforcement.Record) int {
		return cmp.Or(a.ObservedAt.Compare(b.ObservedAt), cmp.Compare(a.ID, b.ID))
	})
	y := Year{Users: g.users}
	for _, u := range g.units {
		y.Units = append(y.Units, u.Unit)
	}
	for _, r := range recs {
		y.Records = append(y.Records, *r)
	}
	return y
}
