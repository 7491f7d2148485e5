package simulate

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/baoshui/baoshui/sensors"
)

// shanghai is the time zone of Asia/Shanghai. China has kept UTC+8 without
// daylight saving time since 1991, so a fixed zone is exact and does not
// depend on the time zone database of the machine.
var shanghai = time.FixedZone("CST", 8*60*60)

// Event is a rain event: runoff that raises turbidity and total phosphorus
// (and, less, the permanganate index, ammonia nitrogen, total nitrogen and
// fecal coliforms) and dilutes conductivity at the stations it reaches; at a
// river section it also lowers the water temperature, dissolved oxygen and
// pH a little. Its effect is a multiplier m(t) of the baseline
// concentrations:
//
//   - before Start, m = 1;
//   - during the rain, from Start to Start+Duration, m rises smoothly from 1
//     to Peak: m = 1 + (Peak−1)·sin²(π/2 · (t−Start)/Duration);
//   - after the rain, the excess decays exponentially with a time constant of
//     twice Duration: m = 1 + (Peak−1)·exp(−(t−Start−Duration)/(2·Duration)).
//
// Total phosphorus is multiplied by m, turbidity by 1 + 3·(m−1) and the
// permanganate index by 1 + 0.25·(m−1). The excesses m−1 of overlapping
// events add up. A Peak of 3 at a river inflow pushes total phosphorus above
// the river's Class II limit (0.1 mg/L) around the peak: an exceedance.
type Event struct {
	// Start is the instant the rain begins.
	Start time.Time
	// Duration is how long the rain lasts, and the time the multiplier
	// takes to reach Peak; it must be positive.
	Duration time.Duration
	// Stations are the ids of the stations the runoff reaches; when empty,
	// every river station (sensors.River) and no reservoir station.
	Stations []string
	// Peak is the multiplier of total phosphorus at the end of the rain: a
	// finite number of at least 1 (1 has no effect), such as 3.
	Peak float64
}

// problem says why e is not valid, or "" when it is.
func (e Event) problem() string {
	switch {
	case e.Start.IsZero():
		return "Start is required"
	case e.Duration <= 0:
		return "Duration must be positive"
	case !(e.Peak >= 1) || math.IsInf(e.Peak, 0):
		return "Peak must be a finite multiplier of at least 1"
	}
	return ""
}

// appliesTo reports whether e reaches station st.
func (e Event) appliesTo(st sensors.Station) bool {
	if len(e.Stations) == 0 {
		return st.WaterBody == sensors.River
	}
	return slices.Contains(e.Stations, st.ID)
}

// excess returns m(t) − 1 (see Event).
func (e Event) excess(t time.Time) float64 {
	if t.Before(e.Start) {
		return 0
	}
	since := t.Sub(e.Start)
	if since <= e.Duration {
		s := math.Sin(math.Pi / 2 * float64(since) / float64(e.Duration))
		return (e.Peak - 1) * s * s
	}
	return (e.Peak - 1) * math.Exp(-float64(since-e.Duration)/float64(2*e.Duration))
}

// Generator makes the samples of one station. It is deterministic: two
// generators of the same station with the same seed, events and exceedance
// setting return the same sample for the same instant, whatever the order of
// the calls. A Generator is safe for concurrent use.
type Generator struct {
	st     sensors.Station
	key    uint64 // the noise stream: the seed mixed with the station id
	idHash uint64 // the station's own traits, the same for every seed
	dirt   float64
	river  bool

	mu       sync.RWMutex
	events   []Event
	every    int
	interval time.Duration
}

// NewGenerator returns the generator of station st with the given seed. The
// station should be valid (sensors.ValidateStation): the samples hold
// exactly the parameters of st.Params, and the station's water body and
// target class set the baseline (river sections carry more than the
// reservoir, and a section with a laxer target class more again).
func NewGenerator(st sensors.Station, seed uint64) *Generator {
	st.Params = slices.Clone(st.Params)
	h := fnv.New64a()
	h.Write([]byte(st.ID))
	id := h.Sum64()
	target := st.TargetClass
	if !target.ValidTarget() {
		target = sensors.ClassII
	}
	return &Generator{
		st:     st,
		key:    mix(seed ^ mix(id)),
		idHash: id,
		dirt:   1 + 0.4*(float64(target)-float64(sensors.ClassII)),
		river:  st.WaterBody == sensors.River,
	}
}

// Station returns the station the generator makes samples for.
func (g *Generator) Station() sensors.Station {
	st := g.st
	st.Params = slices.Clone(st.Params)
	return st
}

// AddEvent adds a rain event; it changes the samples of the instants it
// reaches if it applies to the generator's station (see Event). An event
// without a Start, with a Duration that is not positive, or with a Peak that
// is not a finite number of at least 1 has no effect (Run refuses it).
func (g *Generator) AddEvent(e Event) {
	if e.problem() != "" {
		return
	}
	e.Stations = slices.Clone(e.Stations)
	g.mu.Lock()
	g.events = append(g.events, e)
	g.mu.Unlock()
}

// SetExceedanceEvery makes one sample in every n worse than the station's
// target class: time is cut into slots of length interval counted from the
// Unix epoch, and in each run of n consecutive slots, aligned on the epoch,
// the seed picks one whose samples get a spiked value of ammonia nitrogen or
// total phosphorus (whichever the station reports; the seed picks when it
// reports both; the permanganate index when it reports neither) of 1.3 to 2.5
// times the target class's limit. A station sampled once per interval, as Run
// does, thus has exactly one spiked sample in every n. n of 0 or less, or an
// interval that is not positive, turns the spikes off, which is the default.
func (g *Generator) SetExceedanceEvery(n int, interval time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n <= 0 || interval <= 0 {
		g.every, g.interval = 0, 0
		return
	}
	g.every, g.interval = n, interval
}

// Sample returns the station's sample at t. Its Time is t, and its Values
// hold every parameter of the station's Params and no other, rounded as the
// instruments report them: pH and dissolved oxygen to 2 decimals, the other
// concentrations in mg/L to 3, water temperature, conductivity and
// chlorophyll-a to 1, turbidity to 2, and fecal coliforms to whole numbers.
// Every value is a valid input (sensors.ValidateSample): finite, never
// negative, and a pH within 0 to 14.
func (g *Generator) Sample(t time.Time) sensors.Sample {
	g.mu.RLock()
	var excess float64
	for _, e := range g.events {
		if e.appliesTo(g.st) {
			excess += e.excess(t)
		}
	}
	spiked := g.spiked(t)
	g.mu.RUnlock()

	c := g.conditions(t, excess)
	at := mix(uint64(t.UnixNano()) ^ g.key)
	values := make(map[sensors.Param]float64, len(g.st.Params))
	for _, p := range g.st.Params {
		// Each parameter draws from its own stream so that adding a
		// parameter to a station does not change the others.
		rng := rand.New(rand.NewPCG(mix(g.key^paramKey(p)), at))
		values[p] = finish(p, g.value(p, c, rng))
	}
	if spiked {
		g.spike(values, t)
	}
	return sensors.Sample{Time: t, Values: values}
}

// conditions are what the values of one instant depend on.
type conditions struct {
	t      time.Time
	summer float64 // 0 in mid-January to 1 in late July
	photo  float64 // photosynthesis, 0 at night to 1 at 14:00 Shanghai time
	temp   float64 // water temperature, °C, before rounding
	excess float64 // the rain events' multiplier minus 1
}

func (g *Generator) conditions(t time.Time, excess float64) conditions {
	local := t.In(shanghai)
	hour := float64(local.Hour()) + float64(local.Minute())/60 + float64(local.Second())/3600
	doy := float64(local.YearDay()-1) + hour/24
	season := math.Cos(2 * math.Pi * (doy - 204) / 365.25) // 1 on 24 July
	c := conditions{t: t, summer: (1 + season) / 2, excess: excess}
	if hour > 8 && hour < 20 {
		c.photo = math.Sin(math.Pi * (hour - 8) / 12)
	}
	diurnal := math.Cos(2 * math.Pi * (hour - 15) / 24) // 1 at 15:00
	weather := g.smooth(sensors.ParamTemp, t, 3*24*time.Hour)
	if g.river {
		c.temp = 13 + 12*season + (0.4+1.4*c.summer)*diurnal + 1.2*weather - 0.3*math.Min(excess, 3)
	} else {
		c.temp = 15 + 11*season + (0.3+0.5*c.summer)*diurnal + 0.8*weather
	}
	c.temp += 0.3 * g.trait(sensors.ParamTemp)
	c.temp = math.Max(c.temp, 0)
	return c
}

// value returns the value of p under c before rounding; rng is the noise.
func (g *Generator) value(p sensors.Param, c conditions, rng *rand.Rand) float64 {
	noise := func(sd float64) float64 { return sd * math.Max(-3, math.Min(3, rng.NormFloat64())) }
	smooth := func(days float64) float64 { return g.smooth(p, c.t, time.Duration(days*24*float64(time.Hour))) }
	site := 1 + 0.08*g.trait(p) // the station's own level, within ±8 %
	winter := 1 - c.summer
	x := c.excess
	switch p {
	case sensors.ParamTemp:
		return c.temp + noise(0.05)
	case sensors.ParamPH:
		if g.river {
			return 7.75 + 0.2*c.summer + 0.12*c.photo + 0.06*smooth(4) - 0.05*math.Min(x, 3) + 0.05*g.trait(p) + noise(0.02)
		}
		return 7.9 + 0.3*c.summer + 0.25*c.photo*(0.4+0.6*c.summer) + 0.08*smooth(4) + 0.04*g.trait(p) + noise(0.02)
	case sensors.ParamDO:
		if g.river {
			return 0.8*doSaturation(c.temp) + 0.5 + (0.5+0.4*c.summer)*c.photo + 0.2*smooth(3) - 0.15*math.Min(x, 4) + noise(0.08)
		}
		return 0.75*doSaturation(c.temp) + 0.9 + (0.3+0.6*c.summer)*c.photo + 0.2*smooth(3) + noise(0.08)
	case sensors.ParamTP:
		if g.river {
			base := (0.045 + 0.01*c.summer + 0.008*smooth(4)) * g.dirt * site
			return base*(1+x) + noise(0.002)
		}
		return (0.015+0.003*c.summer+0.002*smooth(4))*site*(1+x) + noise(0.0006)
	case sensors.ParamNH3N:
		if g.river {
			return (0.18+0.06*winter+0.05*smooth(4))*g.dirt*site*(1+0.3*x) + noise(0.012)
		}
		return (0.09+0.03*winter+0.02*smooth(4))*site*(1+0.3*x) + noise(0.006)
	case sensors.ParamCODMn:
		if g.river {
			return (2.7+0.4*c.summer+0.3*smooth(5))*g.dirt*site*(1+0.25*x) + noise(0.08)
		}
		return (2.3+0.35*c.summer+0.25*smooth(5))*site*(1+0.25*x) + noise(0.06)
	case sensors.ParamCOD:
		if g.river {
			return (11+2*c.summer+1.2*smooth(5))*g.dirt*site*(1+0.25*x) + noise(0.3)
		}
		return (9+1.5*c.summer+1*smooth(5))*site*(1+0.25*x) + noise(0.25)
	case sensors.ParamBOD5:
		if g.river {
			return (1.9+0.4*c.summer+0.25*smooth(5))*g.dirt*site*(1+0.2*x) + noise(0.08)
		}
		return (1.3+0.3*c.summer+0.2*smooth(5))*site*(1+0.2*x) + noise(0.06)
	case sensors.ParamTN:
		if g.river {
			return (1.6+0.3*winter+0.2*smooth(6))*g.dirt*site*(1+0.2*x) + noise(0.04)
		}
		return (0.85+0.12*winter+0.1*smooth(6))*site*(1+0.2*x) + noise(0.025)
	case sensors.ParamFecalColiforms:
		if g.river {
			return (800+500*c.summer+250*smooth(2))*g.dirt*site*(1+2*x) + noise(60)
		}
		return (120+100*c.summer+50*smooth(2))*site*(1+2*x) + noise(15)
	case sensors.ParamConductivity:
		if g.river {
			return (400+30*smooth(6))*g.dirt*site/(1+0.15*x) + noise(3)
		}
		return (300+12*smooth(6))*site/(1+0.15*x) + noise(1.5)
	case sensors.ParamTurbidity:
		if g.river {
			return (5+3*c.summer+1.5*smooth(2))*g.dirt*site*(1+3*x) + noise(0.3)
		}
		return (2+1*c.summer+0.6*smooth(2))*site*(1+3*x) + noise(0.12)
	case sensors.ParamChlA:
		if g.river {
			return (1+2*c.summer+0.5*smooth(3))*site + noise(0.15)
		}
		return (2+5.5*c.summer*c.summer+0.8*smooth(3)+0.8*c.photo*c.summer)*site + noise(0.2)
	}
	return 0 // a parameter this package does not know: 0 is valid for every known one
}

// spiked reports whether the sample at t is spiked (SetExceedanceEvery);
// g.mu is held.
func (g *Generator) spiked(t time.Time) bool {
	if g.every <= 0 {
		return false
	}
	slot := floorDiv(t.UnixNano(), int64(g.interval))
	block := floorDiv(slot, int64(g.every))
	pick := int64(mix(g.key^mix(uint64(block))^0x5bd1e995) % uint64(g.every))
	return slot-block*int64(g.every) == pick
}

// spike replaces one value of values by one worse than the target class.
func (g *Generator) spike(values map[sensors.Param]float64, t time.Time) {
	r := mix(g.key ^ uint64(t.UnixNano()) ^ 0x2545f4914f6cdd1d)
	var cands []sensors.Param
	for _, p := range []sensors.Param{sensors.ParamNH3N, sensors.ParamTP} {
		if _, ok := values[p]; ok {
			cands = append(cands, p)
		}
	}
	if len(cands) == 0 {
		if _, ok := values[sensors.ParamCODMn]; !ok {
			return
		}
		cands = []sensors.Param{sensors.ParamCODMn}
	}
	p := cands[r%uint64(len(cands))]
	lim, ok := sensors.LimitFor(g.st.WaterBody, p)
	target := g.st.TargetClass
	if !ok || !target.ValidTarget() {
		return
	}
	u := float64(mix(r)>>11) / (1 << 53)
	values[p] = finish(p, lim.Classes[target-1].Max*(1.3+1.2*u))
}

// smooth returns a slowly varying value within −1 to 1 for p at t: cosine
// interpolation between random values at every period, the station's weather.
func (g *Generator) smooth(p sensors.Param, t time.Time, period time.Duration) float64 {
	x := float64(t.UnixNano()) / float64(period)
	i := math.Floor(x)
	f := x - i
	k := g.key ^ paramKey(p) ^ uint64(period)
	a, b := unit(mix(k^mix(uint64(int64(i))))), unit(mix(k^mix(uint64(int64(i)+1))))
	s := (1 - math.Cos(math.Pi*f)) / 2
	return a + (b-a)*s
}

// trait returns the station's own offset for p, within −1 to 1; it depends
// on the station id only.
func (g *Generator) trait(p sensors.Param) float64 {
	return unit(mix(g.idHash ^ paramKey(p)))
}

// doSaturation returns the solubility of oxygen in fresh water at temp °C
// and sea-level pressure, in mg/L (the APHA polynomial): about 13.1 at 4 °C
// and 8.0 at 26 °C.
func doSaturation(temp float64) float64 {
	return 14.652 - 0.41022*temp + 0.007991*temp*temp - 0.000077774*temp*temp*temp
}

// decimals are the decimals each parameter is reported with.
var decimals = map[sensors.Param]int{
	sensors.ParamPH:             2,
	sensors.ParamDO:             2,
	sensors.ParamCODMn:          3,
	sensors.ParamCOD:            3,
	sensors.ParamBOD5:           3,
	sensors.ParamNH3N:           3,
	sensors.ParamTP:             3,
	sensors.ParamTN:             3,
	sensors.ParamFecalColiforms: 0,
	sensors.ParamTemp:           1,
	sensors.ParamConductivity:   1,
	sensors.ParamTurbidity:      2,
	sensors.ParamChlA:           1,
}

// finish rounds v as p is reported and keeps it a valid input: finite,
// not negative, and a pH within 0 to 14.
func finish(p sensors.Param, v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	if p == sensors.ParamPH {
		v = math.Min(14, v)
	}
	scale := math.Pow(10, float64(decimals[p]))
	v = math.Round(v*scale) / scale
	if v <= 0 {
		return 0 // also turns −0 into 0
	}
	return v
}

// paramKey hashes a parameter's name.
func paramKey(p sensors.Param) uint64 {
	h := fnv.New64a()
	h.Write([]byte(p))
	return h.Sum64()
}

// mix is the SplitMix64 finaliser: a bijective scrambling of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unit maps x to a number within −1 to 1.
func unit(x uint64) float64 { return float64(x>>11)/(1<<52) - 1 }

// floorDiv returns ⌊a/b⌋ for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
