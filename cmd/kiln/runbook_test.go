package main

import (
	"flag"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/pipeline"
)

var updateCommands = flag.Bool("update", false, "rewrite internal/render/kiln-commands.txt from the verbs kiln has")

const commandsFile = "../../internal/render/kiln-commands.txt"

// commandList is every verb with its flags, one verb a line, as the
// runbook templates' kilnHas reads it.
func commandList() string {
	var b strings.Builder
	b.WriteString("# kiln's verbs and their flags, for the templates' kilnHas. Written by\n# go test ./cmd/kiln -run TestCommandList -update; do not edit.\n")
	var names []string
	byName := map[string]*verb{}
	for _, v := range verbs {
		names = append(names, v.name)
		byName[v.name] = v
	}
	sort.Strings(names)
	for _, name := range names {
		b.WriteString(name)
		var flags []string
		byName[name].flagSet(&cmdContext{verb: byName[name]}).VisitAll(func(f *flag.Flag) { flags = append(flags, f.Name) })
		sort.Strings(flags)
		for _, f := range flags {
			b.WriteString(" " + f)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// The runbook shows a kiln command only when kiln has it; it learns which
// it has from this file, which must follow the verbs.
func TestCommandList(t *testing.T) {
	want := commandList()
	if *updateCommands {
		if err := os.WriteFile(commandsFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(commandsFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s does not list kiln's verbs and flags as they are; run go test ./cmd/kiln -run TestCommandList -update, then go test ./internal/pipeline -update (the runbooks change with it)", commandsFile)
	}
}

// kilnCommand finds kiln commands in Markdown: in code blocks, a line that
// starts with kiln; in running text, a code span that does.
var (
	codeBlock = regexp.MustCompile("(?s)```[a-z]*\n(.*?)```")
	codeSpan  = regexp.MustCompile("`(kiln [^`]*)`")
)

func kilnCommands(md string) []string {
	var out []string
	for _, m := range codeBlock.FindAllStringSubmatch(md, -1) {
		for _, l := range strings.Split(m[1], "\n") {
			l = strings.TrimSpace(l)
			if i := strings.Index(l, " #"); i >= 0 {
				l = strings.TrimSpace(l[:i])
			}
			if strings.HasPrefix(l, "kiln ") || l == "kiln" {
				out = append(out, l)
			}
		}
	}
	rest := codeBlock.ReplaceAllString(md, "")
	for _, m := range codeSpan.FindAllStringSubmatch(rest, -1) {
		out = append(out, m[1])
	}
	return out
}

// Every kiln command a runbook shows is one kiln has: the verb exists,
// each flag is one of the verb's, and the arguments are as many as the
// verb takes. Each runbook shows several.
func TestRunbookCommandsExist(t *testing.T) {
	for _, src := range []pipeline.Source{{Example: "tier3"}, {Dir: "../../internal/pipeline/testdata/slurm"}} {
		s, err := pipeline.Resolve(src)
		if err != nil {
			t.Fatal(err)
		}
		files, err := s.Render()
		if err != nil {
			t.Fatal(err)
		}
		var md string
		for _, f := range files {
			if f.Path == "runbook.md" {
				md = string(f.Data)
			}
		}
		if md == "" {
			t.Fatalf("%+v: the build has no runbook.md", src)
		}
		cmds := kilnCommands(md)
		if len(cmds) < 2 {
			t.Errorf("%+v: the runbook shows %d kiln commands; it should show at least kiln check and kiln build", src, len(cmds))
		}
		for _, cmd := range cmds {
			if f := strings.Fields(cmd); len(f) == 2 && findVerb(f[1]) != nil && strings.Contains(md, "`"+cmd+"`") {
				continue // a verb named in running text, not a command to type
			}
			if err := checkCommand(cmd); err != "" {
				t.Errorf("%+v: the runbook shows %q: %s", src, cmd, err)
			}
		}
	}
}

// checkCommand parses a command line the way kiln would, without running it.
func checkCommand(line string) string {
	words := strings.Fields(line)[1:]
	if len(words) == 0 {
		return "no verb"
	}
	v := findVerb(words[0])
	if v == nil {
		return "kiln has no verb " + words[0]
	}
	c := &cmdContext{verb: v}
	fs := v.flagSet(c)
	var pos []string
	args := words[1:]
	for {
		if err := fs.Parse(args); err != nil {
			return err.Error()
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	min, max := argBounds(v.args)
	if len(pos) < min || max >= 0 && len(pos) > max {
		return "wrong number of arguments for kiln " + v.name + " " + v.args
	}
	return ""
}

// argBounds reads how many arguments a verb takes from its synopsis:
// upper-case words outside brackets are required, those inside optional
// (a flag's value aside); ... means any number more.
func argBounds(synopsis string) (min, max int) {
	depth := 0
	prevFlag := false
	for _, w := range strings.Fields(strings.NewReplacer("[", " [ ", "]", " ] ", "|", " ").Replace(synopsis)) {
		switch {
		case w == "[":
			depth++
			continue
		case w == "]":
			depth--
			continue
		case strings.HasPrefix(w, "-"):
			prevFlag = true
			continue
		case strings.Contains(w, "..."):
			return min, -1
		case w == "<" || w == ">":
			prevFlag = true // redirections: < FILE
			continue
		}
		if prevFlag {
			prevFlag = false
			continue
		}
		if depth == 0 {
			min++
		}
		max++
	}
	return min, max
}
