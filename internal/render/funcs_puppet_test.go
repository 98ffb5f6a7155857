package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestYAMLValueWritesWhatJSONWould(t *testing.T) {
	for _, v := range []any{"", "plain text", `quo"te`, `back\slash`, "tab\there", "<html>&", "naïve", "\u2028", true, false, 0, -42, 7.5, []string{"a"}, nil} {
		got, err := yamlValue(v)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(v)
		if want := strings.TrimRight(buf.String(), "\n"); got != want {
			t.Errorf("yamlValue(%#v) = %s, want %s", v, got, want)
		}
	}
}
