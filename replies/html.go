package replies

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToText renders an HTML body as plain text for reply extraction.
//
// It is written for ExtractReply rather than for display: quoted history
// must still be recognisable afterwards, so <blockquote> content comes out
// with "> " in front of every line and <hr> as Outlook's underscore
// separator, and the quote rules in ExtractReply then cut them like in a
// text/plain part. (enmime's built-in conversion wraps bold text in
// asterisks and loses the <hr>, which would leave both in replies.csv.)
func htmlToText(src string) string {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil { // html.Parse only fails on reader errors; keep the raw text rather than nothing
		return src
	}
	var w textWriter
	w.node(doc)
	return w.b.String()
}

// textWriter accumulates text, collapsing HTML whitespace like a browser.
type textWriter struct {
	b     strings.Builder
	space bool // a collapsed space is pending
	pre   int  // depth inside <pre>
	nbsp  bool // the current block held a &nbsp; (Outlook's empty line)
}

func (w *textWriter) atLineStart() bool {
	s := w.b.String()
	return s == "" || s[len(s)-1] == '\n'
}

// newline ends the current line unconditionally (<br>).
func (w *textWriter) newline() {
	w.space = false
	w.b.WriteByte('\n')
}

// breakLine ends the current line unless it is already empty, so nested
// block elements (<div><div><p>) make one line break, not three.
func (w *textWriter) breakLine() {
	if !w.atLineStart() {
		w.newline()
	}
	w.space = false
}

func (w *textWriter) text(s string) {
	if strings.ContainsRune(s, '\u00a0') {
		w.nbsp = true
		s = strings.ReplaceAll(s, "\u00a0", " ") // &nbsp; is layout, not content
	}
	if w.pre > 0 {
		w.b.WriteString(s)
		return
	}
	if s != "" && isHTMLSpace(rune(s[0])) {
		w.space = true
	}
	for _, f := range strings.FieldsFunc(s, isHTMLSpace) {
		if w.space && !w.atLineStart() {
			w.b.WriteByte(' ')
		}
		w.space = false
		w.b.WriteString(f)
		w.space = true
	}
	if s != "" && !isHTMLSpace(rune(s[len(s)-1])) {
		w.space = false // "a<b>b</b>" has no space between a and b
	}
}

func isHTMLSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f'
}

func (w *textWriter) node(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		w.text(n.Data)
		return
	case html.CommentNode, html.DoctypeNode:
		return
	case html.ElementNode:
		switch n.DataAtom {
		case atom.Head, atom.Script, atom.Style, atom.Title, atom.Template, atom.Noscript:
			return
		case atom.Br:
			w.newline()
			return
		case atom.Hr:
			w.breakLine()
			w.b.WriteString(underscoreRule)
			w.newline()
			return
		case atom.Blockquote:
			// Render the quote on its own, then prefix it line by line.
			var inner textWriter
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				inner.node(c)
			}
			w.breakLine()
			for _, l := range strings.Split(strings.TrimSpace(inner.b.String()), "\n") {
				w.b.WriteString("> " + l)
				w.newline()
			}
			return
		case atom.Pre:
			w.pre++
			defer func() { w.pre-- }()
		case atom.Td, atom.Th:
			w.space = true
		}
	}
	block := n.Type == html.ElementNode && isBlock(n.DataAtom)
	if block {
		w.breakLine()
		w.nbsp = false
	}
	start := w.b.Len()
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c)
	}
	if block {
		if w.b.Len() == start && w.nbsp {
			w.newline() // <p>&nbsp;</p> is how Outlook writes an empty line
		}
		w.nbsp = false
		w.breakLine()
	}
}

func isBlock(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Li, atom.Ul, atom.Ol, atom.Table, atom.Tr,
		atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Pre,
		atom.Section, atom.Article, atom.Header, atom.Footer, atom.Address,
		atom.Center, atom.Dl, atom.Dt, atom.Dd:
		return true
	}
	return false
}
