package resolve

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/model"
)

// A reference lets a parameter name something only the resolved cluster
// knows:
//
//	${nfs.private.ip}        the first nfs node's address on network private
//	${nfs[2].fqdn}           the second nfs node's FQDN
//	${worker[*].fqdn}        every worker's FQDN (a list; the whole value only)
//	${self.private.hostname} this node's own name on network private
//	${cluster.domain}        the site's domain (also name, os, and dn: the
//	                         domain as an LDAP base, dc=physics,dc=example,dc=edu)
//	${network.private.cidr}  a network's cidr (also address, netmask, prefix,
//	                         gateway, domain, broadcast)
//	${network.private.ips}   every node's address on the network, in node
//	                         order (a list; the whole value only)
//
// A node's fields are name, fqdn, role, index, host, and per network
// NET.ip, NET.hostname, NET.mac, NET.nic, NET.netmask and NET.gateway.
var refPattern = regexp.MustCompile(`\$\{([^}]*)\}`)

var roleIndex = regexp.MustCompile(`^([a-z0-9-]+)(?:\[(\d+|\*)\])?$`)

// substitute replaces the references in a YAML value (a string or a list of
// strings) for node self.
func (r *resolver) substitute(n *yaml.Node, self *model.Node) (any, error) {
	if n.Kind == yaml.SequenceNode {
		var out []any
		for _, c := range n.Content {
			v, err := r.substitute(c, self)
			if err != nil {
				return nil, err
			}
			if l, ok := v.([]any); ok {
				out = append(out, l...) // ${worker[*].fqdn} inside a list splices
			} else {
				out = append(out, v)
			}
		}
		return out, nil
	}
	s := n.Value
	if n.Tag != "!!str" || !strings.Contains(s, "${") {
		var x any
		if err := n.Decode(&x); err != nil {
			return nil, err
		}
		return x, nil
	}
	if m := refPattern.FindStringSubmatchIndex(s); m != nil && m[0] == 0 && m[1] == len(s) {
		return r.ref(s[m[2]:m[3]], self)
	}
	var err error
	out := refPattern.ReplaceAllStringFunc(s, func(m string) string {
		v, e := r.ref(m[2:len(m)-1], self)
		if e != nil {
			err = e
			return ""
		}
		if _, list := v.([]any); list {
			err = fmt.Errorf("%s is a list and can only stand alone as the whole value", m)
			return ""
		}
		return fmt.Sprint(v)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// errUpstream says a reference reached a value that is missing because of
// a problem reported on its own (a network whose cidr is wrong, a node that
// got no address); the value that used it is then not reported again.
var errUpstream = errors.New("depends on a value that has a problem of its own")

// ref evaluates one reference expression.
func (r *resolver) ref(expr string, self *model.Node) (any, error) {
	parts := strings.Split(strings.TrimSpace(expr), ".")
	head := parts[0]
	switch head {
	case "":
		return nil, fmt.Errorf("${%s} is an empty reference", expr)
	case "cluster":
		if len(parts) != 2 {
			return nil, fmt.Errorf("${%s}: write ${cluster.name}, ${cluster.domain}, ${cluster.dn} or ${cluster.os}", expr)
		}
		switch parts[1] {
		case "name":
			return r.c.Name, nil
		case "domain":
			return r.c.Domain, nil
		case "os":
			return r.c.OS, nil
		case "dn":
			return domainDN(r.c.Domain), nil
		}
		return nil, fmt.Errorf("${%s}: the cluster has no field %q (name, domain, dn, os)", expr, parts[1])
	case "network":
		if len(parts) != 3 {
			return nil, fmt.Errorf("${%s}: write ${network.NAME.FIELD}, e.g. ${network.private.cidr}", expr)
		}
		net := r.network(parts[1])
		if net == nil {
			return nil, fmt.Errorf("${%s}: there is no network %q", expr, parts[1])
		}
		if net.CIDR == "" {
			return nil, errUpstream
		}
		switch parts[2] {
		case "cidr":
			return net.CIDR, nil
		case "address":
			return net.Address, nil
		case "netmask":
			return net.Netmask, nil
		case "prefix":
			return net.Prefix, nil
		case "gateway":
			return net.Gateway, nil
		case "domain":
			return net.Domain, nil
		case "broadcast":
			return net.Broadcast, nil
		case "ips":
			out := []any{}
			for _, n := range r.c.Nodes {
				if i := n.Iface(net.Name); i != nil {
					if i.IP == "" {
						return nil, errUpstream
					}
					out = append(out, i.IP)
				}
			}
			return out, nil
		}
		return nil, fmt.Errorf("${%s}: a network has no field %q (cidr, address, netmask, prefix, gateway, domain, broadcast, ips)", expr, parts[2])
	case "self":
		return nodeField(self, parts[1:], expr)
	}
	m := roleIndex.FindStringSubmatch(head)
	if m == nil {
		return nil, fmt.Errorf("${%s}: %q is not a role, self, cluster or network", expr, head)
	}
	role := r.c.Role(m[1])
	if role == nil {
		return nil, fmt.Errorf("${%s}: there is no role %q", expr, m[1])
	}
	nodes := r.c.NodesOf(role.Name)
	if len(nodes) == 0 {
		return nil, fmt.Errorf("${%s} refers to role %s, which has no nodes in this site; add one, or set this parameter", expr, role.Name)
	}
	if m[2] == "*" {
		out := make([]any, 0, len(nodes))
		for _, n := range nodes {
			v, err := nodeField(n, parts[1:], expr)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	i := 1
	if m[2] != "" {
		i, _ = strconv.Atoi(m[2])
	}
	if i < 1 || i > len(nodes) {
		return nil, fmt.Errorf("${%s}: role %s has %d node(s), so there is no node number %d", expr, role.Name, len(nodes), i)
	}
	return nodeField(nodes[i-1], parts[1:], expr)
}

func nodeField(n *model.Node, f []string, expr string) (any, error) {
	switch len(f) {
	case 1:
		switch f[0] {
		case "name":
			return n.Name, nil
		case "fqdn":
			return n.FQDN, nil
		case "role":
			return n.Role, nil
		case "index":
			return n.Index, nil
		case "host":
			return n.Host, nil
		}
	case 2:
		i := n.Iface(f[0])
		if i == nil {
			return nil, fmt.Errorf("${%s}: node %s has no interface on network %q", expr, n.Name, f[0])
		}
		if i.IP == "" && (f[1] == "ip" || f[1] == "netmask") {
			return nil, errUpstream
		}
		switch f[1] {
		case "ip":
			return i.IP, nil
		case "hostname":
			return i.Hostname, nil
		case "mac":
			return i.MAC, nil
		case "nic":
			return i.NIC, nil
		case "netmask":
			return i.Netmask, nil
		case "gateway":
			return i.Gateway, nil
		}
	}
	return nil, fmt.Errorf("${%s}: unknown node field %q (name, fqdn, role, index, host, or NETWORK.ip, .hostname, .mac, .nic, .netmask, .gateway)", expr, strings.Join(f, "."))
}

// domainDN writes a DNS domain as an LDAP base DN.
func domainDN(domain string) string {
	labels := strings.Split(domain, ".")
	for i, l := range labels {
		labels[i] = "dc=" + l
	}
	return strings.Join(labels, ",")
}
