// Package sensors holds the water-quality domain of Baoshui: the automatic
// monitoring stations on Miyun Reservoir and its inflows, the readings they
// report, and their classification under GB 3838-2002 (the environmental
// quality standards for surface water; the limits Baoshui uses are in
// shared/domain/GB3838-2002.md, which is the source of truth for this
// package).
//
// The classification is pure and table-driven: every limit lives in one
// table (see Limits), and ClassifyValue and ClassifySample read nothing else.
// A parameter's class is the best class whose limit it meets, limits are
// inclusive, and a sample's class is the worst of its parameters' classes
// (single-factor evaluation, 单因子评价法) in two views: the routine
// assessment class, which leaves out total nitrogen and fecal coliforms, and
// the full class of every classified parameter the sample reports.
//
// The package imports only the standard library and orb. The MQTT ingest,
// the embedded broker and the simulator live in subpackages; the storage and
// HTTP adapters depend on this package, never the other way round.
package sensors
