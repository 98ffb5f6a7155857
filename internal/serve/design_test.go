package serve

import (
	"testing"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/yamlx"
)

// TestTheDesignNamesWhatIsServedAndFlagsOverride: paths the flags leave
// empty come from the design's serve: block, a flag's wins, and kiln's
// defaults fill what neither gives.
func TestTheDesignNamesWhatIsServedAndFlagsOverride(t *testing.T) {
	s := &defs.ServeUse{BootScript: yamlx.Scalar{Value: "boot/{node}.ipxe"}, InstallFile: yamlx.Scalar{Value: "install/{node}.ks"},
		LocalBoot: yamlx.Scalar{Value: "boot/disk.ipxe"}, DnsmasqConf: yamlx.Scalar{Value: "net/dnsmasq.conf"}, Kernel: yamlx.Scalar{Value: "isolinux/vmlinuz"}}
	c := Config{Kickstart: "ks/{node}.cfg"}
	c.fromDesign(s)
	c.defaults()
	for _, x := range []struct{ got, want string }{
		{c.IPXEScript, "boot/{node}.ipxe"}, {c.LocalScript, "boot/disk.ipxe"}, {c.Kickstart, "ks/{node}.cfg"},
		{c.DnsmasqConf, "net/dnsmasq.conf"}, {c.Kernel, "isolinux/vmlinuz"}, {c.Initrd, "images/pxeboot/initrd.img"}, {c.GRUBScript, "grub/{node}.cfg"},
	} {
		if x.got != x.want {
			t.Errorf("got %q, want %q", x.got, x.want)
		}
	}
	var keys []string
	for _, n := range c.named {
		keys = append(keys, n.key+"="+n.pattern+" by "+n.by)
	}
	want := []string{"boot_script=boot/{node}.ipxe by the design's serve: boot_script", "local_boot=boot/disk.ipxe by the design's serve: local_boot", "install_file=ks/{node}.cfg by --kickstart"}
	if len(keys) != len(want) {
		t.Fatalf("named %q, want %q", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Errorf("named %q, want %q", keys[i], want[i])
		}
	}
}
