package kickstart

import "sort"

// The grammar tables below are derived from pykickstart's handlers
// (pykickstart/handlers/rhel5.py, rhel6.py, rhel7.py, rhel8.py, rhel9.py:
// the command → class map of each release) and from the option parsers of
// the command classes they name (pykickstart/commands/*.py). Every command
// of a release's map is known to its dialect here; a command whose class is
// a DeprecatedCommand or RemovedCommand, or an option pykickstart warns is
// deprecated, is an error. Options are tabled for the commands kiln writes
// and the disk-layout commands a role may use; a known command without an
// option table is an error too ("cannot vouch for it"), so the linter
// never passes what it has not checked.

// Status says whether a release still accepts a command or an option.
type Status int

const (
	OK Status = iota
	Deprecated
	Removed
)

func (s Status) String() string {
	switch s {
	case Deprecated:
		return "deprecated"
	case Removed:
		return "removed"
	}
	return "ok"
}

// Opt is one option of a command.
type Opt struct {
	Value   bool     // takes a value: --opt=v or --opt v
	Choices []string // allowed values, when limited
	Status  Status
	Note    string // why deprecated, and what to use instead
}

// Command is a command as one release's handler knows it.
type Command struct {
	Class  string // pykickstart class the handler maps the name to
	Status Status
	Note   string
	// Options maps "--name" to its definition; nil means the linter has no
	// table for this command (an error if the command is used).
	Options map[string]Opt
	// FreeForm commands take their arguments verbatim (authconfig).
	FreeForm bool
	// MinArgs and MaxArgs bound the positional arguments (-1: no bound).
	MinArgs, MaxArgs int
	// Multi commands may appear more than once (network, part, repo…).
	Multi bool
}

// Section is a %-section as one release knows it.
type Section struct {
	Options map[string]Opt
}

// Dialect is one release's kickstart grammar.
type Dialect struct {
	Name     string // kiln's name: el10, el9, el8 (and el7, sl6, sl5, which kiln refuses)
	Handler  string // pykickstart handler: RHEL9 …
	Commands map[string]*Command
	Sections map[string]*Section
	// EndAllowed: the release knows %end; EndRequired: every section must
	// be closed by it (kiln always closes them where %end is known).
	EndAllowed, EndRequired bool
}

// Dialects lists the dialects by kiln name.
var Dialects = map[string]*Dialect{}

// Names lists the dialects, sorted.
func Names() []string {
	var out []string
	for n := range Dialects {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func flags(names ...string) map[string]Opt {
	m := map[string]Opt{}
	for _, n := range names {
		m[n] = Opt{}
	}
	return m
}

func values(m map[string]Opt, names ...string) map[string]Opt {
	for _, n := range names {
		m[n] = Opt{Value: true}
	}
	return m
}

func with(base map[string]Opt, more map[string]Opt) map[string]Opt {
	m := map[string]Opt{}
	for k, v := range base {
		m[k] = v
	}
	for k, v := range more {
		m[k] = v
	}
	return m
}

func cmd(class string, opts map[string]Opt, minArgs, maxArgs int) *Command {
	return &Command{Class: class, Options: opts, MinArgs: minArgs, MaxArgs: maxArgs}
}

func multi(c *Command) *Command { c.Multi = true; return c }

// known marks every other command of a handler's map as known without an
// option table.
func known(d *Dialect, classes map[string]string) {
	for name, class := range classes {
		if _, ok := d.Commands[name]; !ok {
			d.Commands[name] = &Command{Class: class, MinArgs: 0, MaxArgs: -1}
		}
	}
}

func gone(d *Dialect, status Status, note string, names ...string) {
	for _, n := range names {
		c, ok := d.Commands[n]
		if !ok {
			c = &Command{MaxArgs: -1}
			d.Commands[n] = c
		}
		c.Status, c.Note = status, note
	}
}

var multiUse = []string{"network", "part", "partition", "logvol", "volgroup", "raid", "repo", "user", "group",
	"sshkey", "sshpw", "timesource", "btrfs", "iscsi", "zfcp", "driverdisk", "fcoe", "snapshot", "device",
	"dmraid", "multipath", "module", "mount", "nvdimm"}

func init() {
	// Options common to every release, by command (FC3 parsers).
	netFC3 := values(flags("--nodns"), "--bootproto", "--dhcpclass", "--device", "--essid", "--ethtool",
		"--gateway", "--hostname", "--ip", "--mtu", "--nameserver", "--netmask", "--onboot", "--wepkey")
	netFC6 := with(netFC3, flags("--notksdevice", "--noipv4", "--noipv6")) // FC4 + FC6
	netRHEL6 := with(values(netFC6, "--ipv6", "--vlanid", "--bondslaves", "--bondopts"), flags("--activate", "--nodefroute"))
	netRHEL7 := with(values(netFC6, "--ipv6", "--vlanid", "--bondslaves", "--bondopts", "--wpakey", "--ipv6gateway",
		"--teamslaves", "--teamconfig", "--interfacename"), flags("--activate", "--nodefroute"))
	netF27 := with(values(netRHEL7, "--bridgeslaves", "--bridgeopts", "--bindto"), flags("--no-activate"))

	partOpts := values(flags("--grow", "--asprimary", "--noformat", "--encrypted"),
		"--size", "--maxsize", "--fstype", "--ondisk", "--ondrive", "--label", "--fsoptions", "--passphrase")
	vgOpts := values(flags("--useexisting", "--noformat"), "--pesize")
	lvOpts := values(flags("--grow", "--noformat", "--useexisting", "--encrypted"),
		"--vgname", "--name", "--size", "--maxsize", "--fstype", "--percent", "--fsoptions", "--passphrase", "--label")
	fwFC3 := with(values(map[string]Opt{}, "--trust", "--port"),
		flags("--enabled", "--enable", "--disabled", "--disable", "--ssh", "--telnet", "--smtp", "--http", "--ftp"))
	fwF10 := values(with(fwFC3, nil), "--service")
	clearFC3 := values(flags("--all", "--initlabel", "--linux", "--none"), "--drives")
	selinux := flags("--disabled", "--enforcing", "--permissive")
	firstboot := flags("--disable", "--disabled", "--enable", "--enabled", "--reconfig")
	services := values(map[string]Opt{}, "--disabled", "--enabled")
	bootFC3 := values(map[string]Opt{}, "--append", "--driveorder", "--password", "--md5pass")
	bootFC3["--location"] = Opt{Value: true, Choices: []string{"mbr", "partition", "none", "boot"}}

	// sl5 — Scientific Linux 5 = RHEL5Handler.
	sl5 := &Dialect{Name: "sl5", Handler: "RHEL5", Commands: map[string]*Command{
		"text":       cmd("FC3_DisplayMode", flags(), 0, 0),
		"lang":       cmd("FC3_Lang", flags(), 1, 1),
		"keyboard":   cmd("FC3_Keyboard", flags(), 1, 1),
		"timezone":   cmd("FC6_Timezone", flags("--utc", "--isUtc"), 1, 1),
		"network":    multi(cmd("RHEL5_Network", netFC6, 0, 0)),
		"rootpw":     cmd("FC3_RootPw", flags("--iscrypted"), 1, 1),
		"auth":       {Class: "FC3_Authconfig", FreeForm: true, MaxArgs: -1},
		"authconfig": {Class: "FC3_Authconfig", FreeForm: true, MaxArgs: -1},
		"selinux":    cmd("FC3_SELinux", selinux, 0, 0),
		"firewall":   cmd("FC3_Firewall", fwFC3, 0, 0),
		"firstboot":  cmd("FC3_Firstboot", firstboot, 0, 0),
		"skipx":      cmd("FC3_SkipX", flags(), 0, 0),
		"bootloader": cmd("RHEL5_Bootloader", with(bootFC3, flags("--upgrade", "--useLilo", "--lba32", "--linear", "--nolinear")), 0, 0),
		"zerombr":    cmd("FC3_ZeroMbr", flags(), 0, 0),
		"clearpart":  cmd("FC3_ClearPart", clearFC3, 0, 0),
		"autopart":   cmd("F9_AutoPart", values(flags("--encrypted"), "--passphrase"), 0, 0),
		"part":       multi(cmd("RHEL5_Partition", partOpts, 1, 1)),
		"partition":  multi(cmd("RHEL5_Partition", partOpts, 1, 1)),
		"volgroup":   multi(cmd("FC3_VolGroup", vgOpts, 1, -1)),
		"logvol":     multi(cmd("RHEL5_LogVol", lvOpts, 1, 1)),
		"install":    cmd("FC3_Upgrade", flags(), 0, 0),
		"url":        cmd("FC3_Url", values(map[string]Opt{}, "--url"), 0, 0),
		"cdrom":      cmd("FC3_Cdrom", flags(), 0, 0),
		"harddrive":  cmd("FC3_HardDrive", values(map[string]Opt{}, "--partition", "--dir", "--biospart"), 0, 0),
		"repo":       multi(cmd("FC6_Repo", values(map[string]Opt{}, "--name", "--baseurl", "--mirrorlist"), 0, 0)),
		"reboot":     cmd("FC6_Reboot", flags("--eject"), 0, 0),
		"services":   cmd("FC6_Services", services, 0, 0),
	}, Sections: map[string]*Section{
		"%packages": {Options: flags("--resolvedeps", "--excludedocs", "--nobase", "--ignoremissing", "--ignoredeps")},
		"%pre":      {Options: values(flags("--erroronfail"), "--interpreter")},
		"%post":     {Options: values(flags("--nochroot"), "--interpreter")},
	}}
	sl5.Sections["%pre"].Options = values(map[string]Opt{}, "--interpreter")
	known(sl5, map[string]string{"autostep": "FC3_AutoStep", "cmdline": "FC3_DisplayMode", "device": "FC3_Device",
		"deviceprobe": "FC3_DeviceProbe", "dmraid": "FC6_DmRaid", "driverdisk": "F12_DriverDisk", "graphical": "FC3_DisplayMode",
		"halt": "FC6_Reboot", "ignoredisk": "F8_IgnoreDisk", "interactive": "FC3_Interactive", "iscsi": "FC6_Iscsi",
		"iscsiname": "FC6_IscsiName", "key": "RHEL5_Key", "langsupport": "FC5_LangSupport", "logging": "FC6_Logging",
		"mediacheck": "FC4_MediaCheck", "method": "FC6_Method", "monitor": "FC6_Monitor", "mouse": "FC3_Mouse",
		"multipath": "FC6_MultiPath", "nfs": "FC6_NFS", "poweroff": "FC6_Reboot", "raid": "RHEL5_Raid",
		"shutdown": "FC6_Reboot", "upgrade": "FC3_Upgrade", "user": "FC6_User", "vnc": "FC6_Vnc",
		"xconfig": "FC6_XConfig", "zfcp": "FC3_ZFCP"})

	// sl6 — RHEL6Handler.
	sl6 := &Dialect{Name: "sl6", Handler: "RHEL6", EndAllowed: true, EndRequired: true, Commands: map[string]*Command{
		"text":       cmd("FC3_DisplayMode", flags(), 0, 0),
		"lang":       cmd("FC3_Lang", flags(), 1, 1),
		"keyboard":   cmd("FC3_Keyboard", flags(), 1, 1),
		"timezone":   cmd("FC6_Timezone", flags("--utc", "--isUtc"), 1, 1),
		"network":    multi(cmd("RHEL6_Network", netRHEL6, 0, 0)),
		"rootpw":     cmd("F8_RootPw", flags("--iscrypted", "--plaintext", "--lock"), 1, 1),
		"auth":       {Class: "FC3_Authconfig", FreeForm: true, MaxArgs: -1},
		"authconfig": {Class: "FC3_Authconfig", FreeForm: true, MaxArgs: -1},
		"selinux":    cmd("FC3_SELinux", selinux, 0, 0),
		"firewall":   cmd("F10_Firewall", fwF10, 0, 0),
		"firstboot":  cmd("FC3_Firstboot", firstboot, 0, 0),
		"skipx":      cmd("FC3_SkipX", flags(), 0, 0),
		"bootloader": cmd("RHEL6_Bootloader", with(values(bootFC3, "--timeout"), flags("--iscrypted", "--upgrade")), 0, 0),
		"zerombr":    cmd("F9_ZeroMbr", flags(), 0, 0),
		"clearpart":  cmd("FC3_ClearPart", clearFC3, 0, 0),
		"autopart":   cmd("RHEL6_AutoPart", values(flags("--encrypted"), "--passphrase", "--cipher", "--escrowcert"), 0, 0),
		"part":       multi(cmd("RHEL6_Partition", partOpts, 1, 1)),
		"partition":  multi(cmd("RHEL6_Partition", partOpts, 1, 1)),
		"volgroup":   multi(cmd("RHEL6_VolGroup", vgOpts, 1, -1)),
		"logvol":     multi(cmd("RHEL6_LogVol", lvOpts, 1, 1)),
		"install":    cmd("F11_Upgrade", flags(), 0, 0),
		"url":        cmd("RHEL6_Url", with(values(map[string]Opt{}, "--url", "--proxy"), flags("--noverifyssl")), 0, 0),
		"cdrom":      cmd("FC3_Cdrom", flags(), 0, 0),
		"harddrive":  cmd("FC3_HardDrive", values(map[string]Opt{}, "--partition", "--dir", "--biospart"), 0, 0),
		"repo":       multi(cmd("RHEL6_Repo", with(values(map[string]Opt{}, "--name", "--baseurl", "--mirrorlist", "--cost", "--excludepkgs", "--includepkgs", "--proxy"), flags("--noverifyssl")), 0, 0)),
		"reboot":     cmd("FC6_Reboot", flags("--eject"), 0, 0),
		"services":   cmd("FC6_Services", services, 0, 0),
	}, Sections: map[string]*Section{
		"%packages": {Options: with(flags("--excludedocs", "--nobase", "--ignoremissing", "--default"), values(map[string]Opt{}, "--instLangs"))},
		"%pre":      {Options: values(flags("--erroronfail"), "--interpreter", "--log")},
		"%post":     {Options: values(flags("--nochroot", "--erroronfail"), "--interpreter", "--log")},
	}}
	sl6.Sections["%pre"].Options = values(map[string]Opt{}, "--interpreter", "--log")
	sl6.Sections["%post"].Options = values(flags("--nochroot"), "--interpreter", "--log")
	known(sl6, map[string]string{"autostep": "FC3_AutoStep", "cmdline": "FC3_DisplayMode", "device": "F8_Device",
		"deviceprobe": "FC3_DeviceProbe", "dmraid": "FC6_DmRaid", "driverdisk": "F12_DriverDisk", "fcoe": "F13_Fcoe",
		"graphical": "FC3_DisplayMode", "group": "F12_Group", "halt": "FC6_Reboot", "ignoredisk": "RHEL6_IgnoreDisk",
		"interactive": "FC3_Interactive", "iscsi": "RHEL6_Iscsi", "iscsiname": "FC6_IscsiName", "key": "F7_Key",
		"logging": "FC6_Logging", "mediacheck": "FC4_MediaCheck", "method": "F13_Method", "monitor": "F10_Monitor",
		"multipath": "FC6_MultiPath", "nfs": "FC6_NFS", "poweroff": "FC6_Reboot", "raid": "RHEL6_Raid",
		"rescue": "F10_Rescue", "shutdown": "FC6_Reboot", "sshpw": "F13_SshPw",
		"unsupported_hardware": "RHEL6_UnsupportedHardware", "updates": "F7_Updates", "upgrade": "F11_Upgrade",
		"user": "F12_User", "vnc": "F9_Vnc", "xconfig": "F10_XConfig", "zfcp": "F12_ZFCP"})

	// el7 — RHEL7Handler.
	elCommon := func(name, handler string) *Dialect {
		return &Dialect{Name: name, Handler: handler, EndAllowed: true, EndRequired: true, Commands: map[string]*Command{
			"text":       cmd("FC3_DisplayMode", flags(), 0, 0),
			"lang":       cmd("F19_Lang", values(map[string]Opt{}, "--addsupport"), 1, 1),
			"keyboard":   cmd("F18_Keyboard", values(map[string]Opt{}, "--vckeymap", "--xlayouts", "--switch"), 0, 1),
			"selinux":    cmd("FC3_SELinux", selinux, 0, 0),
			"firstboot":  cmd("FC3_Firstboot", firstboot, 0, 0),
			"skipx":      cmd("FC3_SkipX", flags(), 0, 0),
			"zerombr":    cmd("F9_ZeroMbr", flags(), 0, 0),
			"cdrom":      cmd("FC3_Cdrom", flags(), 0, 0),
			"services":   cmd("FC6_Services", services, 0, 0),
			"part":       multi(cmd("Partition", with(partOpts, flags("--recommended")), 1, 1)),
			"partition":  multi(cmd("Partition", with(partOpts, flags("--recommended")), 1, 1)),
			"volgroup":   multi(cmd("VolGroup", vgOpts, 1, -1)),
			"logvol":     multi(cmd("LogVol", with(lvOpts, flags("--recommended")), 1, 1)),
			"reboot":     cmd("Reboot", flags("--eject", "--kexec"), 0, 0),
			"bootloader": cmd("Bootloader", with(values(bootFC3, "--timeout", "--boot-drive"), flags("--iscrypted", "--leavebootorder", "--disabled", "--nombr")), 0, 0),
		}, Sections: map[string]*Section{
			"%packages": {Options: with(flags("--excludedocs", "--ignoremissing", "--default", "--nocore", "--multilib"), values(map[string]Opt{}, "--instLangs"))},
			"%pre":      {Options: with(values(map[string]Opt{}, "--interpreter", "--log"), flags("--erroronfail"))},
			"%post":     {Options: with(values(map[string]Opt{}, "--interpreter", "--log"), flags("--nochroot", "--erroronfail"))},
		}}
	}
	el7 := elCommon("el7", "RHEL7")
	for k, v := range map[string]*Command{
		"timezone":   cmd("RHEL7_Timezone", values(flags("--utc", "--isUtc", "--nontp"), "--ntpservers"), 0, 1),
		"network":    multi(cmd("RHEL7_Network", netRHEL7, 0, 0)),
		"rootpw":     cmd("F18_RootPw", flags("--iscrypted", "--plaintext", "--lock"), 1, 1),
		"auth":       {Class: "FC3_Authconfig", FreeForm: true, MaxArgs: -1},
		"authconfig": {Class: "FC3_Authconfig", FreeForm: true, MaxArgs: -1},
		"firewall":   cmd("F20_Firewall", values(with(fwF10, nil), "--remove-service"), 0, 0),
		"clearpart":  cmd("F17_ClearPart", values(with(clearFC3, nil), "--list"), 0, 0),
		"autopart":   cmd("F20_AutoPart", with(values(flags("--encrypted"), "--passphrase", "--cipher", "--escrowcert", "--fstype", "--backuppassphrase"), map[string]Opt{"--type": {Value: true, Choices: []string{"lvm", "btrfs", "plain", "thinp"}}, "--nolvm": {}}), 0, 0),
		"install":    cmd("F11_Upgrade", flags(), 0, 0),
		"url":        cmd("F18_Url", with(values(map[string]Opt{}, "--url", "--proxy", "--mirrorlist"), flags("--noverifyssl")), 0, 0),
		"harddrive":  cmd("FC3_HardDrive", values(map[string]Opt{}, "--partition", "--dir", "--biospart"), 0, 0),
		"repo":       multi(cmd("RHEL7_Repo", with(values(map[string]Opt{}, "--name", "--baseurl", "--mirrorlist", "--cost", "--excludepkgs", "--includepkgs", "--proxy"), flags("--noverifyssl", "--install")), 0, 0)),
	} {
		el7.Commands[k] = v
	}
	known(el7, map[string]string{"autostep": "FC3_AutoStep", "btrfs": "F17_BTRFS", "cmdline": "FC3_DisplayMode",
		"device": "F8_Device", "deviceprobe": "FC3_DeviceProbe", "dmraid": "FC6_DmRaid", "driverdisk": "F14_DriverDisk",
		"eula": "F20_Eula", "fcoe": "RHEL7_Fcoe", "graphical": "FC3_DisplayMode", "group": "F12_Group", "halt": "F18_Reboot",
		"ignoredisk": "F14_IgnoreDisk", "iscsi": "F17_Iscsi", "iscsiname": "FC6_IscsiName", "liveimg": "F19_Liveimg",
		"logging": "FC6_Logging", "mediacheck": "FC4_MediaCheck", "method": "F19_Method", "multipath": "FC6_MultiPath",
		"nfs": "FC6_NFS", "poweroff": "F18_Reboot", "raid": "F20_Raid", "realm": "F19_Realm", "rescue": "F10_Rescue",
		"shutdown": "F18_Reboot", "sshpw": "F13_SshPw", "unsupported_hardware": "RHEL6_UnsupportedHardware",
		"updates": "F7_Updates", "upgrade": "F20_Upgrade", "user": "F19_User", "vnc": "F9_Vnc", "xconfig": "F14_XConfig",
		"zfcp": "F14_ZFCP"})
	gone(el7, Deprecated, "upgrade is deprecated since Fedora 20 (F20_Upgrade); RHEL 7 installs only", "upgrade")

	// el8 — RHEL8Handler.
	el8 := elCommon("el8", "RHEL8")
	tzF25 := values(flags("--utc", "--isUtc", "--nontp"), "--ntpservers")
	urlF27 := with(values(map[string]Opt{}, "--url", "--proxy", "--mirrorlist", "--metalink"), flags("--noverifyssl"))
	repoF27 := multi(cmd("F27_Repo", with(values(map[string]Opt{}, "--name", "--baseurl", "--mirrorlist", "--metalink", "--cost", "--excludepkgs", "--includepkgs", "--proxy"), flags("--noverifyssl", "--install")), 0, 0))
	autopartEl8 := with(values(flags("--encrypted", "--nohome", "--noboot", "--noswap"), "--passphrase", "--cipher", "--escrowcert", "--fstype", "--backuppassphrase", "--luks-version", "--pbkdf", "--pbkdf-memory", "--pbkdf-time", "--pbkdf-iterations"),
		map[string]Opt{"--type": {Value: true, Choices: []string{"lvm", "plain", "thinp"}}})
	for k, v := range map[string]*Command{
		"timezone":  cmd("F25_Timezone", tzF25, 0, 1),
		"network":   multi(cmd("F27_Network", netF27, 0, 0)),
		"rootpw":    cmd("F18_RootPw", flags("--iscrypted", "--plaintext", "--lock"), 1, 1),
		"firewall":  cmd("F28_Firewall", with(values(with(fwF10, nil), "--remove-service"), flags("--use-system-defaults")), 0, 0),
		"clearpart": cmd("F28_ClearPart", values(with(clearFC3, flags("--cdl")), "--list", "--disklabel"), 0, 0),
		"autopart":  cmd("RHEL8_AutoPart", autopartEl8, 0, 0),
		"url":       cmd("F27_Url", urlF27, 0, 0),
		"harddrive": cmd("FC3_HardDrive", values(map[string]Opt{}, "--partition", "--dir", "--biospart"), 0, 0),
		"repo":      repoF27,
		// F22_SshKey: --username is required, the key is the one argument.
		"sshkey":     cmd("F22_SshKey", values(map[string]Opt{}, "--username"), 1, 1),
		"authselect": {Class: "F28_Authselect", FreeForm: true, MaxArgs: -1},
		// F24_User: FC6's options, F8's --lock, F12's --gecos, F19's --gid,
		// F24's --plaintext (pykickstart/commands/user.py).
		"user": multi(cmd("F24_User", with(values(map[string]Opt{}, "--name", "--groups", "--homedir", "--password", "--shell", "--uid", "--gid", "--gecos"), flags("--iscrypted", "--plaintext", "--lock")), 0, 0)),
	} {
		el8.Commands[k] = v
	}
	el8.Sections["%packages"].Options = with(flags("--excludedocs", "--ignoremissing", "--default", "--nocore", "--multilib", "--excludeWeakdeps"), values(map[string]Opt{}, "--inst-langs", "--instLangs", "--retries", "--timeout"))
	known(el8, map[string]string{"autostep": "FC3_AutoStep", "btrfs": "RHEL8_BTRFS", "cmdline": "F26_DisplayMode",
		"device": "F24_Device", "deviceprobe": "F29_DeviceProbe", "dmraid": "F24_DmRaid", "driverdisk": "F14_DriverDisk",
		"eula": "F20_Eula", "fcoe": "RHEL8_Fcoe", "graphical": "F26_DisplayMode", "group": "F12_Group", "halt": "F23_Reboot",
		"hmc": "F28_Hmc", "ignoredisk": "F29_IgnoreDisk", "iscsi": "F17_Iscsi", "iscsiname": "FC6_IscsiName",
		"liveimg": "F19_Liveimg", "logging": "FC6_Logging", "mediacheck": "FC4_MediaCheck", "method": "F28_Method",
		"mount": "F27_Mount", "multipath": "F24_MultiPath", "nfs": "FC6_NFS", "nvdimm": "F28_Nvdimm",
		"ostreesetup": "RHEL8_OSTreeSetup", "poweroff": "F23_Reboot", "raid": "RHEL8_Raid", "realm": "F19_Realm",
		"reqpart": "F23_ReqPart", "rescue": "F10_Rescue", "shutdown": "F23_Reboot", "snapshot": "F26_Snapshot",
		"sshpw": "F24_SshPw", "sshkey": "F22_SshKey", "updates": "F7_Updates", "user": "F24_User", "vnc": "F9_Vnc",
		"xconfig": "F14_XConfig", "zfcp": "F14_ZFCP", "install": "F29_Install", "auth": "FC3_Authconfig", "authconfig": "FC3_Authconfig"})
	gone(el8, Deprecated, "install is deprecated since Fedora 29 (F29_Install); installing is the default", "install")
	gone(el8, Deprecated, "authconfig is gone from RHEL 8 (pykickstart deprecates it from F28; RHEL 8 lists auth/authconfig as deprecated): use authselect, or leave the defaults", "auth", "authconfig")
	gone(el8, Deprecated, "deprecated since Fedora 24-29 (DeprecatedCommand classes)", "device", "deviceprobe", "dmraid", "multipath", "method")

	// el9 — RHEL9Handler.
	el9 := elCommon("el9", "RHEL9")
	tzF33 := with(tzF25, nil)
	tzF33["--isUtc"] = Opt{Status: Deprecated, Note: "F32_Timezone warns: --isUtc will be deprecated, use its alias --utc"}
	tzF33["--ntpservers"] = Opt{Value: true, Status: Deprecated, Note: "F33_Timezone warns: use timesource --ntp-server, one per server"}
	tzF33["--nontp"] = Opt{Status: Deprecated, Note: "F33_Timezone warns: use timesource --ntp-disable"}
	for k, v := range map[string]*Command{
		"timezone":   cmd("F33_Timezone", tzF33, 0, 1),
		"timesource": multi(cmd("F33_Timesource", with(values(map[string]Opt{}, "--ntp-server", "--ntp-pool"), flags("--ntp-disable", "--nts")), 0, 0)),
		"network":    multi(cmd("F27_Network", netF27, 0, 0)),
		"rootpw":     cmd("F37_RootPw", flags("--iscrypted", "--plaintext", "--lock", "--allow-ssh"), 1, 1),
		"firewall":   cmd("F28_Firewall", with(values(with(fwF10, nil), "--remove-service"), flags("--use-system-defaults")), 0, 0),
		"clearpart":  cmd("F28_ClearPart", values(with(clearFC3, flags("--cdl")), "--list", "--disklabel"), 0, 0),
		"autopart":   cmd("RHEL9_AutoPart", autopartEl8, 0, 0),
		"url":        cmd("F30_Url", values(with(urlF27, nil), "--sslclientcert", "--sslclientkey", "--sslcacert"), 0, 0),
		"harddrive":  cmd("F33_HardDrive", values(map[string]Opt{}, "--partition", "--dir"), 0, 0),
		"repo":       multi(cmd("F33_Repo", with(values(map[string]Opt{}, "--name", "--baseurl", "--mirrorlist", "--metalink", "--cost", "--excludepkgs", "--includepkgs", "--proxy", "--sslclientcert", "--sslclientkey", "--sslcacert"), flags("--noverifyssl", "--install")), 0, 0)),
		// F22_SshKey: --username is required, the key is the one argument.
		"sshkey":     cmd("F22_SshKey", values(map[string]Opt{}, "--username"), 1, 1),
		"authselect": {Class: "F28_Authselect", FreeForm: true, MaxArgs: -1},
		// F24_User: FC6's options, F8's --lock, F12's --gecos, F19's --gid,
		// F24's --plaintext (pykickstart/commands/user.py).
		"user": multi(cmd("F24_User", with(values(map[string]Opt{}, "--name", "--groups", "--homedir", "--password", "--shell", "--uid", "--gid", "--gecos"), flags("--iscrypted", "--plaintext", "--lock")), 0, 0)),
	} {
		el9.Commands[k] = v
	}
	el9.Sections["%packages"].Options = el8.Sections["%packages"].Options
	known(el9, map[string]string{"autostep": "F34_AutoStep", "btrfs": "RHEL9_BTRFS", "cmdline": "F26_DisplayMode",
		"device": "F34_Device", "deviceprobe": "F34_DeviceProbe", "dmraid": "F34_DmRaid", "driverdisk": "F14_DriverDisk",
		"module": "F31_Module", "eula": "F20_Eula", "fcoe": "RHEL9_Fcoe", "graphical": "F26_DisplayMode",
		"group": "F12_Group", "halt": "F23_Reboot", "hmc": "F28_Hmc", "ignoredisk": "F34_IgnoreDisk",
		"iscsi": "F17_Iscsi", "iscsiname": "FC6_IscsiName", "liveimg": "F19_Liveimg", "logging": "F34_Logging",
		"mediacheck": "FC4_MediaCheck", "method": "F34_Method", "mount": "F27_Mount", "multipath": "F34_MultiPath",
		"nfs": "FC6_NFS", "nvdimm": "F28_Nvdimm", "ostreesetup": "RHEL9_OSTreeSetup", "poweroff": "F23_Reboot",
		"raid": "RHEL9_Raid", "realm": "F19_Realm", "reqpart": "F23_ReqPart", "rescue": "F10_Rescue",
		"rhsm": "RHEL8_RHSM", "shutdown": "F23_Reboot", "snapshot": "F26_Snapshot", "sshpw": "F24_SshPw",
		"sshkey": "F22_SshKey", "syspurpose": "RHEL8_Syspurpose", "updates": "F34_Updates", "user": "F24_User",
		"vnc": "F9_Vnc", "xconfig": "F14_XConfig", "zfcp": "F14_ZFCP", "zipl": "F32_Zipl",
		"install": "F34_Install", "auth": "F28_Authconfig", "authconfig": "F28_Authconfig"})
	gone(el9, Removed, "install was removed in Fedora 34 (F34_Install is a RemovedCommand)", "install")
	gone(el9, Deprecated, "authconfig is deprecated (F28_Authconfig): use authselect, or leave the defaults", "auth", "authconfig")
	gone(el9, Removed, "removed in Fedora 34 (RemovedCommand classes)", "autostep", "device", "deviceprobe", "dmraid", "multipath", "method")

	// el10 — RHEL10Handler (pykickstart/handlers/rhel10.py at 435ebbe,
	// 2026-06-08): el9's commands, with timezone's NTP options and --isUtc
	// removed (RHEL10_Timezone), repo's --ignoregroups gone (F40_Repo),
	// authconfig, autostep, method and nvdimm removed.
	el10 := elCommon("el10", "RHEL10")
	for k, v := range el9.Commands {
		c := *v // el10's own: gone() below must not change el9's
		el10.Commands[k] = &c
	}
	for k, v := range map[string]*Command{
		"timezone": cmd("RHEL10_Timezone", flags("--utc"), 0, 1),
		"repo":     multi(cmd("F40_Repo", with(values(map[string]Opt{}, "--name", "--baseurl", "--mirrorlist", "--metalink", "--cost", "--excludepkgs", "--includepkgs", "--proxy", "--sslclientcert", "--sslclientkey", "--sslcacert"), flags("--noverifyssl", "--install")), 0, 0)),
		"autopart": cmd("RHEL10_AutoPart", autopartEl8, 0, 0),
		"network":  multi(cmd("RHEL10_Network", netF27, 0, 0)),
	} {
		el10.Commands[k] = v
	}
	el10.Sections["%packages"].Options = el8.Sections["%packages"].Options
	known(el10, map[string]string{"btrfs": "RHEL10_BTRFS", "bootc": "F43_Bootc", "cmdline": "F26_DisplayMode",
		"device": "F34_Device", "deviceprobe": "F34_DeviceProbe", "dmraid": "F34_DmRaid", "driverdisk": "F14_DriverDisk",
		"module": "RHEL10_Module", "eula": "F20_Eula", "fcoe": "RHEL10_Fcoe", "graphical": "F26_DisplayMode",
		"group": "F12_Group", "halt": "F23_Reboot", "hmc": "F28_Hmc", "ignoredisk": "F34_IgnoreDisk",
		"iscsi": "F17_Iscsi", "iscsiname": "FC6_IscsiName", "liveimg": "F19_Liveimg", "logging": "F40_Logging",
		"mediacheck": "FC4_MediaCheck", "mount": "F27_Mount", "multipath": "F34_MultiPath",
		"nfs": "FC6_NFS", "ostreecontainer": "F43_OSTreeContainer", "ostreesetup": "F43_OSTreeSetup", "poweroff": "F23_Reboot",
		"raid": "RHEL10_Raid", "rdp": "F43_RDP", "realm": "F19_Realm", "reqpart": "F23_ReqPart", "rescue": "F10_Rescue",
		"rhsm": "RHEL10_RHSM", "shutdown": "F23_Reboot", "snapshot": "F26_Snapshot", "sshpw": "F24_SshPw",
		"sshkey": "F22_SshKey", "syspurpose": "RHEL10_Syspurpose", "updates": "F34_Updates", "user": "F24_User",
		"vnc": "RHEL10_Vnc", "xconfig": "F14_XConfig", "zfcp": "F37_ZFCP", "zipl": "F32_Zipl",
		"install": "F34_Install", "auth": "F35_Authconfig", "authconfig": "F35_Authconfig", "autostep": "F40_Autostep",
		"method": "F40_Method", "nvdimm": "RHEL10_Nvdimm"})
	gone(el10, Removed, "install was removed in Fedora 34 (F34_Install is a RemovedCommand)", "install")
	gone(el10, Removed, "authconfig was removed (F35_Authconfig is a RemovedCommand): use authselect, or leave the defaults", "auth", "authconfig")
	gone(el10, Removed, "removed (RemovedCommand classes in RHEL10Handler)", "autostep", "method", "nvdimm")

	for _, d := range []*Dialect{sl5, sl6, el7, el8, el9, el10} {
		for _, n := range multiUse {
			if c, ok := d.Commands[n]; ok {
				c.Multi = true
			}
		}
		Dialects[d.Name] = d
	}
}
