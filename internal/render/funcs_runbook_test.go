package render

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// Converting Markdown a piece at a time gives the HTML of converting it
// whole: on the runbooks of the golden builds, cut at every place the
// cutter allows, and on the constructs that could tie blocks together
// across a blank line.
func TestMarkdownInPiecesIsMarkdownWhole(t *testing.T) {
	docs := map[string]string{
		"lists":    "# Steps\n\n- one\n\n- two\n\n  still two\n\nAfter the list.\n\n1. first\n\n2. second\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nText\n",
		"fences":   "# Code\n\n```sh\necho one\n\necho two\n```sh\n\nnot a fence end\n```\n\nAfter.\n\n~~~\nx\n\n# not a heading\n~~~\n\nDone.\n",
		"headings": "# Same\n\ntext\n\n# Same\n\nmore\n\n## Same\n\nend\n",
		"quote":    "> quoted\n\n> again\n\nplain\n\n    indented code\n\n    more code\n\nplain again\n",
		"setext":   "Title\n=====\n\nPara\n\nSub\n---\n\nend\n",
	}
	for _, p := range []string{"../pipeline/testdata/golden/tier3/runbook.md", "../pipeline/testdata/golden/slurm/runbook.md"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs[p] = string(b)
	}
	for name, doc := range docs {
		var whole bytes.Buffer
		if err := md.Convert([]byte(doc), &whole); err != nil {
			t.Fatal(err)
		}
		pieces := markdownPieces(doc, 1)
		if strings.Join(pieces, "") != doc {
			t.Fatalf("%s: the pieces do not make up the document", name)
		}
		got, err := markdownIn(doc, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got != whole.String() {
			t.Errorf("%s: in %d pieces the HTML differs from the whole's:\n%s\n---\n%s", name, len(pieces), got, whole.String())
		}
	}
	if n := len(markdownPieces(docs["../pipeline/testdata/golden/tier3/runbook.md"], 1)); n < 20 {
		t.Errorf("the tier3 runbook was cut in only %d pieces", n)
	}
}

// A document whose blocks may be tied together stays whole.
func TestMarkdownWithReferencesOrHTMLStaysWhole(t *testing.T) {
	for _, doc := range []string{
		"# A\n\nSee [the site][s].\n\n# B\n\ntext\n\n[s]: http://example.org\n",
		"# A\n\n<!-- a comment\n\nover a blank line -->\n\n# B\n\ntext\n",
	} {
		if n := len(markdownPieces(doc, 1)); n != 1 {
			t.Errorf("cut in %d pieces:\n%s", n, doc)
		}
	}
}
