package templates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// Names of the escaping functions appended to every action of a Telegram
// text with a parse_mode. They are ordinary functions, so an author may also
// call them.
const (
	escHTML       = "telegram_html"
	escMarkdownV2 = "telegram_markdownv2"
)

// protoFuncs is what templates are parsed with: the right names, so that
// "function not defined" is a load error, and stand-ins for the locale
// functions, which are bound per locale and zone before any real render.
var protoFuncs = localeFuncs(language.Und)

// localeFuncs returns the functions that need only the locale. date,
// number, money and plural fail until a Formatter replaces them.
func localeFuncs(tag language.Tag) template.FuncMap {
	// A Caser keeps state between calls, so each goroutine takes its own.
	upper := sync.Pool{New: func() any { return cases.Upper(tag) }}
	lower := sync.Pool{New: func() any { return cases.Lower(tag) }}
	caseWith := func(p *sync.Pool) func(any) string {
		return func(v any) string {
			c := p.Get().(cases.Caser)
			out := c.String(toString(v))
			p.Put(c)
			return out
		}
	}
	return template.FuncMap{
		"date":        func(any, string) (string, error) { return "", fmt.Errorf("date: %w", errNoFormatter) },
		"number":      func(any) (string, error) { return "", fmt.Errorf("number: %w", errNoFormatter) },
		"money":       func(any, string) (string, error) { return "", fmt.Errorf("money: %w", errNoFormatter) },
		"plural":      func(any, ...string) (string, error) { return "", fmt.Errorf("plural: %w", errNoFormatter) },
		"upper":       caseWith(&upper),
		"lower":       caseWith(&lower),
		"json":        jsonLiteral,
		"default":     defaultValue,
		escHTML:       telegramHTML,
		escMarkdownV2: telegramMarkdownV2,
		isolateName:   isolateFunc(Neutral),
	}
}

// toString prints a value as a template action would, except that nil is
// empty rather than "<nil>": a blank CSV cell should print as nothing.
func toString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(v)
}

// jsonLiteral writes v as a JSON literal for webhook bodies: "Budi \"B\"",
// 42, null. HTML characters stay as they are: the body is not HTML.
func jsonLiteral(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("json: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// defaultValue takes the fallback first, so that `{{.nick | default
// "friend"}}` reads naturally. Empty means nil, a blank string, or an empty
// slice or map; 0 and false are values a message may well want to show.
func defaultValue(def, v any) any {
	switch x := v.(type) {
	case nil:
		return def
	case string:
		if strings.TrimSpace(x) == "" {
			return def
		}
		return v
	}
	if rv := reflect.ValueOf(v); (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map) && rv.Len() == 0 {
		return def
	}
	return v
}

var telegramHTMLReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// telegramHTML escapes the three characters Telegram's HTML mode reserves.
func telegramHTML(v any) string { return telegramHTMLReplacer.Replace(toString(v)) }

// telegramMarkdownV2 escapes every character MarkdownV2 reserves, plus the
// backslash. Telegram accepts an escaped character anywhere, inside code
// and links too, so one rule fits every context.
func telegramMarkdownV2(v any) string {
	s := toString(v)
	const reserved = "_*[]()~`>#+-=|{}.!\\"
	if !strings.ContainsAny(s, reserved) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		if r < 128 && strings.IndexByte(reserved, byte(r)) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func escaperFor(parseMode string) string {
	switch parseMode {
	case "HTML":
		return escHTML
	case "MarkdownV2":
		return escMarkdownV2
	}
	return ""
}

// addEscaper appends `| fn` to every action that prints, in t and in the
// templates it defines, the way html/template does: the author's markup in
// the template text is left alone and only the data is escaped.
func addEscaper(t *template.Template, fn string) {
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			rewriteActions(tt.Tree, tt.Tree.Root, fn, func(last string) bool {
				return last == escHTML || last == escMarkdownV2 // the author escaped it already
			})
		}
	}
}

// rewriteActions appends `| fn` to every action under n that prints,
// except those whose last command is an identifier done says is enough.
func rewriteActions(tree *parse.Tree, n parse.Node, fn string, done func(last string) bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			rewriteActions(tree, c, fn, done)
		}
	case *parse.ActionNode:
		if n.Pipe == nil || len(n.Pipe.Decl) > 0 {
			return // {{$x := ...}} prints nothing
		}
		if last := n.Pipe.Cmds[len(n.Pipe.Cmds)-1]; len(last.Args) == 1 {
			if id, ok := last.Args[0].(*parse.IdentifierNode); ok && done(id.Ident) {
				return
			}
		}
		id := parse.NewIdentifier(fn).SetTree(tree).SetPos(n.Pos)
		n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{id}})
	case *parse.IfNode:
		rewriteActions(tree, n.List, fn, done)
		rewriteActions(tree, n.ElseList, fn, done)
	case *parse.RangeNode:
		rewriteActions(tree, n.List, fn, done)
		rewriteActions(tree, n.ElseList, fn, done)
	case *parse.WithNode:
		rewriteActions(tree, n.List, fn, done)
		rewriteActions(tree, n.ElseList, fn, done)
	}
}
