// Package tier3test checks the embedded tier3 design's output with the real
// programs that read it: each test builds the example site in memory, writes
// what it needs to a temporary folder and runs the program (slapd,
// shellcheck, …). It has no code of its own, only tests.
package tier3test
