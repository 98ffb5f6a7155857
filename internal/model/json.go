package model

import (
	"bytes"
	"encoding/json"
)

// MarshalJSON writes a module as applied on a node in the compact form
// scripts want: its class and the values in force, by parameter name.
// What is the same on every node (ports, state, docs) is in the catalog,
// and where each value came from is kiln explain's business; leaving both
// out keeps the dump of a 10,000-node cluster a few megabytes.
func (m *Module) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"name":`)
	writeJSON(&b, m.Name)
	b.WriteString(`,"class":`)
	writeJSON(&b, m.Class)
	b.WriteString(`,"params":{`)
	first := true
	for _, p := range m.Params { // already sorted by name
		if !p.Set {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeJSON(&b, p.Name)
		b.WriteByte(':')
		if err := writeJSONErr(&b, p.Value); err != nil {
			return nil, err
		}
	}
	b.WriteString("}}")
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, v string) {
	s, _ := json.Marshal(v)
	b.Write(s)
}

func writeJSONErr(b *bytes.Buffer, v any) error {
	s, err := json.Marshal(v)
	b.Write(s)
	return err
}
