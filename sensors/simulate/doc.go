// Package simulate makes realistic water-quality readings for Baoshui's
// monitoring stations and publishes them over MQTT as each station's device,
// for demonstrations, load tests and end-to-end tests of the ingest.
//
// The Generator is pure: a sample is a function of the station, the seed, the
// events added and the instant asked for, and nothing else (no clock is read).
// It models what the automatic stations of Miyun Reservoir report: a seasonal
// and diurnal water temperature, dissolved oxygen that follows saturation
// and photosynthesis, a pH that rises in the afternoon, baseline
// concentrations that normally meet Class II of GB 3838-2002 in the reservoir
// and are somewhat higher at the river sections, rain events that wash
// turbidity, phosphorus and organic matter into the rivers, and, on request,
// an occasional spiked sample worse than the station's target class.
//
// Run publishes the samples of several stations on
// baoshui/v1/stations/{station_id}/readings, one MQTT client per device, as
// a JSON object or a SenML pack (see Encode), at QoS 1 and waiting for every
// acknowledgement.
//
// The package imports the sensors root, the ingest (for the topic) and paho.
package simulate
