package templates

import (
	"io"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
)

// Nearly every message template is text with {{.column}} and formatter
// calls such as {{date .eta "long"}} in it. text/template runs those
// through reflection, which was most of the cost of checking or sending a
// million messages. A template of that shape is compiled here into a list
// of steps run directly on the data map; anything else, and any step that
// would not print a plain string (a missing key, a value that is not a
// string, a function's error), runs the real template instead, so output
// and errors are text/template's own.

// stepKind says what a step of a program does.
type stepKind uint8

const (
	stepText  stepKind = iota // write text
	stepField                 // write data[key], a string
	stepCall2                 // write fn2(data[key], arg)
	stepCall1                 // write fn1(data[key])
	stepCase                  // write fnS(data[key])
)

type step struct {
	kind stepKind
	text string // stepText: the text; otherwise the key
	arg  string // stepCall2: the literal second argument
	fn2  func(any, string) (string, error)
	fn1  func(any) (string, error)
	fnS  func(any) string
	post func(any) any // applied to the output when set: herald_isolate
}

type program []step

// compile returns the program of a parsed text template bound to funcs, or
// nil when its shape is not one a program runs.
func compile(t *template.Template, funcs template.FuncMap) program {
	if t == nil || t.Tree == nil || t.Tree.Root == nil || len(t.Templates()) > 1 {
		return nil // partials: {{template}} calls are left to text/template
	}
	var prog program
	for _, n := range t.Tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			prog = append(prog, step{kind: stepText, text: string(n.Text)})
		case *parse.ActionNode:
			s, ok := compileAction(n, funcs)
			if !ok {
				return nil
			}
			prog = append(prog, s)
		default:
			return nil
		}
	}
	return prog
}

func compileAction(n *parse.ActionNode, funcs template.FuncMap) (step, bool) {
	if n.Pipe == nil || len(n.Pipe.Decl) > 0 || len(n.Pipe.Cmds) == 0 || len(n.Pipe.Cmds) > 2 {
		return step{}, false
	}
	var post func(any) any
	if len(n.Pipe.Cmds) == 2 {
		// `| herald_isolate`, which addIsolation appends to every action
		// of a right-to-left file or of data with right-to-left letters.
		c := n.Pipe.Cmds[1].Args
		id, ok := c[0].(*parse.IdentifierNode)
		if len(c) != 1 || !ok {
			return step{}, false
		}
		if post, ok = funcs[id.Ident].(func(any) any); !ok {
			return step{}, false
		}
	}
	s, ok := compileCommand(n.Pipe.Cmds[0].Args, funcs)
	s.post = post
	return s, ok
}

func compileCommand(args []parse.Node, funcs template.FuncMap) (step, bool) {
	key := func(a parse.Node) (string, bool) {
		f, ok := a.(*parse.FieldNode)
		if !ok || len(f.Ident) != 1 {
			return "", false
		}
		return f.Ident[0], true
	}
	if len(args) == 1 {
		k, ok := key(args[0])
		return step{kind: stepField, text: k}, ok
	}
	id, ok := args[0].(*parse.IdentifierNode)
	if !ok {
		return step{}, false
	}
	k, ok := key(args[1])
	if !ok {
		return step{}, false
	}
	switch fn := funcs[id.Ident].(type) {
	case func(any, string) (string, error):
		if len(args) != 3 {
			return step{}, false
		}
		lit, ok := args[2].(*parse.StringNode)
		if !ok {
			return step{}, false
		}
		return step{kind: stepCall2, text: k, arg: lit.Text, fn2: fn}, true
	case func(any) (string, error):
		return step{kind: stepCall1, text: k, fn1: fn}, len(args) == 2
	case func(any) string:
		return step{kind: stepCase, text: k, fnS: fn}, len(args) == 2
	}
	return step{}, false
}

// run writes the program's output to b and reports whether it could; on
// false, b holds a partial output to be dropped.
func (p program) run(b *strings.Builder, data map[string]any) bool {
	for i := range p {
		s := &p[i]
		if s.kind == stepText {
			if b != nil {
				b.WriteString(s.text)
			}
			continue
		}
		v, ok := data[s.text]
		if !ok {
			return false
		}
		var out string
		var err error
		switch s.kind {
		case stepField:
			if out, ok = v.(string); !ok {
				return false
			}
		case stepCall2:
			out, err = s.fn2(v, s.arg)
		case stepCall1:
			out, err = s.fn1(v)
		case stepCase:
			out = s.fnS(v)
		}
		if err != nil {
			return false
		}
		if s.post != nil {
			if out, ok = s.post(out).(string); !ok {
				return false
			}
		}
		if b != nil {
			b.WriteString(out)
		}
	}
	return true
}

// fastTemplate runs its program when it can, else the template.
type fastTemplate struct {
	t    *template.Template
	prog program
}

var builders = sync.Pool{New: func() any { return new(strings.Builder) }}

func (f *fastTemplate) Execute(w io.Writer, data any) error {
	if m, ok := data.(map[string]any); ok && f.prog != nil {
		if w == io.Discard {
			if f.prog.run(nil, m) {
				return nil
			}
		} else if sb, ok := w.(*strings.Builder); ok && sb.Len() == 0 {
			if f.prog.run(sb, m) {
				return nil
			}
			sb.Reset()
		} else {
			b := builders.Get().(*strings.Builder)
			b.Reset()
			done := f.prog.run(b, m)
			if done {
				_, err := io.WriteString(w, b.String())
				builders.Put(b)
				return err
			}
			builders.Put(b)
		}
	}
	return f.t.Execute(w, data)
}
