package kickstart

import (
	"strings"
	"testing"
)

const good9 = `# a comment
url --url=http://10.0.0.1/os/el9/
text
lang en_US.UTF-8
keyboard --vckeymap=us --xlayouts=us
timezone Europe/Zurich --utc
timesource --ntp-server=ntp1.example
timesource --ntp-server ntp2.example
network --device=eth0 --bootproto=static --ip=10.0.0.5 --netmask=255.255.255.0 --hostname=a.example --onboot=yes --activate
network --device=eth1 --bootproto=dhcp
rootpw --iscrypted $6$salt$hash
selinux --enforcing
firewall --enabled --service=ssh
bootloader --location=mbr --append="net.ifnames=0 biosdevname=0"
zerombr
clearpart --all --initlabel
autopart --type=lvm
reboot

%packages --ignoremissing
@core
chrony
%end

%post --log=/root/post.log
echo "%end in a string is body text"
%end
`

func TestGoodKickstartPasses(t *testing.T) {
	f, probs := Lint("el9", good9)
	if len(probs) > 0 {
		t.Fatalf("problems in a good file: %v", probs)
	}
	if len(f.Commands) != 17 || len(f.Sections) != 2 {
		t.Fatalf("parsed %d commands and %d sections, want 17 and 2", len(f.Commands), len(f.Sections))
	}
	if a := f.Command("bootloader").Args; a[1] != "--append=net.ifnames=0 biosdevname=0" {
		t.Errorf("quoted option parsed as %q", a[1])
	}
	if b := f.Section("%post")[0].Body; !strings.Contains(b, "%end in a string") {
		t.Errorf("post body %q", b)
	}
}

// The good el9 file is good el10 too, its timezone aside (RHEL10_Timezone
// has no NTP options, which el9 keeps as deprecated).
func TestGoodKickstartPassesInEL10(t *testing.T) {
	if _, probs := Lint("el10", good9); len(probs) > 0 {
		t.Fatalf("problems in a good el10 file: %v", probs)
	}
}

func TestLintFindsEachProblem(t *testing.T) {
	cases := []struct {
		dialect, text, want string
	}{
		{"el9", "install\n", "install is removed in el9"},
		{"el8", "install\n", "install is deprecated in el8"},
		{"el8", "auth --enableshadow --passalgo=sha512\n", "auth is deprecated in el8"},
		{"el9", "authconfig --useshadow\n", "authconfig is deprecated in el9"},
		{"el9", "timezone UTC --isUtc\n", "option --isUtc is deprecated"},
		{"el9", "timezone UTC --ntpservers=a,b\n", "option --ntpservers is deprecated"},
		{"el8", "timesource --ntp-server=a\n", `unknown command "timesource" in el8`},
		{"sl6", "network --device=eth0 --interfacename=x\n", "option --interfacename is not known to sl6"},
		{"sl5", "network --device=eth0 --activate\n", "option --activate is not known to sl5"},
		{"el9", "rootpw --iscrypted a\nrootpw --iscrypted b\n", "rootpw is given twice"},
		{"el9", "rootpw\n", "rootpw takes 1 argument(s)"},
		{"el9", "bootloader --location=floppy\n", "--location=floppy is not one of"},
		{"el9", "url --url\n", "option --url needs a value"},
		{"el9", "selinux --enforcing=yes\n", "option --enforcing takes no value"},
		{"el9", "frobnicate\n", `unknown command "frobnicate"`},
		{"el9", "%packages\n@core\n", "section %packages is not closed with %end"},
		{"el9", "%packages\n@core\n%post\ntrue\n%end\n", "not closed with %end before %post"},
		{"sl5", "%packages\n@core\n%end\n", "%end is not known to sl5"},
		{"sl5", "%packages\n@core\n%post\ntrue\nreboot\n", ""},
		{"el9", "%end\n", "%end with no section open"},
		{"el9", "%packages --nobase\n%end\n", "option --nobase is not known to el9"},
		{"el9", "%packages\nfoo bar\n%end\n", "one package, @group or -package per line"},
		{"el9", "%pre-install\n%end\n", "section %pre-install is not known"},
		{"el9", "lang \"en_US\n", "unterminated double quote"},
		{"el9", "logging --level=info\n", "no option table for logging"},
		{"el7", "upgrade\n", "upgrade is deprecated in el7"},
		{"el9", "%include /tmp/x\n", "%include is not allowed"},
		{"el11", "text\n", `unknown dialect "el11"`},
		{"el10", "timezone UTC --ntpservers=a,b\n", "option --ntpservers is not known to el10"},
		{"el10", "timezone UTC --isUtc\n", "option --isUtc is not known to el10"},
		{"el10", "authconfig --useshadow\n", "authconfig is removed in el10"},
		{"el10", "install\n", "install is removed in el10"},
		{"el10", "repo --name=x --baseurl=http://h/ --ignoregroups=true\n", "option --ignoregroups is not known to el10"},
	}
	for _, c := range cases {
		_, probs := Lint(c.dialect, c.text)
		var all []string
		for _, p := range probs {
			all = append(all, p.String())
		}
		joined := strings.Join(all, "\n")
		if c.want == "" {
			if len(probs) > 0 {
				t.Errorf("%s %q: unexpected problems:\n%s", c.dialect, c.text, joined)
			}
			continue
		}
		if !strings.Contains(joined, c.want) {
			t.Errorf("%s %q: want a problem containing %q, got:\n%s", c.dialect, c.text, c.want, joined)
		}
	}
}

func TestEveryDialectHasTheCommandsKilnWrites(t *testing.T) {
	for _, name := range []string{"el9", "el8", "el7", "sl6", "sl5"} {
		d := Dialects[name]
		if d == nil {
			t.Fatalf("no dialect %s", name)
		}
		for _, c := range []string{"text", "lang", "keyboard", "timezone", "network", "rootpw", "selinux", "firewall", "firstboot", "skipx", "bootloader", "zerombr", "clearpart", "autopart", "url", "reboot"} {
			cmd := d.Commands[c]
			if cmd == nil || cmd.Options == nil || cmd.Status != OK {
				t.Errorf("%s: command %s missing, untabled or not OK", name, c)
			}
		}
	}
}

func TestSplitLikeShlex(t *testing.T) {
	cases := map[string][]string{
		`a b  c`:                  {"a", "b", "c"},
		`a "b c" d`:               {"a", "b c", "d"},
		`a 'b "c"' d`:             {"a", `b "c"`, "d"},
		`a --x="1 2"`:             {"a", "--x=1 2"},
		`a b # comment`:           {"a", "b"},
		`a b#notcomment`:          {"a", "b#notcomment"},
		`a\ b`:                    {"a b"},
		`rootpw --iscrypted $6$x`: {"rootpw", "--iscrypted", "$6$x"},
	}
	for in, want := range cases {
		got, err := split(in)
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("split(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
