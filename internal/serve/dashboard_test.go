package serve

import (
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/testutil"
)

// The dashboard shows the cluster's wiring picture, and real Chromium
// renders the live page (its script polls the API) to a screenshot.
func TestDashboardRendersInChromiumWithTheWiring(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium; skipped with -short")
	}
	dir := makeSite(t, 2, 2)
	s := start(t, testConfig(dir))
	code, body, _ := get(t, "", "GET", s.URL+"/")
	if code != 200 || !strings.Contains(body, "<h2>Wiring</h2>") || !strings.Contains(body, "<svg") || !strings.Contains(body, "wn2") {
		t.Fatalf("the dashboard lacks the wiring picture: %d\n%s", code, body)
	}

	chromium := testutil.NeedProgram(t, "chromium")
	shot := filepath.Join(t.TempDir(), "dashboard.png")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(t.TempDir(), "profile"), "--hide-scrollbars",
		"--window-size=1100,1400", "--virtual-time-budget=3000", "--screenshot="+shot, s.URL+"/")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	// A page that failed to render is one flat colour; the dashboard has
	// a table, coloured state badges and the picture.
	colours := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[r>>11<<10|g>>11<<5|bl>>11] = true
		}
	}
	if b.Dx() != 1100 || len(colours) < 8 {
		t.Fatalf("the screenshot is %dx%d with %d colours: the page did not render", b.Dx(), b.Dy(), len(colours))
	}
	// The page's script ran in the browser and asked the API for the nodes.
	_, metrics, _ := get(t, "", "GET", s.URL+"/metrics")
	if !strings.Contains(metrics, `kiln_http_requests_total{kind="api",code="200"}`) {
		t.Fatalf("the dashboard's script never reached the API:\n%s", metrics)
	}
}
