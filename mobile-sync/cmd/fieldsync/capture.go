package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
	"github.com/baoshui/baoshui/mobile-sync/client"
)

// listFlag is a flag that may be repeated.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// captureSpec is a parsed capture command: the record to queue, the photos
// to attach and the track file to read.
type captureSpec struct {
	Record client.Record
	Photos []string
	Track  string
}

// kindFlags names the flags that belong to one kind only.
var kindFlags = map[string]client.Kind{
	"persons": client.KindExpulsion, "activity": client.KindExpulsion,
	"animals":  client.KindGrazing,
	"vehicles": client.KindVehicle, "plates": client.KindVehicle,
	"item":    client.KindConfiscation,
	"started": client.KindPatrol, "ended": client.KindPatrol, "track": client.KindPatrol,
}

// captureKinds are the kinds fieldsync captures (a case is office work).
var captureKinds = []client.Kind{client.KindExpulsion, client.KindGrazing, client.KindVehicle, client.KindConfiscation, client.KindPatrol}

// parseCapture parses "capture <kind> [flags]" (args start at the kind).
// now is the default observed_at; s is the session, whose unit and user
// are the defaults of --unit and --officer.
func parseCapture(args []string, now time.Time, s client.Session) (captureSpec, *flag.FlagSet, error) {
	fs := newFlags("capture")
	var (
		at         = fs.String("at", "", "where: lat,lon in degrees (latitude first, as people say it)")
		gcj02      = fs.Bool("gcj02", false, "the coordinates are GCJ-02 (from a Chinese map app), not WGS-84")
		bd09       = fs.Bool("bd09", false, "the coordinates are BD-09 (from Baidu maps)")
		observedAt = fs.String("observed-at", "", "when, RFC 3339 (default now)")
		unit       = fs.String("unit", "", "the team's unit id (default your unit)")
		note       = fs.String("note", "", "a note")
		campaign   = fs.String("campaign", "", "the campaign this belongs to")
		patrolID   = fs.String("patrol", "", "the id of the patrol this happened on")
		persons    = fs.Int64("persons", 0, "expulsion: how many people were cleared (1 or more)")
		activity   = fs.String("activity", "", "expulsion: fishing, swimming, visiting or other")
		animals    = fs.Int64("animals", 0, "grazing: how many animals (optional)")
		vehicles   = fs.Int64("vehicles", 0, "vehicle: how many vehicles were cleared (1 or more)")
		started    = fs.String("started", "", "patrol: when it started, RFC 3339 (default --observed-at)")
		ended      = fs.String("ended", "", "patrol: when it ended, RFC 3339")
		track      = fs.String("track", "", "patrol: a GPX or GeoJSON file of the route")
		photos     listFlag
		officers   listFlag
		plates     listFlag
		items      listFlag
	)
	fs.Var(&photos, "photo", "a photo file to attach (repeat for more)")
	fs.Var(&officers, "officer", "an officer present, by username (repeat; default you)")
	fs.Var(&plates, "plates", "vehicle: plate numbers, comma-separated (repeatable)")
	fs.Var(&items, "item", "confiscation: name:quantity:unit_value_fen (repeat per item)")

	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if slices.Contains(args, "-h") || slices.Contains(args, "--help") || slices.Contains(args, "-help") {
			return captureSpec{}, fs, errFlagsHelp
		}
		return captureSpec{}, fs, usagef("capture: which kind? one of %s", kindList())
	}
	kind := client.Kind(args[0])
	if !slices.Contains(captureKinds, kind) {
		return captureSpec{}, fs, usagef("capture: unknown kind %q: one of %s", args[0], kindList())
	}
	fs.Init("capture "+args[0], flag.ContinueOnError)
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return captureSpec{}, fs, errFlagsHelp
		}
		return captureSpec{}, fs, usagef("capture %s: %v", kind, err)
	}
	if fs.NArg() > 0 {
		return captureSpec{}, fs, usagef("capture %s: unexpected %q (flags come after the kind)", kind, fs.Arg(0))
	}
	var bad []string
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		set[f.Name] = true
		if k, ok := kindFlags[f.Name]; ok && k != kind {
			bad = append(bad, fmt.Sprintf("--%s is for %s records", f.Name, k))
		}
	})
	if len(bad) > 0 {
		return captureSpec{}, fs, usagef("capture %s: %s", kind, strings.Join(bad, "; "))
	}

	spec := captureSpec{Photos: photos, Track: *track}
	r := &spec.Record
	r.Kind, r.Note, r.Campaign, r.PatrolID = kind, *note, *campaign, *patrolID
	r.ObservedAt = now
	if *observedAt != "" {
		t, err := parseTime("observed-at", *observedAt)
		if err != nil {
			return captureSpec{}, fs, err
		}
		r.ObservedAt = t
	}
	switch {
	case *gcj02 && *bd09:
		return captureSpec{}, fs, usagef("capture: give --gcj02 or --bd09, not both")
	case *gcj02:
		r.CRS = client.CRSGCJ02
	case *bd09:
		r.CRS = client.CRSBD09
	}
	if *at != "" {
		p, err := parseLatLon(*at)
		if err != nil {
			return captureSpec{}, fs, err
		}
		r.Location = &p
	} else if kind != client.KindPatrol || *track == "" {
		return captureSpec{}, fs, usagef("capture %s: --at lat,lon is required (where it happened)", kind)
	}
	r.Unit = *unit
	if r.Unit == "" {
		r.Unit = s.Unit
	}
	if r.Unit == "" {
		return captureSpec{}, fs, usagef("capture: no unit: give --unit, or sign in first (fieldsync login) to use yours")
	}
	r.Officers = officers
	if len(r.Officers) == 0 && s.Username != "" {
		r.Officers = []string{s.Username}
	}

	switch kind {
	case client.KindExpulsion:
		if *persons < 1 {
			return captureSpec{}, fs, usagef("capture expulsion: --persons N (1 or more) is required")
		}
		if !slices.Contains(client.Activities, *activity) {
			return captureSpec{}, fs, usagef("capture expulsion: --activity must be one of %s", strings.Join(client.Activities, ", "))
		}
		r.Persons, r.Activity = *persons, *activity
	case client.KindGrazing:
		if *animals < 0 {
			return captureSpec{}, fs, usagef("capture grazing: --animals must not be negative")
		}
		r.Animals = *animals
	case client.KindVehicle:
		if *vehicles < 1 {
			return captureSpec{}, fs, usagef("capture vehicle: --vehicles N (1 or more) is required")
		}
		r.Vehicles = *vehicles
		for _, p := range plates {
			for _, one := range strings.Split(p, ",") {
				if one = strings.TrimSpace(one); one != "" {
					r.Plates = append(r.Plates, one)
				}
			}
		}
	case client.KindConfiscation:
		if len(items) == 0 {
			return captureSpec{}, fs, usagef("capture confiscation: give at least one --item name:quantity:unit_value_fen")
		}
		for _, v := range items {
			it, err := parseItem(v)
			if err != nil {
				return captureSpec{}, fs, err
			}
			r.Items = append(r.Items, it)
		}
	case client.KindPatrol:
		if *started != "" {
			t, err := parseTime("started", *started)
			if err != nil {
				return captureSpec{}, fs, err
			}
			r.StartedAt = &t
			if !set["observed-at"] {
				r.ObservedAt = t
			}
		}
		if *ended != "" {
			t, err := parseTime("ended", *ended)
			if err != nil {
				return captureSpec{}, fs, err
			}
			r.EndedAt = &t
		}
	}
	return spec, fs, nil
}

// errFlagsHelp asks for the capture flags to be listed.
var errFlagsHelp = fmt.Errorf("help asked")

func kindList() string {
	names := make([]string, len(captureKinds))
	for i, k := range captureKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// parseLatLon reads "lat,lon" into a GeoJSON-order point. A latitude
// beyond ±90 is refused with a hint that the numbers may be swapped.
func parseLatLon(v string) (client.Point, error) {
	a, b, ok := strings.Cut(v, ",")
	if !ok {
		return client.Point{}, usagef("--at %q: want lat,lon such as 40.52,116.95", v)
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if err1 != nil || err2 != nil || math.IsNaN(lat) || math.IsNaN(lon) || math.IsInf(lat, 0) || math.IsInf(lon, 0) {
		return client.Point{}, usagef("--at %q: want two numbers, lat,lon, such as 40.52,116.95", v)
	}
	if lat < -90 || lat > 90 {
		hint := ""
		if lon >= -90 && lon <= 90 && lat >= -180 && lat <= 180 {
			hint = fmt.Sprintf("; the numbers may be swapped: --at takes latitude first, try --at %s,%s", strings.TrimSpace(b), strings.TrimSpace(a))
		}
		return client.Point{}, usagef("--at %q: latitude %g is outside ±90%s", v, lat, hint)
	}
	if lon < -180 || lon > 180 {
		return client.Point{}, usagef("--at %q: longitude %g is outside ±180", v, lon)
	}
	return client.Point{Lon: lon, Lat: lat}, nil
}

// parseItem reads "name:quantity:unit_value_fen"; the name may itself hold
// colons, the last two fields are the numbers.
func parseItem(v string) (client.Item, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 3 || strings.TrimSpace(strings.Join(parts[:len(parts)-2], ":")) == "" {
		return client.Item{}, usagef("--item %q: want name:quantity:unit_value_fen, such as \"fishing net:2:1500\"", v)
	}
	name := strings.TrimSpace(strings.Join(parts[:len(parts)-2], ":"))
	q, err := strconv.ParseInt(strings.TrimSpace(parts[len(parts)-2]), 10, 64)
	if err != nil || q < 1 {
		return client.Item{}, usagef("--item %q: the quantity must be a whole number, 1 or more", v)
	}
	fen, err := strconv.ParseInt(strings.TrimSpace(parts[len(parts)-1]), 10, 64)
	if err != nil || fen < 0 {
		return client.Item{}, usagef("--item %q: the unit value is whole fen (1 yuan = 100 fen), 0 or more", v)
	}
	return client.Item{Name: name, Quantity: q, UnitValueFen: fen}, nil
}

func parseTime(flagName, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usagef("--%s %q: want an RFC 3339 time such as 2020-07-04T15:20:00+08:00", flagName, v)
	}
	return t, nil
}

// cmdCapture queues a record, with its photos and its track.
func cmdCapture(_ context.Context, c *client.Client, args []string, e env) error {
	s, _, err := c.Session()
	if err != nil {
		return err
	}
	spec, fs, err := parseCapture(args, e.now(), s)
	if err == errFlagsHelp {
		fmt.Fprintf(e.stdout, "usage: fieldsync capture <%s> [flags]\n", strings.Join(strings.Split(kindList(), ", "), "|"))
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		return errHelpShown
	}
	if err != nil {
		return err
	}
	return captureWith(c, spec, e)
}

// captureWith attaches the photos, reads the track and queues the record:
// a track with times travels as chunks after the record, one without times
// inside it.
func captureWith(c *client.Client, spec captureSpec, e env) error {
	r := spec.Record
	for _, p := range spec.Photos {
		ph, err := c.AttachPhoto(p)
		if err != nil {
			return err
		}
		r.Photos = append(r.Photos, ph)
	}
	var chunked []mobilesync.TrackPoint
	if spec.Track != "" {
		tr, err := readTrack(spec.Track)
		if err != nil {
			return err
		}
		if r.Location == nil {
			r.Location = &client.Point{Lon: tr.points[0].Lon, Lat: tr.points[0].Lat}
		}
		if tr.timed() {
			chunked = tr.trackPoints()
			first, last := tr.times[0], tr.times[len(tr.times)-1]
			if r.StartedAt == nil {
				r.StartedAt = &first
				r.ObservedAt = first
			}
			if r.EndedAt == nil {
				r.EndedAt = &last
			}
		} else {
			r.Track = tr.points
		}
	}
	if r.Kind == client.KindPatrol && r.StartedAt == nil {
		t := r.ObservedAt
		r.StartedAt = &t
	}
	got, err := c.Capture(r)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "queued %s %s as seq %d", r.Kind, got.ID, got.Seq)
	if len(r.Photos) > 0 {
		fmt.Fprintf(e.stdout, " with %s", plural(len(r.Photos), "photo"))
	}
	if len(chunked) > 0 {
		seqs, err := c.AppendTrack(got.ID, chunked, r.CRS)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, " and a track of %d points in %s", len(chunked), plural(len(seqs), "chunk"))
	}
	fmt.Fprintln(e.stdout, "; run fieldsync sync to send it")
	return nil
}
