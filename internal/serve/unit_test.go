package serve

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/testutil"
)

// The example's systemd unit for kiln serve passes systemd-analyze verify
// and starts kiln serve the way this package expects.
func TestExampleUnit(t *testing.T) {
	analyze := testutil.NeedProgram(t, "systemd-analyze")
	site, err := pipeline.Resolve(pipeline.Source{Example: "tier3"})
	if err != nil {
		t.Skipf("the example does not resolve right now: %v", err)
	}
	files, err := site.Render()
	if err != nil {
		t.Skipf("the example does not render right now: %v", err)
	}
	var unit string
	for _, f := range files {
		if strings.HasSuffix(f.Path, "/kiln-serve.service") {
			unit = string(f.Data)
		}
	}
	if unit == "" {
		t.Fatal("the example build has no kiln-serve.service")
	}
	for _, want := range []string{"ExecStart=/usr/local/bin/kiln serve -C /etc/kiln/site --listen 10.10.0.1:80 --dhcp dnsmasq", "KillSignal=SIGTERM", "Conflicts=dnsmasq.service"} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit lacks %q:\n%s", want, unit)
		}
	}
	// verify wants the program to exist; check the unit with a stand-in.
	p := filepath.Join(t.TempDir(), "kiln-serve.service")
	os.WriteFile(p, []byte(strings.ReplaceAll(unit, "/usr/local/bin/kiln", "/bin/true")), 0o644)
	out, err := exec.Command(analyze, "verify", p).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// queryValue reads a query parameter as url.Values.Get does.
func TestQueryValueIsValuesGet(t *testing.T) {
	for _, raw := range []string{"", "token=abc", "a=1&token=abc&token=def", "token=", "token", "tok%65n=x", "token=a%20b", "token=a+b",
		"token=%zz&token=ok", "token=a;b", "x=1;token=2&token=3", "a=%&b", "token=%41"} {
		v, _ := url.ParseQuery(raw) // as Request.URL.Query does
		want := v.Get("token")
		if got := queryValue(raw, "token"); got != want {
			t.Errorf("%q: got %q, want %q", raw, got, want)
		}
	}
}

func TestASecondServerOnTheSameStateFileIsRefusedNamingTheFirst(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kiln.db")
	release, err := LockState(db, "10.10.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockState(db, "127.0.0.1:9090")
	if err == nil || !strings.Contains(err.Error(), "another kiln serve already uses the state file") ||
		!strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) || !strings.Contains(err.Error(), "10.10.0.1:8080") {
		t.Fatalf("the second lock: %v", err)
	}
	release()
	again, err := LockState(db, "127.0.0.1:9090")
	if err != nil {
		t.Fatalf("after the first let go: %v", err)
	}
	again()
}
