package render

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"
	"text/template"

	"kiln.dev/kiln/internal/ptype"
)

// The escaping of definition values for each language kiln writes, in one
// place. A value from site.yaml may hold a quote, a space, a $ or (where
// its type lets it) anything printable: each function below writes it so
// that the reader of that file sees one value, never the end of one and
// the start of a directive. Where a language has no way to quote
// something, the function refuses the value with an error that names it,
// and the build stops (kiln check refuses most such values earlier, by
// their types: see package ptype).
//
//	shquote      POSIX shell word (funcs.go): 'it'\''s'
//	ksarg        kickstart argument (pykickstart's shlex.split)
//	ldif         an LDIF attribute line, base64 (::) when RFC 2849 wants it
//	xml          XML text or attribute value (encoding/xml's escaping)
//	nftString    nftables quoted string: "eth0"
//	nftRule      one nftables rule kept inside its chain
//	ipxeArg      one iPXE argument (no quoting exists: refused if unsafe)
//	grubArg      one GRUB script word
//	iniValue     the value of an INI line (puppet.conf, .repo): one line
//	systemdArg   one word of a systemd unit's command line
//	mdCode       a Markdown code span that holds the value whole
//	mdCell       a Markdown table cell (funcs_runbook.go)
//	puppetValue  a Puppet literal (funcs_puppet.go)
func init() { funcGroups = append(funcGroups, escapeFuncs) }

func escapeFuncs(*renderer) template.FuncMap {
	return template.FuncMap{
		"ksarg":      ksArg,
		"ldif":       ldifLine,
		"xml":        xmlEscape,
		"nftString":  nftString,
		"nftRule":    nftRule,
		"ipxeArg":    ipxeArg,
		"grubArg":    grubArg,
		"iniValue":   iniValue,
		"systemdArg": systemdArg,
		"mdCode":     mdCode,
	}
}

// plainWord reports whether s is non-empty and made only of characters no
// shell-like reader treats specially.
func plainWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_./:,=@+%-", c) >= 0) {
			return false
		}
	}
	return true
}

// oneLine refuses a value with a control character, for languages where
// it would end the line.
func oneLine(lang string, v any) (string, error) {
	s := fmt.Sprint(v)
	if i, r := ptype.ControlChar(s, false); i >= 0 {
		return "", fmt.Errorf("the value %s holds %s, which would end its line in %s", ptype.Quote(s), ptype.CharName(r), lang)
	}
	return s, nil
}

// ksArg writes one kickstart argument. pykickstart splits a command line
// with Python's shlex (POSIX mode, # comments): a plain word goes as it
// is, anything else in single quotes (literal there), or in double quotes
// with \ and " escaped when it holds a single quote.
func ksArg(v any) (string, error) {
	s, err := oneLine("a kickstart", v)
	if err != nil || plainWord(s) {
		return s, err
	}
	if !strings.Contains(s, "'") {
		return "'" + s + "'", nil
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`, nil
}

// ldifLine writes "attr: value", or "attr:: BASE64" when RFC 2849 does not
// allow the value as a SAFE-STRING: empty is fine; not when it starts with
// a space, a colon or <, ends with a space, or holds NUL, CR, LF or a
// byte above 127.
func ldifLine(attr string, v any) string {
	s := fmt.Sprint(v)
	safe := true
	if s != "" && (s[0] == ' ' || s[0] == ':' || s[0] == '<' || s[len(s)-1] == ' ') {
		safe = false
	}
	for i := 0; i < len(s) && safe; i++ {
		if c := s[i]; c == 0 || c == '\n' || c == '\r' || c > 127 {
			safe = false
		}
	}
	if safe {
		return attr + ": " + s
	}
	return attr + ":: " + base64.StdEncoding.EncodeToString([]byte(s))
}

// xmlEscape writes a value for XML text or a quoted attribute.
func xmlEscape(v any) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(fmt.Sprint(v)))
	return b.String()
}

// nftString writes an nftables quoted string. nft's scanner takes
// anything but a double quote between them, and has no escape: a value
// with a quote or a control character is refused.
func nftString(v any) (string, error) {
	s, err := oneLine("nftables", v)
	if err != nil {
		return "", err
	}
	if strings.Contains(s, `"`) {
		return "", fmt.Errorf("the value %s holds a double quote, which nftables cannot quote", ptype.Quote(s))
	}
	return `"` + s + `"`, nil
}

// nftRule passes one site rule into a chain only if it stays one rule of
// that chain: one line, no ; (which starts another), braces and quotes
// balanced (an unbalanced } would close the chain; an open " would run
// over the next lines).
func nftRule(v any) (string, error) {
	s, err := oneLine("nftables", v)
	if err != nil {
		return "", err
	}
	if err := ptype.CheckNftRule(s); err != nil {
		return "", err
	}
	return s, nil
}

// ipxeArg writes one iPXE argument. iPXE splits on whitespace, expands
// ${…} and has no quoting: a value with a space, $, braces or a control
// character is refused.
func ipxeArg(v any) (string, error) {
	s, err := oneLine("an iPXE script", v)
	if err != nil {
		return "", err
	}
	if s == "" || strings.ContainsAny(s, " \t${}#\"'") {
		return "", fmt.Errorf("the value %s cannot be one argument of an iPXE script (it has no quoting): it holds a space, $, a brace, # or a quote", ptype.Quote(s))
	}
	return s, nil
}

// grubArg writes one GRUB script word: plain, or in single quotes
// (literal in GRUB as in sh; a single quote inside is closed, escaped
// and reopened, as shquote does).
func grubArg(v any) (string, error) {
	s, err := oneLine("a GRUB script", v)
	if err != nil || plainWord(s) {
		return s, err
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'", nil
}

// iniValue writes the value of a key = value line (puppet.conf, a yum
// .repo file): the reader takes the rest of the line, so the value must be
// one line.
func iniValue(v any) (string, error) {
	return oneLine("an INI file", v)
}

// systemdArg writes one word of a unit file's command line (ExecStart=):
// % is doubled (specifiers), and a word that is not plain goes in double
// quotes with C escapes and $ doubled (variable expansion).
func systemdArg(v any) (string, error) {
	s, err := oneLine("a systemd unit", v)
	if err != nil {
		return "", err
	}
	s = strings.ReplaceAll(s, "%", "%%")
	if plainWord(s) {
		return s, nil
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`).Replace(s) + `"`, nil
}

// mdCode writes a Markdown (CommonMark) code span holding the value: its
// backtick fence is longer than any run of backticks in it, and a value
// that starts or ends with a backtick or a space is padded with one space
// (which the reader strips). A control character is refused.
func mdCode(v any) (string, error) {
	s, err := oneLine("Markdown", v)
	if err != nil {
		return "", err
	}
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if s != "" && (s[0] == '`' || s[len(s)-1] == '`' || s[0] == ' ' && s[len(s)-1] == ' ') {
		s = " " + s + " "
	}
	return fence + s + fence, nil
}
