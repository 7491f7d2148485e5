package geojsoncheck

import (
	"strings"
	"testing"
)

// TestCheckGeoJSONHelper shows that the check behind Check accepts
// valid GeoJSON and can fail: it must find issues in each broken document.
func TestCheckGeoJSONHelper(t *testing.T) {
	valid := map[string]string{
		"feature collection": `{"type":"FeatureCollection","features":[
			{"type":"Feature","id":"inc-1","geometry":{"type":"Point","coordinates":[116.95,40.53]},"properties":{"kind":"fire"}},
			{"type":"Feature","id":2,"geometry":{"type":"LineString","coordinates":[[116.9,40.5],[117.0,40.55]]},"properties":null},
			{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[116.9,40.5],[117.0,40.5],[117.0,40.6],[116.9,40.6],[116.9,40.5]]]},"properties":{}},
			{"type":"Feature","geometry":null,"properties":{"note":"no position"}}]}`,
		"empty collection": `{"type":"FeatureCollection","features":[]}`,
		"bare geometry":    `{"type":"MultiPoint","coordinates":[[116.9,40.5],[117.0,40.6,150]]}`,
	}
	invalid := map[string]string{
		"ring not closed": `{"type":"Feature","properties":{},"geometry":{"type":"Polygon",
			"coordinates":[[[116.9,40.5],[117.0,40.5],[117.0,40.6],[116.9,40.6]]]}}`,
		"feature without properties": `{"type":"FeatureCollection","features":[
			{"type":"Feature","geometry":{"type":"Point","coordinates":[116.95,40.53]}}]}`,
		"position with one number": `{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[116.95]}}`,
		"not JSON":                 `{"type":"FeatureCollection","features":[`,
		"unknown type":             `{"type":"Circle","coordinates":[116.95,40.53]}`,
	}
	docs := make(map[string][]byte)
	for name, doc := range valid {
		docs["valid/"+name] = []byte(doc)
	}
	for name, doc := range invalid {
		docs["invalid/"+name] = []byte(doc)
	}
	docs["invalid/not UTF-8"] = []byte("{\"type\":\"Feature\",\"properties\":{\"name\":\"\xff\"},\"geometry\":null}")

	issues := Run(t, docs)
	if len(issues) != len(docs) {
		t.Errorf("got answers for %d documents, want %d", len(issues), len(docs))
	}
	for name := range docs {
		got, ok := issues[name]
		switch {
		case !ok:
			t.Errorf("%s: no answer", name)
		case strings.HasPrefix(name, "valid/") && len(got) > 0:
			t.Errorf("%s: issues in a valid document: %q", name, got)
		case strings.HasPrefix(name, "invalid/") && len(got) == 0:
			t.Errorf("%s: no issue found in an invalid document", name)
		default:
			t.Logf("%s: %q", name, got)
		}
	}
}
