// Package bench makes the sites Kiln's benchmarks run on: a starter site of
// the embedded design grown to N workers (what kiln init --workers N
// --example-macs writes), made deterministic — fixed cluster name and
// secrets derived from their names — so that two runs build byte-identical
// trees and their figures can be compared. bench_test.go holds the Go
// benchmarks of each stage; bench/run measures the kiln binary.
package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"

	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/starter"
)

// Cluster is the name of every benchmark site's cluster.
const Cluster = "bench"

// Site writes a deterministic scale site with the given number of workers
// into dir (the embedded design adds seven service and interactive nodes).
func Site(dir string, workers int) error {
	if _, err := starter.Write(dir, starter.Options{Cluster: Cluster, Workers: workers, ExampleMACs: true, Force: true}); err != nil {
		return err
	}
	// kiln init generates random secrets; replace each with one derived
	// from its name, so the secret-bearing files come out the same every
	// time.
	sec := filepath.Join(dir, "secrets")
	ents, err := os.ReadDir(sec)
	if err != nil {
		return err
	}
	for _, e := range ents {
		sum := sha256.Sum256([]byte("kiln-bench/" + e.Name()))
		v := base64.RawURLEncoding.EncodeToString(sum[:18]) + "\n"
		if err := os.WriteFile(filepath.Join(sec, e.Name()), []byte(v), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// Worker is the name of the i-th worker (1-based) in a benchmark site.
func Worker(i int) string { return fmt.Sprintf("wn%d", i) }

// SetTimezone gives one counted worker of the site in dir a per-node
// override of the base module's timezone parameter, replacing the one an
// earlier call wrote. It is the smallest change to one node that a site
// manager makes: rebuilding after it should rewrite that node's files and
// the shared files that list it, and hard-link everything else.
func SetTimezone(dir, node, tz string) error {
	p := filepath.Join(dir, load.SiteFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	const begin, end = "    # kiln-bench override\n", "    # end kiln-bench override\n"
	if i := bytes.Index(data, []byte(begin)); i >= 0 {
		j := bytes.Index(data[i:], []byte(end))
		if j < 0 {
			return fmt.Errorf("%s: damaged kiln-bench override block", p)
		}
		data = append(data[:i:i], data[i+j+len(end):]...)
	}
	// The worker role is written "  worker:" by the starter template; the
	// override goes right under it, as the role's nodes: mapping.
	anchor := []byte("\n  worker:\n")
	k := bytes.Index(data, anchor)
	if k < 0 {
		return fmt.Errorf("%s: no worker role to override a node of", p)
	}
	k += len(anchor)
	block := fmt.Sprintf("%s    nodes:\n      %s:\n        parameters:\n          base: {timezone: %s}\n%s", begin, node, tz, end)
	out := make([]byte, 0, len(data)+len(block))
	out = append(out, data[:k]...)
	out = append(out, block...)
	out = append(out, data[k:]...)
	return os.WriteFile(p, out, 0o644)
}
