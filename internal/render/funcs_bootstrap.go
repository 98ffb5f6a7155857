package render

import (
	"text/template"

	"kiln.dev/kiln/internal/model"
)

func init() { funcGroups = append(funcGroups, bootstrapFuncs) }

// bootstrapFuncs serve the head's bootstrap manifest: what a node applies
// with puppet apply before the Puppet server exists.
func bootstrapFuncs(r *renderer) template.FuncMap {
	return template.FuncMap{
		// bootstrapClasses is the node's classification cut down to the
		// modules its role marks as bootstrap, in the same order and with
		// the same parameters as nodes.pp; each class waits only for the
		// bootstrap classes it requires (the others are not there yet).
		"bootstrapClasses": func(c *model.Cluster, n *model.Node) ([]PuppetClass, error) {
			all, err := puppetClasses(r, n)
			if err != nil {
				return nil, err
			}
			role := c.Role(n.Role)
			if role == nil {
				return nil, nil
			}
			keep := map[string]bool{}
			for _, m := range role.Bootstrap {
				keep[m] = true
			}
			classes := map[string]bool{}
			var out []PuppetClass
			for _, pc := range all {
				if keep[pc.Module] {
					out = append(out, pc)
					classes[pc.Class] = true
				}
			}
			for i := range out {
				var req []string
				for _, q := range out[i].Requires {
					if classes[q] {
						req = append(req, q)
					}
				}
				out[i].Requires = req
			}
			return out, nil
		},
	}
}
