package defs

import (
	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/yamlx"
)

// Design is the design file: the cluster designer's choices that are not a
// role — the networks roles may use and the artifacts to build.
type Design struct {
	Name         string       `yaml:"name" doc:"A short name for the design, e.g. tier3."`
	Description  string       `yaml:"description" doc:"What kind of cluster this design builds."`
	Networks     []NetworkUse `yaml:"networks" doc:"The networks the roles attach to; the site gives each one's addresses."`
	Artifacts    []Artifact   `yaml:"artifacts" doc:"The files a build writes, each from a template."`
	Secrets      []SecretUse  `yaml:"secrets" doc:"Secrets the design's templates read with the secret function; every site must provide them (kiln init generates them)."`
	Backup       *BackupUse   `yaml:"backup" doc:"Which catalog module holds each node's backup settings, for kiln backup plan and kiln drill."`
	Repositories []Repository `yaml:"repositories" doc:"The package repositories nodes install from, per OS dialect, and the packages each provides; kiln check fails when a node would install a package no repository of the site's dialect provides."`
	Checks       []Check      `yaml:"checks" doc:"Checks kiln check runs on every resolved node: a template whose output, when not empty, is the problem (e.g. a VM too small for the heap a parameter asks)."`
	Autosign     yamlx.Scalar `yaml:"autosign" doc:"A template of the URL of kiln serve, which kiln autosign (run by the Puppet server) asks whether a node's certificate request carries the one-time challenge kiln serve minted for the node's current install, e.g. http://10.10.0.1:8080. Empty: kiln autosign approves nothing."`
	// AutosignExtensions are the certificate extensions a request may ask
	// for and still be autosigned.
	// Serve names the files kiln serve hands out; its flags override.
	Serve              *ServeUse `yaml:"serve" doc:"The files of the build kiln serve hands to booting and installing nodes: the per-node boot scripts, the local-boot scripts, the installer's kernel and initrd, the install file (kickstart) and the dnsmasq config. kiln serve reads them from here; its flags override. Paths are in the build; {node} stands for the node's name."`
	AutosignExtensions []string  `yaml:"autosign_extensions" doc:"The extensions (dotted OIDs) a certificate request may ask for and still be signed by kiln autosign; a request asking for any other (say Puppet's pp_cli_auth, 1.3.6.1.4.1.34380.1.3.39) is refused. Empty: none."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
	File   string `yaml:"-"`
}

// NetworkUse declares a network of the design.
type NetworkUse struct {
	Name         yamlx.Scalar `yaml:"name,required" doc:"The network's name, e.g. public or private."`
	Provisioning bool         `yaml:"provisioning" doc:"Nodes install over this network (PXE, kickstart)."`
	Doc          string       `yaml:"doc" doc:"What the network is for, for the cabling table."`

	Pos diag.Pos
}

// ServeUse is what kiln serve hands out, as paths in the build.
type ServeUse struct {
	BootScript  yamlx.Scalar `yaml:"boot_script" doc:"A node's iPXE install script, with {node}, e.g. ipxe/{node}.ipxe: served with the install token added while the node installs. Without one in the build kiln serve writes its own."`
	LocalBoot   yamlx.Scalar `yaml:"local_boot" doc:"The iPXE local-boot script served once a node is installed, e.g. ipxe/localboot.ipxe."`
	GRUBScript  yamlx.Scalar `yaml:"grub_script" doc:"A node's GRUB 2 install file for the UEFI chain, with {node}, e.g. grub/{node}.cfg."`
	GRUBLocal   yamlx.Scalar `yaml:"grub_local" doc:"The GRUB 2 local-boot file, e.g. grub/localboot.cfg."`
	InstallFile yamlx.Scalar `yaml:"install_file" doc:"A node's install file (a kickstart), with {node}, e.g. kickstart-{node}.cfg: served with the node's token only."`
	Kernel      yamlx.Scalar `yaml:"kernel" doc:"The installer's kernel, in the OS install tree (or a URL), e.g. images/pxeboot/vmlinuz."`
	Initrd      yamlx.Scalar `yaml:"initrd" doc:"The installer's initrd, in the OS install tree (or a URL), e.g. images/pxeboot/initrd.img."`
	DnsmasqConf yamlx.Scalar `yaml:"dnsmasq_conf" doc:"The dnsmasq configuration kiln serve runs dnsmasq with, e.g. dhcp/dnsmasq.conf."`
	Module      yamlx.Scalar `yaml:"module" doc:"The catalog module of the install server, the node kiln serve runs on and that installs the others (e.g. install_server): kiln recover --head rebuilds that node first."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
}

// Named lists the build paths the block names, by key, in a fixed order
// (kernel and initrd are in the install tree, not the build).
func (s *ServeUse) Named() []ServePath {
	if s == nil {
		return nil
	}
	var out []ServePath
	for _, p := range []ServePath{{"boot_script", s.BootScript}, {"local_boot", s.LocalBoot}, {"grub_script", s.GRUBScript},
		{"grub_local", s.GRUBLocal}, {"install_file", s.InstallFile}, {"dnsmasq_conf", s.DnsmasqConf}} {
		if p.Path.Value != "" {
			out = append(out, p)
		}
	}
	return out
}

// ServePath is one path of a serve: block.
type ServePath struct {
	Key  string
	Path yamlx.Scalar
}

// BackupUse names the module whose parameters say where a node's state is
// backed up; the module itself (its templates) does the backing up.
type BackupUse struct {
	Module     yamlx.Scalar `yaml:"module,required" doc:"The catalog module every node with state runs for its backups, e.g. backup."`
	Repository yamlx.Scalar `yaml:"repository,required" doc:"Its parameter holding the node's restic repository."`
	Password   yamlx.Scalar `yaml:"password,required" doc:"Its secret-typed parameter naming the repository's password."`

	Pos diag.Pos
}

// Repository is one package repository of the design: where it is for
// each OS dialect, its signing keys, and the packages the design installs
// from it.
type Repository struct {
	Name           yamlx.Scalar   `yaml:"name,required" doc:"The repository's id, as dnf and the kickstart's repo --name know it, e.g. epel."`
	Doc            string         `yaml:"doc" doc:"What the repository is and where its facts (URLs, keys) come from."`
	Dialects       []yamlx.Scalar `yaml:"dialects,required" doc:"The OS dialects the repository exists for, e.g. [el8, el9, el10]."`
	InstallTree    bool           `yaml:"install_tree" doc:"The repository is part of the OS install tree the node installs from (BaseOS, AppStream): the installer finds it in the tree's .treeinfo, so it needs no URL here."`
	BaseURL        PerDialect     `yaml:"baseurl" doc:"The repository's URL: one for every dialect, or a mapping per dialect ({el8: …, el9: …}). {major} stands for the dialect's major release (8, 9, 10); dnf's $basearch may appear. Each dialect listed needs a baseurl or a mirrorlist, unless install_tree."`
	MirrorList     PerDialect     `yaml:"mirrorlist" doc:"A mirror list URL instead of baseurl, in the same forms."`
	GPGKey         []yamlx.Scalar `yaml:"gpgkey" doc:"URLs of the keys the packages are signed with ({major} as in baseurl), imported on the node; gpgcheck is always on. Required unless install_tree."`
	Priority       int            `yaml:"priority" doc:"dnf priority, 1 (first) to 99 (the default): a lower number wins when two repositories have a package."`
	ModuleHotfixes bool           `yaml:"module_hotfixes" doc:"Let the repository's packages override a DNF module stream's (needed on el8 for some third-party repositories)."`
	Requires       []yamlx.Scalar `yaml:"requires" doc:"Repositories this one's packages depend on (EPEL needs CRB, HTCondor's needs EPEL), where they exist for the site's dialect: a node that takes packages from this one gets those too."`
	Provides       []yamlx.Scalar `yaml:"provides" doc:"The packages the design installs from this repository (catalog modules' packages: and the packages their Puppet manifests install)."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
}

// Check is a design-level check of each node, written as a template.
type Check struct {
	Node yamlx.Scalar `yaml:"node,required" doc:"A template run for every node (it sees .Cluster, .Node, .Role); any text it prints, trimmed, is reported as a problem of that node. Print nothing when all is well."`
	Fix  string       `yaml:"fix" doc:"How to fix the problem, shown after it."`
	Doc  string       `yaml:"doc" doc:"What the check guards against."`

	Pos diag.Pos
}

// PerDialect is a value that is either the same for every OS dialect (a
// plain string) or given per dialect (a mapping from dialect to string).
type PerDialect struct {
	All  yamlx.Scalar
	Each map[string]yamlx.Scalar
}

// For returns the value for dialect os, and whether one is given.
func (p PerDialect) For(os string) (yamlx.Scalar, bool) {
	if p.Each != nil {
		s, ok := p.Each[os]
		return s, ok && s.Value != ""
	}
	return p.All, p.All.Value != ""
}

// DecodeYAML implements yamlx.NodeDecoder.
func (p *PerDialect) DecodeYAML(d *yamlx.Decoder, n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		d.Decode(n, &p.All)
	case yaml.MappingNode:
		d.Decode(n, &p.Each)
	default:
		d.Errorf(n, "write one URL, or one per dialect as {el9: URL, el10: URL}", "expected a URL or a mapping of dialects to URLs, found %s", yamlx.Kind(n))
	}
}

// SecretUse declares a secret the design's templates read by name.
type SecretUse struct {
	Name yamlx.Scalar `yaml:"name,required" doc:"The secret's name, as listed under secrets: in site.yaml."`
	Doc  string       `yaml:"doc" doc:"What the secret is for."`

	Pos diag.Pos
}

// Artifact declares one kind of output file.
type Artifact struct {
	Template yamlx.Scalar `yaml:"template" doc:"The template file, under templates/. Each artifact has either template or copy."`
	Copy     yamlx.Scalar `yaml:"copy" doc:"A folder of the design (a site folder may shadow its files one by one) copied verbatim into path, itself a folder, e.g. puppet/modules. Only for scope cluster."`
	ENC      bool         `yaml:"enc" doc:"This node-scoped artifact is the node's Puppet External Node Classifier answer: kiln enc CERTNAME prints it. At most one artifact says so."`
	Path     yamlx.Scalar `yaml:"path,required" doc:"The output path in the build folder; a template itself, e.g. kickstart-{{.Node.Name}}.cfg."`
	Scope    yamlx.Scalar `yaml:"scope" doc:"cluster (one file, the default), node (one per node), vm (one per virtual machine), role (one per role) or network (one per network of the design; the template sees .Network)."`
	Filter   Filter       `yaml:"filter" doc:"Limits a node, vm or role scope to some nodes or roles."`
	Mode     yamlx.Scalar `yaml:"mode" doc:"File mode in octal, e.g. \"0755\" for a script. Files that carry secrets are always 0600."`
	Secret   bool         `yaml:"secret" doc:"The file carries a secret: written 0600 and served only to its node."`
	Doc      string       `yaml:"doc" doc:"What the file is for."`
	// AfterBuild artifacts are indexes of the build (a runbook, say): they
	// name only files that exist, so they are rendered once the rest are.
	AfterBuild bool `yaml:"after_build" doc:"Render this artifact after all the others, in the order declared; its template also sees .Build, the files built before it (path, doc, mode; .Build.Has, .Build.Glob, .Build.Text), so it can name only files the build really has."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
	File   string `yaml:"-"`
}

// Filter narrows an artifact's scope.
type Filter struct {
	Roles     []yamlx.Scalar `yaml:"roles" doc:"Only these roles."`
	Kind      yamlx.Scalar   `yaml:"kind" doc:"Only nodes of this kind: physical or vm."`
	Modules   []yamlx.Scalar `yaml:"modules" doc:"Only nodes that run all of these modules."`
	BootMAC   bool           `yaml:"boot_mac" doc:"Only nodes whose boot NIC's MAC address is known (given in site.yaml, or derived for a VM)."`
	State     bool           `yaml:"state" doc:"Only nodes that run a module declaring state to back up."`
	Bootstrap bool           `yaml:"bootstrap" doc:"Only nodes whose role lists bootstrap modules (configured with puppet apply before the Puppet server exists)."`
	Networks  []yamlx.Scalar `yaml:"networks" doc:"For scope network: only these networks of the design."`
	OS        []yamlx.Scalar `yaml:"os" doc:"Only when the site's os is one of these, e.g. [el8] for what only EL8 needs."`

	Pos diag.Pos
}

// Role is one role of the design.
type Role struct {
	Name        string         `yaml:"name" doc:"The role's name; must match its file name."`
	Description string         `yaml:"description" doc:"What machines of this role do."`
	Kind        yamlx.Scalar   `yaml:"kind" doc:"physical (the default) or vm."`
	Host        yamlx.Scalar   `yaml:"host" doc:"For a vm: the role of the machine that runs it."`
	VM          *VMSize        `yaml:"vm" doc:"For a vm: its size."`
	Interfaces  []Interface    `yaml:"interfaces,required" doc:"Which NIC goes to which network."`
	Naming      yamlx.Scalar   `yaml:"naming" doc:"Name pattern for counted nodes, e.g. wn{n} or wn{n:03}; default: the role name followed by {n}."`
	Count       *CountBounds   `yaml:"count" doc:"How many nodes of this role a site may have."`
	After       []yamlx.Scalar `yaml:"after" doc:"Roles that must be installed and configured before this one."`
	Modules     ModuleParams   `yaml:"modules" doc:"The modules the role runs, each with parameter defaults for this role."`
	Bootstrap   []yamlx.Scalar `yaml:"bootstrap" doc:"Modules applied with puppet apply before the Puppet server exists."`
	Disk        string         `yaml:"disk" doc:"Disk layout for the installer; default autopart."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
	File   string `yaml:"-"`
}

// VMSize is a virtual machine's size.
type VMSize struct {
	VCPUs  int `yaml:"vcpus,required" doc:"Virtual CPUs."`
	Memory int `yaml:"memory,required" doc:"Memory in MiB."`
	Disk   int `yaml:"disk,required" doc:"Disk size in GiB."`

	Pos diag.Pos
}

// Interface attaches a NIC to a network.
type Interface struct {
	NIC     yamlx.Scalar `yaml:"nic,required" doc:"The NIC's name on the machine, e.g. priv0 (bound to its MAC by the design) or enp1s0 (udev's); not the kernel's ethN."`
	Network yamlx.Scalar `yaml:"network,required" doc:"The design network it is cabled to."`
	Boot    *bool        `yaml:"boot" doc:"true: the machine network-boots from this NIC (default: the first on a provisioning network). false: it never does, and the NIC's MAC does not identify the machine to kiln serve - a BMC's, or a storage network's."`

	Pos diag.Pos
}

// CountBounds bounds a role's node count.
type CountBounds struct {
	Min int  `yaml:"min" doc:"The fewest nodes a site may have (default 0)."`
	Max *int `yaml:"max" doc:"The most nodes a site may have (default: no limit)."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
}

// ParseDesign reads the design file.
func ParseDesign(file string, data []byte, diags *diag.List) *Design {
	n := yamlx.Parse(file, data, diags)
	if n == nil {
		return nil
	}
	d := &Design{File: file}
	(&yamlx.Decoder{File: file, Diags: diags}).Decode(n, d)
	for i := range d.Artifacts {
		d.Artifacts[i].File = file
	}
	return d
}

// ParseRole reads a role file.
func ParseRole(file string, data []byte, diags *diag.List) *Role {
	n := yamlx.Parse(file, data, diags)
	if n == nil {
		return nil
	}
	r := &Role{File: file}
	(&yamlx.Decoder{File: file, Diags: diags}).Decode(n, r)
	return r
}
