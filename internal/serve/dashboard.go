package serve

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"kiln.dev/kiln/internal/selector"
	"kiln.dev/kiln/internal/state"
)

// StuckAfter is how long a node may stay in a state before the dashboard
// and kiln status call it stuck: an install boot whose installer never
// fetches its kickstart, or an install that runs for hours. (installed
// is not here: on a site without Puppet it is where nodes stay.)
var StuckAfter = map[string]time.Duration{
	state.Booting:    30 * time.Minute,
	state.Installing: 2 * time.Hour,
}

// segment is one state's part of a progress bar.
type segment struct {
	State string
	N     int
	Pct   string
}

// progressRow is one role's or group's progress.
type progressRow struct {
	Name                       string
	Total, Done, Failed, Stuck int
	Segments                   []segment
	Title                      string
}

func progressOf(name string, views []NodeView) progressRow {
	r := progressRow{Name: name, Total: len(views)}
	counts := map[string]int{}
	for _, v := range views {
		counts[v.State]++
		switch {
		case v.State == state.Failed:
			r.Failed++
		case v.State == state.Installed || v.State == state.PuppetSigned || v.State == state.Configured:
			r.Done++
		}
		if v.Stuck {
			r.Stuck++
		}
	}
	var title []string
	for _, s := range state.States {
		if counts[s] > 0 {
			r.Segments = append(r.Segments, segment{State: s, N: counts[s], Pct: fmt.Sprintf("%.2f", 100*float64(counts[s])/float64(len(views)))})
			title = append(title, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	r.Title = strings.Join(title, ", ")
	return r
}

func inSite(views []NodeView) []NodeView {
	var out []NodeView
	for _, v := range views {
		if v.InSite {
			out = append(out, v)
		}
	}
	return out
}

// progressBy is the progress of each role (or group), in natural order.
func progressBy(views []NodeView, key func(NodeView) string) []progressRow {
	by := map[string][]NodeView{}
	var keys []string
	for _, v := range inSite(views) {
		k := key(v)
		if k == "" {
			continue
		}
		if by[k] == nil {
			keys = append(keys, k)
		}
		by[k] = append(by[k], v)
	}
	selector.SortNames(keys)
	var out []progressRow
	for _, k := range keys {
		out = append(out, progressOf(k, by[k]))
	}
	return out
}

// sortForDashboard puts failures first, then stuck nodes, then the rest,
// each by name in natural order.
func sortForDashboard(views []NodeView) {
	rank := func(v NodeView) int {
		switch {
		case v.State == state.Failed:
			return 0
		case v.Stuck:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(views, func(a, b NodeView) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return selector.Compare(a.Name, b.Name)
	})
}

// installsSVG draws how many nodes were installed over time (each node's
// last install, from the state file), as a step line up to the number of
// nodes. Only numbers and times go in: nothing from the site.
func installsSVG(views []NodeView, now time.Time) string {
	const w, h, left, bottom, top, right = 480, 160, 40, 24, 10, 10
	var times []time.Time
	total := 0
	for _, v := range views {
		if !v.InSite {
			continue
		}
		total++
		if !v.InstalledAt.IsZero() && v.State != state.Failed && !state.InstallMode(v.State) {
			times = append(times, v.InstalledAt)
		}
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`, w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, w, h)
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, left, h-bottom, w-right, h-bottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, left, top, left, h-bottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%d</text>`, left-4, top+8, total)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">0</text>`, left-4, h-bottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#ccc" stroke-dasharray="3,3"/>`, left, top, w-right, top)
	if len(times) == 0 || total == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#666">no node installed yet</text></svg>`, left+int(pw/2), top+int(ph/2))
		return b.String()
	}
	start := times[0]
	span := now.Sub(start)
	if span < time.Minute {
		span = time.Minute
	}
	x := func(t time.Time) float64 { return float64(left) + pw*float64(t.Sub(start))/float64(span) }
	y := func(n int) float64 { return float64(h-bottom) - ph*float64(n)/float64(total) }
	fmt.Fprintf(&b, `<path fill="none" stroke="#2e8b57" stroke-width="2" d="M%.1f %.1f`, x(start), y(0))
	// One step a pixel at most: thousands of installs stay a small path.
	last := -1.0
	for i, t := range times {
		if xi := x(t); xi-last >= 1 || i == len(times)-1 {
			fmt.Fprintf(&b, ` H%.1f V%.1f`, xi, y(i+1))
			last = xi
		}
	}
	fmt.Fprintf(&b, ` H%.1f"/>`, x(now))
	layout := "15:04"
	if span > 24*time.Hour {
		layout = "01-02 15:04"
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`, left, h-6, start.Local().Format(layout))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, w-right, h-6, now.Local().Format(layout))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#2e8b57">%d of %d installed</text>`, left+int(pw/2), h-6, len(times), total)
	b.WriteString(`</svg>`)
	return b.String()
}

func (s *Server) installsChart(w http.ResponseWriter, r *http.Request) {
	views, err := s.views(r.Context())
	if err != nil {
		s.storeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	fmt.Fprint(w, installsSVG(views, time.Now()))
}

// The dashboard is one page that polls /api/v1/nodes; a node's page is
// rendered on the server. No script or style is fetched from elsewhere.
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return time.Since(t).Round(time.Second).String()
	},
	"stamp": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
}).Parse(`
{{define "style"}}<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .3em} .sub{color:#666;margin-bottom:1em}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #ddd;white-space:nowrap}
th{background:#f4f4f4} td.wrap{white-space:normal}
.st{padding:.1em .5em;border-radius:.8em;font-size:.9em;color:#fff;background:#888}
.st-planned{background:#8a8a8a}.st-needs-reinstall{background:#b36b00}.st-booting{background:#2a6fb0}.st-installing{background:#1f5f99}
.st-installed{background:#2e8b57}.st-puppet-signed{background:#2a7a6a}.st-configured{background:#1e6b3a}.st-failed{background:#b52a2a}
.counts span{margin-right:1em} input,select{font:inherit;padding:.2em .4em;margin-right:.5em}
a{color:#1f5f99}
.wiring{overflow-x:auto;margin-top:.5em}
.bar{display:flex;height:1em;width:24em;background:#eee;border-radius:.2em;overflow:hidden}
.bar span{display:block;height:100%}
.b-planned{background:#8a8a8a}.b-needs-reinstall{background:#b36b00}.b-booting{background:#2a6fb0}.b-installing{background:#1f5f99}
.b-installed{background:#2e8b57}.b-puppet-signed{background:#2a7a6a}.b-configured{background:#1e6b3a}.b-failed{background:#b52a2a}
table.progress{width:auto} table.progress td{border:0;padding:.15em .6em}
.cols{display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start}
tr.failed td{background:#fbeaea} tr.stuck td{background:#fff4e0}
.stuck-tag{color:#b36b00;font-weight:bold}
</style>{{end}}

{{define "bar"}}<div class="bar" title="{{.Title}}">{{range .Segments}}<span class="b-{{.State}}" style="width:{{.Pct}}%"></span>{{end}}</div>{{end}}

{{define "progress"}}<table class="progress"><tbody>{{range .}}<tr><td>{{.Name}}</td><td>{{template "bar" .}}</td><td>{{.Done}}/{{.Total}} installed{{if .Failed}}, <b>{{.Failed}} failed</b>{{end}}{{if .Stuck}}, <span class="stuck-tag">{{.Stuck}} stuck</span>{{end}}</td></tr>{{end}}</tbody></table>{{end}}

{{define "dashboard"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kiln serve: {{.Cluster}}</title>{{template "style"}}</head>
<body>
<h1>{{.Cluster}}</h1>
<div class="sub">kiln serve &middot; {{.Nodes}} nodes &middot; build loaded {{stamp .Loaded}} &middot; <span id="updated">live</span></div>
<div class="counts" id="counts">{{template "bar" .All}}</div>
<div class="cols">
<div><h2>By role</h2><div id="roles">{{template "progress" .Roles}}</div></div>
<div id="groupsbox"{{if not .Groups}} hidden{{end}}><h2>By group</h2><div id="groups">{{template "progress" .Groups}}</div></div>
<div><h2>Installs over time</h2><img id="chart" src="/installs.svg" width="480" height="160" alt="installed nodes over time"></div>
</div>
<p><input id="q" placeholder="filter: name, role, group, IP, MAC" size="30" autofocus>
<select id="st"><option value="">every state</option>{{range .States}}<option>{{.}}</option>{{end}}</select>
<span id="shown"></span></p>
<table><thead><tr><th>node</th><th>role</th><th>group</th><th>state</th><th>in state for</th><th>install boots</th><th>IP</th><th>MAC</th><th>last event</th><th>reason</th></tr></thead>
<tbody id="rows">{{range .Views}}<tr{{if eq .State "failed"}} class="failed"{{else if .Stuck}} class="stuck"{{end}}><td><a href="/nodes/{{.Name}}">{{.Name}}</a></td><td>{{.Role}}</td><td>{{.Group}}</td><td><span class="st st-{{.State}}">{{.State}}</span>{{if .Stuck}} <span class="stuck-tag">stuck</span>{{end}}</td><td>{{ago .Since}}</td><td>{{.Boots}}</td><td>{{.IP}}</td><td>{{.MAC}}</td><td>{{.LastEvent}}</td><td class="wrap">{{.Reason}}</td></tr>{{end}}</tbody></table>
{{with .Wiring}}<h2>Wiring</h2>
<div class="wiring">{{.}}</div>{{end}}
<script>
"use strict";
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
function ago(t) {
  if (!t) return "-";
  let s = Math.max(0, Math.round((Date.now() - Date.parse(t)) / 1000));
  const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60); s %= 60;
  return (h ? h + "h" : "") + (h || m ? m + "m" : "") + s + "s";
}
let nodes = [];
const order = {{.StatesJSON}};
const done = new Set(["installed", "puppet-signed", "configured"]);
// One collator for every comparison: localeCompare with options builds
// a new one each call, which at 2,000 nodes makes a sort take seconds.
const natural = new Intl.Collator(undefined, {numeric: true}).compare;
const byName = (a, b) => natural(a.name, b.name);
// Failures first, then nodes stuck in a state, then by name (wn2 before wn10).
const rank = n => n.state === "failed" ? 0 : n.stuck ? 1 : 2;
function bar(list) {
  const c = {};
  for (const n of list) c[n.state] = (c[n.state] || 0) + 1;
  const title = order.filter(s => c[s]).map(s => c[s] + " " + s).join(", ");
  return '<div class="bar" title="' + esc(title) + '">' + order.filter(s => c[s]).map(s =>
    '<span class="b-' + esc(s) + '" style="width:' + (100 * c[s] / list.length).toFixed(2) + '%"></span>').join("") + "</div>";
}
function progress(key) {
  const by = new Map();
  for (const n of nodes) if (n.in_site && n[key]) { if (!by.has(n[key])) by.set(n[key], []); by.get(n[key]).push(n); }
  return '<table class="progress"><tbody>' + [...by.keys()].sort(natural).map(k => {
    const l = by.get(k), d = l.filter(n => done.has(n.state)).length, f = l.filter(n => n.state === "failed").length, s = l.filter(n => n.stuck).length;
    return "<tr><td>" + esc(k) + "</td><td>" + bar(l) + "</td><td>" + d + "/" + l.length + " installed" +
      (f ? ", <b>" + f + " failed</b>" : "") + (s ? ', <span class="stuck-tag">' + s + " stuck</span>" : "") + "</td></tr>";
  }).join("") + "</tbody></table>";
}
function draw() {
  const q = document.getElementById("q").value.toLowerCase(), st = document.getElementById("st").value;
  document.getElementById("counts").innerHTML = bar(nodes.filter(n => n.in_site));
  document.getElementById("roles").innerHTML = progress("role");
  const groups = nodes.some(n => n.group);
  document.getElementById("groupsbox").hidden = !groups;
  if (groups) document.getElementById("groups").innerHTML = progress("group");
  const shown = nodes.filter(n =>
    (!st || n.state === st) && (!q || [n.name, n.role, n.group, n.ip, n.mac, n.state].join(" ").toLowerCase().includes(q))
  ).sort((a, b) => rank(a) - rank(b) || byName(a, b));
  document.getElementById("shown").textContent = shown.length + " of " + nodes.length + " nodes";
  document.getElementById("rows").innerHTML = shown.map(n => "<tr" + (n.state === "failed" ? ' class="failed"' : n.stuck ? ' class="stuck"' : "") +
    "><td><a href=\"/nodes/" + encodeURIComponent(n.name) + "\">" + esc(n.name) + "</a></td><td>" + esc(n.role) + "</td><td>" + esc(n.group) +
    "</td><td><span class=\"st st-" + esc(n.state) + "\">" + esc(n.state) + "</span>" + (n.stuck ? ' <span class="stuck-tag">stuck</span>' : "") +
    "</td><td>" + ago(n.since) + "</td><td>" + n.install_boots +
    "</td><td>" + esc(n.ip) + "</td><td>" + esc(n.mac) + "</td><td>" + esc(n.last_event) + "</td><td class=\"wrap\">" + esc(n.reason) + "</td></tr>").join("");
}
let polls = 0;
async function poll() {
  try {
    const r = await fetch("/api/v1/nodes", {cache: "no-store"});
    if (!r.ok) throw new Error(r.status);
    nodes = (await r.json()).nodes;
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    draw();
    if (++polls % 5 === 0) document.getElementById("chart").src = "/installs.svg?" + Date.now();
  } catch (e) {
    document.getElementById("updated").textContent = "server unreachable (" + e.message + "), retrying";
  }
}
document.getElementById("q").addEventListener("input", draw);
document.getElementById("st").addEventListener("change", draw);
poll(); setInterval(poll, 2000);
</script>
</body></html>{{end}}

{{define "node"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>{{.View.Name}}: kiln serve</title>{{template "style"}}</head>
<body>
<p><a href="/">&larr; {{.Cluster}}</a></p>
<h1>{{.View.Name}} <span class="st st-{{.View.State}}">{{.View.State}}</span></h1>
<div class="sub">role {{.View.Role}} &middot; {{.View.IP}} &middot; {{.View.MAC}} &middot; in state for {{ago .View.Since}} &middot; install boots {{.View.Boots}}{{if .View.Reason}}<br>reason: {{.View.Reason}}{{end}}</div>
<h2>Files</h2>
{{if .Files}}<ul>{{range .Files}}<li>{{.}}</li>{{end}}</ul>{{else}}<p>No file of the build belongs to this node alone.</p>{{end}}
<h2>Events</h2>
<table><thead><tr><th>#</th><th>time</th><th>kind</th><th>change</th><th>detail</th><th>who</th><th>from</th></tr></thead><tbody>
{{range .Events}}<tr><td>{{.Seq}}</td><td>{{stamp .Time}}</td><td>{{.Kind}}</td><td>{{if .To}}{{.From}} &rarr; {{.To}}{{end}}</td><td class="wrap">{{.Detail}}</td><td>{{.Actor}}</td><td>{{.Remote}}</td></tr>{{end}}
</tbody></table>
</body></html>{{end}}
`))

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	views, err := s.views(r.Context())
	if err != nil {
		s.storeError(w, err)
		return
	}
	snap := s.snap.Load()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'")
	sortForDashboard(views)
	statesJSON, _ := json.Marshal(state.States)
	pages.ExecuteTemplate(w, "dashboard", map[string]any{
		"Cluster": snap.cluster.Name, "Nodes": len(snap.cluster.Nodes), "Loaded": snap.loaded, "States": state.States, "Views": views,
		"StatesJSON": template.JS(statesJSON),
		"All":        progressOf("all", inSite(views)),
		"Roles":      progressBy(views, func(v NodeView) string { return v.Role }),
		"Groups":     progressBy(views, func(v NodeView) string { return v.Group }),
		// The picture is kiln's own SVG (names escaped by internal/diagram),
		// not user input: safe to inline.
		"Wiring": template.HTML(snap.wiring),
	})
}

func (s *Server) nodePage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	views, err := s.views(r.Context())
	if err != nil {
		s.storeError(w, err)
		return
	}
	for _, v := range views {
		if v.Name != name {
			continue
		}
		evs, err := s.store.Events(r.Context(), state.Query{Node: name, Limit: 200})
		if err != nil {
			s.storeError(w, err)
			return
		}
		for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 { // newest first
			evs[i], evs[j] = evs[j], evs[i]
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		pages.ExecuteTemplate(w, "node", map[string]any{"Cluster": s.snap.Load().cluster.Name, "View": v, "Events": evs, "Files": s.nodeFiles(name)})
		return
	}
	textError(w, http.StatusNotFound, "404: no node "+name)
}
