package tier3test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/builtin"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/render"
	"kiln.dev/kiln/internal/testutil"
)

// vms lists the VM nodes of a build.
func vms(s *pipeline.Site) []string {
	var out []string
	for _, n := range s.Cluster.Nodes {
		if n.Kind == "vm" {
			out = append(out, n.Name)
		}
	}
	return out
}

func TestEveryVMDomainPassesVirtXMLValidate(t *testing.T) {
	validate := testutil.NeedProgram(t, "virt-xml-validate")
	site, files := build(t)
	dir := t.TempDir()
	names := vms(site)
	if len(names) != 3 {
		t.Fatalf("the example has VMs %v, want puppet, ldap and proxy", names)
	}
	for _, vm := range names {
		writeOut(t, files, dir, "vms/"+vm+".xml")
		out, err := exec.Command(validate, filepath.Join(dir, vm+".xml"), "domain").CombinedOutput()
		if err != nil {
			t.Errorf("vms/%s.xml does not validate against libvirt's schema: %v\n%s", vm, err, out)
		}
		xml := string(files["vms/"+vm+".xml"].Data)
		mac := site.Cluster.Node(vm).Interfaces[0].MAC
		if !strings.Contains(xml, `<mac address="`+mac+`"/>`) || !strings.Contains(xml, `<source bridge="br0"/>`) {
			t.Errorf("vms/%s.xml lacks the VM's MAC %s on bridge br0", vm, mac)
		}
	}
}

// fakeTree is an OS install tree as virt-install reads it (.treeinfo and
// the installer's kernel and initrd), for dry runs without the network.
func fakeTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "images/pxeboot"), 0o755)
	os.WriteFile(filepath.Join(dir, "images/pxeboot/vmlinuz"), []byte("kernel"), 0o644)
	os.WriteFile(filepath.Join(dir, "images/pxeboot/initrd.img"), []byte("initrd"), 0o644)
	os.WriteFile(filepath.Join(dir, ".treeinfo"), []byte(`[general]
name = Rocky Linux 9
family = Rocky Linux
version = 9
arch = x86_64
[images-x86_64]
kernel = images/pxeboot/vmlinuz
initrd = images/pxeboot/initrd.img
[tree]
arch = x86_64
version = 9
`), 0o644)
	return dir
}

// crvm runs a VM's script in dry-run mode against libvirt's test driver.
func crvm(t *testing.T, files map[string]render.File, vm, connect, meminfo string) (string, error) {
	t.Helper()
	testutil.NeedProgram(t, "virt-install")
	testutil.NeedProgram(t, "virsh")
	dir := t.TempDir()
	writeOut(t, files, dir, "crvm-"+vm+".sh")
	// The kickstart is the install chain's; any file will do for a dry run.
	os.WriteFile(filepath.Join(dir, "kickstart-"+vm+".cfg"), []byte("text\n"), 0o600)
	cmd := exec.Command("sh", filepath.Join(dir, "crvm-"+vm+".sh"))
	cmd.Env = append(os.Environ(), "KILN_DRY_RUN=1", "LIBVIRT_DEFAULT_URI="+connect,
		"KILN_INSTALL_TREE="+fakeTree(t), "KILN_MEMINFO="+meminfo)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func meminfo(t *testing.T, kib int) string {
	p := filepath.Join(t.TempDir(), "meminfo")
	os.WriteFile(p, []byte("MemTotal:       99999999 kB\nMemAvailable:   "+itoa(kib)+" kB\n"), 0o644)
	return p
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestEveryVMScriptPassesAVirtInstallDryRun(t *testing.T) {
	site, files := build(t)
	for _, vm := range vms(site) {
		out, err := crvm(t, files, vm, "test:///default", meminfo(t, 64*1024*1024))
		if err != nil || !strings.Contains(out, "Dry run completed successfully") {
			t.Errorf("crvm-%s.sh dry run failed: %v\n%s", vm, err, out)
		}
	}
}

func TestVMScriptLeavesAnExistingVMAlone(t *testing.T) {
	_, files := build(t)
	// libvirt's test driver with a domain called puppet already defined.
	node := filepath.Join(t.TempDir(), "node.xml")
	os.WriteFile(node, []byte(`<node><domain type="test"><name>puppet</name><memory>1048576</memory><os><type>hvm</type></os></domain></node>`), 0o644)
	out, err := crvm(t, files, "puppet", "test://"+node, meminfo(t, 64*1024*1024))
	if err != nil || !strings.Contains(out, "exists already; left as it is") {
		t.Fatalf("a second run should leave the VM alone: %v\n%s", err, out)
	}
}

func TestVMScriptRefusesWhenTheHostLacksMemory(t *testing.T) {
	site, files := build(t)
	need := site.Cluster.Node("puppet").VM.Memory
	out, err := crvm(t, files, "puppet", "test:///default", meminfo(t, 512*1024))
	if err == nil || !strings.Contains(out, "512 MiB of memory available and the VM needs "+itoa(need)+" MiB") {
		t.Fatalf("want a refusal naming the memory: %v\n%s", err, out)
	}
}

// A design with a fourth VM role gets its domain and script from the same
// templates, with no Go change: here a site folder adds a monitoring VM.
func TestAFourthVMRoleGetsItsDomainAndScript(t *testing.T) {
	dir := t.TempDir()
	ex, _ := builtin.Example("tier3")
	if err := os.CopyFS(dir, ex); err != nil {
		t.Fatal(err)
	}
	site, _ := fs.ReadFile(ex, "site.yaml")
	withMon := strings.Replace(string(site), "  nfs:\n", "  monitor:\n    - name: mon\n      ip: {private: 10.10.0.5}\n  nfs:\n", 1)
	os.WriteFile(filepath.Join(dir, "site.yaml"), []byte(withMon), 0o644)
	os.MkdirAll(filepath.Join(dir, "roles"), 0o755)
	os.WriteFile(filepath.Join(dir, "roles/monitor.yaml"), []byte(`description: Monitoring, a VM on the head.
kind: vm
host: head
vm: {vcpus: 1, memory: 1536, disk: 10}
naming: mon
count: {min: 0, max: 1}
interfaces:
  - {nic: priv0, network: private}
modules:
  base: {}
`), 0o644)
	s, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		t.Fatalf("the site with a monitoring VM does not resolve:\n%v", err)
	}
	list, err := s.Render()
	if err != nil {
		t.Fatalf("it does not build:\n%v", err)
	}
	files := map[string]render.File{}
	for _, f := range list {
		files[f.Path] = f
	}
	if _, ok := files["vms/mon.xml"]; !ok {
		t.Fatal("no vms/mon.xml for the new VM role")
	}
	out, err := crvm(t, files, "mon", "test:///default", meminfo(t, 64*1024*1024))
	if err != nil || !strings.Contains(out, "Dry run completed successfully") {
		t.Errorf("crvm-mon.sh dry run failed: %v\n%s", err, out)
	}
	if validate := testutil.NeedProgram(t, "virt-xml-validate"); validate != "" {
		d := t.TempDir()
		writeOut(t, files, d, "vms/mon.xml")
		if out, err := exec.Command(validate, filepath.Join(d, "mon.xml"), "domain").CombinedOutput(); err != nil {
			t.Errorf("vms/mon.xml: %v\n%s", err, out)
		}
	}
}
