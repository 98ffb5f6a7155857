package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

var versionVerb = &verb{
	name:    "version",
	args:    "",
	summary: "Print kiln's version",
	run: func(c *cmdContext) int {
		if _, ok := c.parse(0, 0); !ok {
			return exitUsage
		}
		fmt.Fprintf(c.stdout, "kiln %s (%s)\n", version(), runtime.Version())
		return exitOK
	},
}

func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
