// Package builtin embeds the designs and example sites that ship inside the
// kiln binary: the Tier3g design of the seed document and its example site.
package builtin

import (
	"embed"
	"io/fs"
	"sort"
)

//go:embed all:designs all:examples
var files embed.FS

// Design returns the embedded design folder called name.
func Design(name string) (fs.FS, bool) {
	return sub("designs", name)
}

// Example returns the embedded example site folder called name.
func Example(name string) (fs.FS, bool) {
	return sub("examples", name)
}

// Designs lists the embedded designs' names.
func Designs() []string { return list("designs") }

// Examples lists the embedded examples' names.
func Examples() []string { return list("examples") }

func sub(dir, name string) (fs.FS, bool) {
	if name == "" || name == "." {
		return nil, false
	}
	if _, err := fs.Stat(files, dir+"/"+name); err != nil {
		return nil, false
	}
	f, err := fs.Sub(files, dir+"/"+name)
	return f, err == nil
}

func list(dir string) []string {
	entries, _ := fs.ReadDir(files, dir)
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}
