// Package yamlx decodes YAML into Go structs while keeping every value's
// position, and reports all problems at once as diagnostics rather than
// stopping at the first one.
//
// Definition files are small but written by hand, often by someone who
// edits them twice a year; the decoder's job is to say exactly which line is
// wrong and what was expected there. Struct fields are matched by their
// `yaml` tag; the tag option "required" makes a key mandatory. A struct
// field named Pos of type diag.Pos receives the position of the mapping, and
// one named KeyPos of type map[string]diag.Pos the position of each key.
// Scalar keeps a scalar's text and position; *yaml.Node keeps a subtree for
// a later stage that knows its type (parameter values, for instance).
package yamlx

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/diag"
)

// Scalar is a scalar value with the place it was written.
type Scalar struct {
	Value string
	Pos   diag.Pos
}

func (s Scalar) String() string { return s.Value }

// Decoder decodes the nodes of one file.
type Decoder struct {
	File  string
	Diags *diag.List

	// path leads from the document's root to the value being decoded, one
	// ".key" or "[i]" a step: the "where" of the decoder's messages.
	path []string
}

// Where names the value being decoded by its keys from the root of the
// file, e.g. "networks.public" or "nodes.head[1].ip"; "" at the root.
func (d *Decoder) Where() string {
	return strings.TrimPrefix(strings.Join(d.path, ""), ".")
}

func (d *Decoder) push(step string) { d.path = append(d.path, step) }
func (d *Decoder) pop()             { d.path = d.path[:len(d.path)-1] }

// NodeDecoder is implemented by types that take more than one YAML shape
// (a list of nodes or a count, say).
type NodeDecoder interface {
	DecodeYAML(d *Decoder, n *yaml.Node)
}

var (
	posType    = reflect.TypeOf(diag.Pos{})
	keyPosType = reflect.TypeOf(map[string]diag.Pos{})
	scalarType = reflect.TypeOf(Scalar{})
	nodePtr    = reflect.TypeOf((*yaml.Node)(nil))
	decoderIf  = reflect.TypeOf((*NodeDecoder)(nil)).Elem()
)

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// Parse reads one YAML document. A syntax error becomes a diagnostic with
// the line the parser names; the result is then nil. So do a byte that is
// not UTF-8 text (at its line and column, which the parser does not give)
// and a second document, which would otherwise be silently ignored. YAML
// merge keys (<<) are reported and dropped: a definition is read as
// written, key by key.
func Parse(file string, data []byte, diags *diag.List) *yaml.Node {
	if line, col, what, fix, ok := badChar(data); !ok {
		diags.Add(diag.Pos{File: file, Line: line, Col: col}, "", what+" here: a definition file is UTF-8 text", fix)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		syntaxError(file, data, err, diags)
		return nil
	}
	for {
		// An empty document after the first (a trailing ---) is harmless.
		var next yaml.Node
		err := dec.Decode(&next)
		if err == io.EOF {
			break
		}
		if err != nil {
			syntaxError(file, data, err, diags)
			return nil
		}
		if len(next.Content) > 0 && !(next.Content[0].Kind == yaml.ScalarNode && next.Content[0].Tag == "!!null") {
			diags.Add(diag.Pos{File: file, Line: secondDocument(data, next.Content[0].Line)}, "",
				"a second YAML document starts here; kiln reads one document a file and would ignore this one",
				"remove the --- line so that its keys belong to the first document, or move them to the file they belong in")
			return nil
		}
	}
	if len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
	}
	dropMergeKeys(file, doc.Content[0], diags)
	if n, lit := expanded(doc.Content[0], map[*yaml.Node]int{}), count(doc.Content[0]); n > MaxExpanded && n > 10*lit {
		diags.Add(diag.Pos{File: file, Line: 1}, "",
			fmt.Sprintf("this file's aliases (*name) expand its %d values to more than %d, which kiln refuses to read (a \"billion laughs\")", lit, MaxExpanded),
			"write the values out, or refer to each anchor (&name) from fewer places")
		return nil
	}
	return doc.Content[0]
}

// MaxExpanded bounds how many values a file may hold once its aliases are
// followed, when that is more than ten times what it holds as written:
// decoding follows every alias, so a few lines of aliases of aliases
// would otherwise take minutes and gigabytes.
const MaxExpanded = 1 << 20

// expanded counts the nodes of n with every alias followed, saturating
// above MaxExpanded; memo holds each node's count (-1 while it is being
// counted, so that an alias of its own ancestor counts once).
func expanded(n *yaml.Node, memo map[*yaml.Node]int) int {
	if v, ok := memo[n]; ok {
		return max(v, 1)
	}
	memo[n] = -1
	total := 1
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		total += expanded(n.Alias, memo)
	}
	for _, c := range n.Content {
		total += expanded(c, memo)
		if total > MaxExpanded {
			total = MaxExpanded + 1
			break
		}
	}
	memo[n] = min(total, MaxExpanded+1)
	return memo[n]
}

// count is the number of nodes of n as written.
func count(n *yaml.Node) int {
	total := 1
	for _, c := range n.Content {
		total += count(c)
	}
	return total
}

func syntaxError(file string, data []byte, err error, diags *diag.List) {
	msg := err.Error()
	pos := diag.Pos{File: file}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
		// yaml.v3 numbers the lines of its parser's errors ("did not
		// find expected …", unlike the scanner's) from 0: without this,
		// an unclosed [ is blamed on the line above it.
		if pos.Line > 0 && strings.HasPrefix(msg, "did not find expected") {
			pos.Line = min(pos.Line+1, max(1, bytes.Count(bytes.TrimRight(data, "\n"), []byte("\n"))+1))
		}
	}
	diags.Add(pos, "", "this is not valid YAML: "+msg,
		"check the indentation and quoting near this line (a value that contains ': ' or starts with '{', '*' or '@' needs quotes)")
}

// secondDocument finds the line of the --- that starts the document whose
// first node is on line at (a leading --- before the first document does
// not count).
func secondDocument(data []byte, at int) int {
	lines := strings.Split(string(data), "\n")
	var starts []int
	content := false
	for i, l := range lines {
		l = strings.TrimRight(l, "\r")
		if l == "---" || strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "---\t") {
			if content {
				starts = append(starts, i+1)
			}
			content = true // a leading --- opens the first document
			continue
		}
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") && !strings.HasPrefix(t, "%") {
			content = true
		}
	}
	best := at
	for _, s := range starts {
		if s <= at || at == 0 {
			best = s
			if at == 0 {
				break
			}
		}
	}
	return max(best, 1)
}

// badChar finds the first character YAML refuses (a NUL or other control
// character, a byte that is not UTF-8) and says where, counting columns in
// characters; ok is true when there is none. A byte order mark and tabs
// are fine.
func badChar(data []byte) (line, col int, what, fix string, ok bool) {
	line, col = 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, col, fmt.Sprintf("the byte 0x%02X is not UTF-8", data[i]),
				"save the file as UTF-8, or retype the character (in Latin-1, 0xE9 is é)", false
		case r == 0:
			return line, col, "a NUL byte (0x00)",
				"remove it: was this file saved as UTF-16, or is it not text at all?", false
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0x7f, r >= 0x80 && r < 0xa0 && r != 0x85, r == 0xfffe, r == 0xffff:
			return line, col, fmt.Sprintf("the control character U+%04X, which YAML does not allow,", r),
				"remove it (an editor may show it as ^" + string(rune('@'+r%0x40)) + " or not at all)", false
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return 0, 0, "", "", true
}

// dropMergeKeys reports and removes every merge key (<<) under n.
func dropMergeKeys(file string, n *yaml.Node, diags *diag.List) {
	if n.Kind == yaml.MappingNode {
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				diags.Add(diag.Pos{File: file, Line: k.Line, Col: k.Column}, "",
					"YAML merge keys (<<) are not supported: kiln reads every mapping as written",
					"write the keys out in this mapping instead of merging them in from an anchor")
				continue
			}
			kept = append(kept, n.Content[i], n.Content[i+1])
		}
		n.Content = kept
	}
	for _, c := range n.Content {
		dropMergeKeys(file, c, diags)
	}
}

// PosOf returns the position of n in the decoder's file.
func (d *Decoder) PosOf(n *yaml.Node) diag.Pos {
	if n == nil {
		return diag.Pos{File: d.File}
	}
	return diag.Pos{File: d.File, Line: n.Line, Col: n.Column}
}

// Errorf records a problem at n, in the mapping or list being decoded.
func (d *Decoder) Errorf(n *yaml.Node, fix, format string, args ...any) {
	d.Diags.Add(d.PosOf(n), d.Where(), fmt.Sprintf(format, args...), fix)
}

// Decode fills out (a pointer) from n.
func (d *Decoder) Decode(n *yaml.Node, out any) {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic("yamlx: Decode needs a non-nil pointer")
	}
	d.decode(n, v.Elem())
}

// Kind names a node's shape for messages.
func Kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping (key: value lines)"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func (d *Decoder) decode(n *yaml.Node, v reflect.Value) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if v.CanAddr() && v.Addr().Type().Implements(decoderIf) {
		v.Addr().Interface().(NodeDecoder).DecodeYAML(d, n)
		return
	}
	switch v.Type() {
	case nodePtr:
		v.Set(reflect.ValueOf(n))
		return
	case scalarType:
		if n.Kind != yaml.ScalarNode {
			d.Errorf(n, "write a single value here", "expected a single value, found %s", Kind(n))
			return
		}
		v.Set(reflect.ValueOf(Scalar{Value: n.Value, Pos: d.PosOf(n)}))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Tag == "!!null" {
			return
		}
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem())
		v.Set(p)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			d.Errorf(n, "write a single value here", "expected a single value, found %s", Kind(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if n.Kind != yaml.ScalarNode || err != nil {
			d.Errorf(n, "write a whole number, without quotes", "expected a whole number, found %s", Kind(n))
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.Errorf(n, "write true or false", "expected true or false, found %s", Kind(n))
			return
		}
		v.SetBool(n.Value == "true" || n.Value == "True" || n.Value == "TRUE")
	case reflect.Slice:
		if n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.Errorf(n, "write a list, one '- item' per line or [a, b]", "expected a list, found %s", Kind(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.push("[" + strconv.Itoa(i) + "]")
			d.decodeElem(c, s.Index(i))
			d.pop()
		}
		v.Set(s)
	case reflect.Map:
		if n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.Errorf(n, "write key: value lines here", "expected a mapping, found %s", Kind(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if seen[k.Value] {
				d.Errorf(k, "remove one of the two", "%q is given twice in this mapping", k.Value)
				continue
			}
			seen[k.Value] = true
			e := reflect.New(v.Type().Elem()).Elem()
			d.push("." + k.Value)
			d.decodeElem(val, e)
			d.pop()
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
		}
		v.Set(m)
	case reflect.Struct:
		d.decodeStruct(n, v)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.Errorf(n, "", "cannot read this value: %v", err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		panic("yamlx: unsupported type " + v.Type().String())
	}
}

// decodeElem decodes an element of a list or a mapping. An empty element
// ("- " or "worker:" with nothing after it) of a struct type still becomes
// a struct, decoded from an empty mapping so that its required keys are
// reported: later stages may then rely on no element being nil.
func (d *Decoder) decodeElem(n *yaml.Node, e reflect.Value) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if e.Kind() == reflect.Pointer && e.Type().Elem().Kind() == reflect.Struct && n.Tag == "!!null" {
		p := reflect.New(e.Type().Elem())
		d.decode(n, p.Elem())
		e.Set(p)
		return
	}
	d.decode(n, e)
}

// Field describes one key a struct accepts, for decoding and for JSON Schema.
type Field struct {
	Key      string
	Index    int
	Required bool
	Doc      string
}

// Fields lists the keys of a struct type in declaration order.
func Fields(t reflect.Type) []Field {
	var out []Field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() || f.Type == posType && f.Name == "Pos" || f.Type == keyPosType && f.Name == "KeyPos" {
			continue
		}
		parts := strings.Split(tag, ",")
		key := parts[0]
		if key == "" {
			key = strings.ToLower(f.Name)
		}
		fd := Field{Key: key, Index: i, Doc: f.Tag.Get("doc")}
		for _, o := range parts[1:] {
			if o == "required" {
				fd.Required = true
			}
		}
		out = append(out, fd)
	}
	return out
}

func (d *Decoder) decodeStruct(n *yaml.Node, v reflect.Value) {
	t := v.Type()
	if f, ok := t.FieldByName("Pos"); ok && f.Type == posType {
		v.FieldByIndex(f.Index).Set(reflect.ValueOf(d.PosOf(n)))
	}
	if n.Tag == "!!null" {
		n = &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "write key: value lines here", "expected a mapping, found %s", Kind(n))
		return
	}
	fields := Fields(t)
	byKey := map[string]Field{}
	keys := make([]string, 0, len(fields))
	for _, f := range fields {
		byKey[f.Key] = f
		keys = append(keys, f.Key)
	}
	var keyPos map[string]diag.Pos
	if f, ok := t.FieldByName("KeyPos"); ok && f.Type == keyPosType {
		keyPos = map[string]diag.Pos{}
		v.FieldByIndex(f.Index).Set(reflect.ValueOf(keyPos))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		f, ok := byKey[k.Value]
		if !ok {
			d.Errorf(k, diag.DidYouMean(k.Value, keys), "unknown key %q", k.Value)
			continue
		}
		if seen[k.Value] {
			d.Errorf(k, "remove one of the two", "%q is given twice in this mapping", k.Value)
			continue
		}
		seen[k.Value] = true
		if keyPos != nil {
			keyPos[k.Value] = d.PosOf(k)
		}
		d.push("." + k.Value)
		d.decode(val, v.Field(f.Index))
		d.pop()
	}
	var missing []string
	for _, f := range fields {
		if f.Required && !seen[f.Key] {
			missing = append(missing, f.Key)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		d.Errorf(n, fmt.Sprintf("add a line \"%s: …\" to this mapping", m), "the key %q is required here and missing", m)
	}
}
