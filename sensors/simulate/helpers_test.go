package simulate_test

import (
	"os"
	"testing"

	"github.com/baoshui/baoshui/sensors"
)

// loadStations returns the shipped stations of testdata/stations.json.
func loadStations(t testing.TB) []sensors.Station {
	t.Helper()
	data, err := os.ReadFile("../../testdata/stations.json")
	if err != nil {
		t.Fatal(err)
	}
	sts, err := sensors.LoadStations(data)
	if err != nil {
		t.Fatal(err)
	}
	return sts
}

// station returns the shipped station id.
func station(t testing.TB, id string) sensors.Station {
	t.Helper()
	for _, st := range loadStations(t) {
		if st.ID == id {
			return st
		}
	}
	t.Fatalf("no station %q in testdata/stations.json", id)
	return sensors.Station{}
}

// byID maps stations by id, as ingest.Parser wants them.
func byID(sts []sensors.Station) map[string]sensors.Station {
	m := make(map[string]sensors.Station, len(sts))
	for _, st := range sts {
		m[st.ID] = st
	}
	return m
}
