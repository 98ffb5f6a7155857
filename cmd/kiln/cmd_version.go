package main

import (
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

var versionVerb = &verb{
	name:    "version",
	args:    "",
	summary: "Print kiln's version",
	flags:   func(c *cmdContext, fs *flag.FlagSet) { c.jsonFlag(fs) },
	run: func(c *cmdContext) int {
		if _, ok := c.parse(0, 0); !ok {
			return exitUsage
		}
		if c.json {
			c.printJSON(map[string]string{"version": version(), "go": runtime.Version()})
			return exitOK
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
