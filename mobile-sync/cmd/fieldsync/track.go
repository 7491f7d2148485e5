package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
	"github.com/baoshui/baoshui/mobile-sync/client"
)

// track is a route read from a file: its points and, when the file has
// them, one time per point.
type track struct {
	points client.LineString
	times  []time.Time
}

func (t track) timed() bool { return len(t.times) == len(t.points) && len(t.points) > 0 }

func (t track) trackPoints() []mobilesync.TrackPoint {
	out := make([]mobilesync.TrackPoint, len(t.points))
	for i, p := range t.points {
		out[i] = mobilesync.TrackPoint{Lon: p.Lon, Lat: p.Lat, UnixMilli: t.times[i].UnixMilli()}
	}
	return out
}

// readTrack reads a GPX file or GeoJSON (a LineString, or a Feature or
// FeatureCollection holding one, with times in properties.times as unix ms
// or RFC 3339, or in properties.coordTimes). It needs two points or more.
func readTrack(path string) (track, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return track{}, fmt.Errorf("track: %w", err)
	}
	var t track
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("<")) {
		t, err = parseGPX(b)
	} else {
		t, err = parseGeoJSONTrack(b)
	}
	if err != nil {
		return track{}, fmt.Errorf("track %s: %w", path, err)
	}
	if len(t.points) < 2 {
		return track{}, fmt.Errorf("track %s: %d points; a track needs 2 or more", path, len(t.points))
	}
	for i, p := range t.points {
		if p.Lat < -90 || p.Lat > 90 || p.Lon < -180 || p.Lon > 180 {
			return track{}, fmt.Errorf("track %s: point %d (%g, %g) is off the globe", path, i, p.Lon, p.Lat)
		}
	}
	return t, nil
}

func parseGPX(b []byte) (track, error) {
	var doc struct {
		Tracks []struct {
			Segments []struct {
				Points []struct {
					Lat  float64 `xml:"lat,attr"`
					Lon  float64 `xml:"lon,attr"`
					Time string  `xml:"time"`
				} `xml:"trkpt"`
			} `xml:"trkseg"`
		} `xml:"trk"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return track{}, fmt.Errorf("not GPX: %w", err)
	}
	var t track
	timed := true
	for _, trk := range doc.Tracks {
		for _, seg := range trk.Segments {
			for _, p := range seg.Points {
				t.points = append(t.points, client.Point{Lon: p.Lon, Lat: p.Lat})
				if p.Time == "" {
					timed = false
					continue
				}
				at, err := time.Parse(time.RFC3339, p.Time)
				if err != nil {
					return track{}, fmt.Errorf("point %d: time %q is not RFC 3339", len(t.points)-1, p.Time)
				}
				t.times = append(t.times, at)
			}
		}
	}
	if !timed {
		t.times = nil
	}
	return t, nil
}

func parseGeoJSONTrack(b []byte) (track, error) {
	type geometry struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	type feature struct {
		Type       string    `json:"type"`
		Geometry   *geometry `json:"geometry"`
		Properties struct {
			Times      []json.RawMessage `json:"times"`
			CoordTimes []json.RawMessage `json:"coordTimes"`
		} `json:"properties"`
	}
	var head struct {
		Type     string    `json:"type"`
		Features []feature `json:"features"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return track{}, fmt.Errorf("not GeoJSON: %w", err)
	}
	var f feature
	switch head.Type {
	case "LineString":
		var g geometry
		if err := json.Unmarshal(b, &g); err != nil {
			return track{}, fmt.Errorf("not a GeoJSON LineString: %w", err)
		}
		f.Geometry = &g
	case "Feature":
		if err := json.Unmarshal(b, &f); err != nil {
			return track{}, fmt.Errorf("not a GeoJSON Feature: %w", err)
		}
	case "FeatureCollection":
		for _, x := range head.Features {
			if x.Geometry != nil && x.Geometry.Type == "LineString" {
				f = x
				break
			}
		}
	default:
		return track{}, fmt.Errorf("GeoJSON of type %q; want a LineString", head.Type)
	}
	if f.Geometry == nil || f.Geometry.Type != "LineString" {
		return track{}, fmt.Errorf("no LineString in the GeoJSON")
	}
	var coords [][]float64
	if err := json.Unmarshal(f.Geometry.Coordinates, &coords); err != nil {
		return track{}, fmt.Errorf("the LineString's coordinates: %w", err)
	}
	var t track
	for i, c := range coords {
		if len(c) < 2 {
			return track{}, fmt.Errorf("position %d has %d numbers; want [lon, lat]", i, len(c))
		}
		t.points = append(t.points, client.Point{Lon: c[0], Lat: c[1]})
	}
	times := f.Properties.Times
	if len(times) == 0 {
		times = f.Properties.CoordTimes
	}
	if len(times) == 0 {
		return t, nil
	}
	if len(times) != len(t.points) {
		return track{}, fmt.Errorf("%d times for %d positions", len(times), len(t.points))
	}
	for i, raw := range times {
		at, err := parseTrackTime(raw)
		if err != nil {
			return track{}, fmt.Errorf("time %d: %w", i, err)
		}
		t.times = append(t.times, at)
	}
	return t, nil
}

// parseTrackTime reads unix milliseconds or an RFC 3339 string.
func parseTrackTime(raw json.RawMessage) (time.Time, error) {
	var ms int64
	if err := json.Unmarshal(raw, &ms); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, fmt.Errorf("%s is neither unix ms nor an RFC 3339 string", raw)
	}
	return time.Parse(time.RFC3339, s)
}
