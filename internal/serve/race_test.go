//go:build race

package serve

// The race detector slows the boot storm tenfold: it runs a quarter of it.
const raceEnabled = true
