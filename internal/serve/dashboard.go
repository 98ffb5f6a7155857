package serve

import (
	"html/template"
	"net/http"
	"time"

	"kiln.dev/kiln/internal/state"
)

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
</style>{{end}}

{{define "dashboard"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kiln serve: {{.Cluster}}</title>{{template "style"}}</head>
<body>
<h1>{{.Cluster}}</h1>
<div class="sub">kiln serve &middot; {{.Nodes}} nodes &middot; build loaded {{stamp .Loaded}} &middot; <span id="updated">live</span></div>
<div class="counts" id="counts"></div>
<p><input id="q" placeholder="filter: name, role, IP, MAC" size="30" autofocus>
<select id="st"><option value="">every state</option>{{range .States}}<option>{{.}}</option>{{end}}</select></p>
<table><thead><tr><th>node</th><th>role</th><th>state</th><th>in state for</th><th>install boots</th><th>IP</th><th>MAC</th><th>last event</th><th>reason</th></tr></thead>
<tbody id="rows">{{range .Views}}<tr><td><a href="/nodes/{{.Name}}">{{.Name}}</a></td><td>{{.Role}}</td><td><span class="st st-{{.State}}">{{.State}}</span></td><td>{{ago .Since}}</td><td>{{.Boots}}</td><td>{{.IP}}</td><td>{{.MAC}}</td><td>{{.LastEvent}}</td><td class="wrap">{{.Reason}}</td></tr>{{end}}</tbody></table>
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
function draw() {
  const q = document.getElementById("q").value.toLowerCase(), st = document.getElementById("st").value;
  const counts = {};
  for (const n of nodes) counts[n.state] = (counts[n.state] || 0) + 1;
  document.getElementById("counts").innerHTML = Object.keys(counts).sort().map(k => '<span><span class="st st-' + esc(k) + '">' + esc(k) + '</span> ' + counts[k] + '</span>').join("");
  document.getElementById("rows").innerHTML = nodes.filter(n =>
    (!st || n.state === st) && (!q || [n.name, n.role, n.ip, n.mac, n.state].join(" ").toLowerCase().includes(q))
  ).map(n => "<tr><td><a href=\"/nodes/" + encodeURIComponent(n.name) + "\">" + esc(n.name) + "</a></td><td>" + esc(n.role) +
    "</td><td><span class=\"st st-" + esc(n.state) + "\">" + esc(n.state) + "</span></td><td>" + ago(n.since) + "</td><td>" + n.install_boots +
    "</td><td>" + esc(n.ip) + "</td><td>" + esc(n.mac) + "</td><td>" + esc(n.last_event) + "</td><td class=\"wrap\">" + esc(n.reason) + "</td></tr>").join("");
}
async function poll() {
  try {
    const r = await fetch("/api/v1/nodes", {cache: "no-store"});
    if (!r.ok) throw new Error(r.status);
    nodes = (await r.json()).nodes;
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    draw();
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
	pages.ExecuteTemplate(w, "dashboard", map[string]any{
		"Cluster": snap.cluster.Name, "Nodes": len(snap.cluster.Nodes), "Loaded": snap.loaded, "States": state.States, "Views": views,
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
