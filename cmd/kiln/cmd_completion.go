package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"

	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/selector"
)

var completionVerb = &verb{
	name:    "completion",
	args:    "bash | zsh | fish",
	summary: "Print a shell completion script: verbs, flags, and node and role names from the site",
	help: `Prints the completion script for bash, zsh or fish. It completes verbs and
each verb's flags, and, for the verbs that take nodes (show, status,
events, reinstall, explain, recover and the like), the node names, role:,
group: and state: selectors of the site on the command line (-C DIR or
--example NAME; else $KILN_SITE, else the current folder), which it asks
kiln for (kiln completion --names) as you type.

Examples:
  source <(kiln completion bash)                 # in ~/.bashrc
  kiln completion zsh > "${fpath[1]}/_kiln"
  kiln completion fish > ~/.config/fish/completions/kiln.fish
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.siteFlags(fs)
		fs.BoolVar(&c.sv.names, "names", false, "print the site's node names and role:, group:, state: selectors, one a line (what the scripts complete from)")
	},
	run: func(c *cmdContext) int {
		pos, ok := c.parse(0, 1)
		if !ok {
			return exitUsage
		}
		if c.sv.names {
			return completionNames(c)
		}
		if len(pos) != 1 {
			c.usageError("name the shell: bash, zsh or fish")
			return exitUsage
		}
		switch pos[0] {
		case "bash":
			fmt.Fprint(c.stdout, bashCompletion())
		case "zsh":
			fmt.Fprint(c.stdout, "#compdef kiln\n# kiln's completion for zsh: the bash one, through bashcompinit.\nautoload -U +X bashcompinit && bashcompinit\n"+bashCompletion())
		case "fish":
			fmt.Fprint(c.stdout, fishCompletion())
		default:
			c.usageError(fmt.Sprintf("there is no completion for %q; the shells are bash, zsh and fish", pos[0]))
			return exitUsage
		}
		return exitOK
	},
}

// nodeVerbs take node names or selectors as arguments.
var nodeVerbs = []string{"show", "status", "events", "reinstall", "explain", "recover", "power", "console", "verify"}

func completionNames(c *cmdContext) int {
	s, err := pipeline.Resolve(c.source())
	if err != nil {
		return exitDefs // nothing to complete; no noise in the shell
	}
	var out, roles, groups []string
	for _, n := range selector.FromCluster(s.Cluster) {
		out = append(out, n.Name)
		if !slices.Contains(roles, n.Role) {
			roles = append(roles, n.Role)
		}
		if n.Group != "" && !slices.Contains(groups, n.Group) {
			groups = append(groups, n.Group)
		}
	}
	selector.SortNames(out)
	for _, r := range roles {
		out = append(out, "role:"+r)
	}
	for _, g := range groups {
		out = append(out, "group:"+g)
	}
	for _, st := range selector.States {
		out = append(out, "state:"+st)
	}
	out = append(out, "all")
	fmt.Fprintln(c.stdout, strings.Join(out, "\n"))
	return exitOK
}

// verbFlags lists a verb's flags as typed: -C, --json.
func verbFlags(v *verb) (all, valued []string) {
	v.flagSet(&cmdContext{verb: v}).VisitAll(func(f *flag.Flag) {
		if deprecated(f) {
			return
		}
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		all = append(all, dash+f.Name)
		if !isBool(f) {
			valued = append(valued, dash+f.Name)
		}
	})
	return all, valued
}

func bashCompletion() string {
	var b strings.Builder
	var names []string
	for _, v := range verbs {
		names = append(names, v.name)
	}
	fmt.Fprintf(&b, `# kiln's completion for bash (kiln completion bash).
_kiln() {
	local line=${COMP_LINE:0:COMP_POINT}
	local cur=${line##*[[:space:]]}
	local prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}
	[[ $prev == : || $cur == *:* ]] && prev=${COMP_WORDS[COMP_CWORD-3]:-}
	COMPREPLY=()
	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "help %s" -- "$cur"))
		return
	fi
	local verb=${COMP_WORDS[1]} flags= valued= nodes=
	case $verb in
`, strings.Join(names, " "))
	for _, v := range verbs {
		all, valued := verbFlags(v)
		nodes := ""
		if slices.Contains(nodeVerbs, v.name) {
			nodes = "1"
		}
		fmt.Fprintf(&b, "\t%s) flags=%q valued=%q nodes=%s ;;\n", v.name, strings.Join(all, " "), strings.Join(valued, " "), nodes)
	}
	fmt.Fprintf(&b, `	help) COMPREPLY=($(compgen -W "%s" -- "$cur")); return ;;
	esac
	if [[ " $valued " == *" $prev "* ]]; then
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$flags" -- "$cur"))
		return
	fi
	if [[ -n $nodes ]]; then
		local site=() i
		for ((i = 2; i < COMP_CWORD; i++)); do
			case ${COMP_WORDS[i]} in
			-C | --example) site+=("${COMP_WORDS[i]}" "${COMP_WORDS[i+1]}") ;;
			esac
		done
		local IFS=$'\n'
		COMPREPLY=($(compgen -W "$(kiln completion --names "${site[@]}" 2>/dev/null)" -- "$cur"))
		# bash splits words at ':': give back only what follows it.
		if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
			local pre=${cur%%"${cur##*:}"}
			for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=${COMPREPLY[i]#"$pre"}; done
		fi
		return
	fi
	COMPREPLY=($(compgen -f -- "$cur"))
}
complete -F _kiln kiln
`, strings.Join(names, " "))
	return b.String()
}

func fishCompletion() string {
	var b strings.Builder
	b.WriteString("# kiln's completion for fish (kiln completion fish).\ncomplete -c kiln -f\n")
	var names []string
	for _, v := range verbs {
		names = append(names, v.name)
	}
	for _, v := range verbs {
		fmt.Fprintf(&b, "complete -c kiln -n 'not __fish_seen_subcommand_from %s' -a %s -d %s\n", strings.Join(names, " "), v.name, fishQuote(v.summary))
		v.flagSet(&cmdContext{verb: v}).VisitAll(func(f *flag.Flag) {
			if deprecated(f) {
				return
			}
			_, usage := flag.UnquoteUsage(f)
			opt := "-l " + f.Name
			if len(f.Name) == 1 {
				opt = "-s " + f.Name
			}
			req := ""
			if !isBool(f) {
				req = " -r -F"
			}
			fmt.Fprintf(&b, "complete -c kiln -n '__fish_seen_subcommand_from %s' %s%s -d %s\n", v.name, opt, req, fishQuote(firstClause(usage)))
		})
		if slices.Contains(nodeVerbs, v.name) {
			// fish completes the names of the site in $KILN_SITE (or the
			// current folder).
			fmt.Fprintf(&b, "complete -c kiln -n '__fish_seen_subcommand_from %s' -a '(kiln completion --names 2>/dev/null)'\n", v.name)
		}
	}
	return b.String()
}

func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func firstClause(s string) string {
	if i := strings.IndexAny(s, ";("); i > 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
