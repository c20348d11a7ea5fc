package audience

import (
	"regexp/syntax"
	"slices"
)

// digitDFA matches one of the library's metadata patterns against a
// string of ASCII digits with a table walk: one lookup per digit, where
// Go's regexp engine spends hundreds of nanoseconds per pattern. The
// patterns stay the library's own; this is only a faster way to run them,
// built from the same compiled program Go's regexp would run (subset
// construction over the ten digits), so it accepts exactly what the
// regexp accepts on digit strings. Phone number patterns are short and
// digit-only, so the tables are small.
type digitDFA struct {
	next   [][10]int32 // -1: no match possible from here
	accept []bool      // the pattern matches the digits read so far
}

// maxDFAStates bounds a table; a pattern that needs more keeps its regexp.
const maxDFAStates = 4096

// compileDigits builds the table for pattern, unanchored: full and prefix
// decide how it is anchored. It reports false for a pattern it cannot turn
// into a table (anchors or word boundaries inside, too many states).
func compileDigits(pattern string) (*digitDFA, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, false
	}
	b := dfaBuilder{prog: prog, ids: map[string]int32{}, mark: make([]uint32, len(prog.Inst))}
	start, ok := b.closure(nil, uint32(prog.Start))
	if !ok {
		return nil, false
	}
	d := &digitDFA{}
	b.state(d, start)
	for i := 0; i < len(b.sets); i++ {
		for digit := range 10 {
			var set []uint32
			for _, pc := range b.sets[i] {
				in := &prog.Inst[pc]
				if in.Op != syntax.InstMatch && in.MatchRune('0'+rune(digit)) {
					if set, ok = b.closure(set, in.Out); !ok {
						return nil, false
					}
				}
			}
			if len(set) == 0 {
				d.next[i][digit] = -1
				continue
			}
			d.next[i][digit] = b.state(d, set)
			if len(d.next) > maxDFAStates {
				return nil, false
			}
		}
	}
	return d, true
}

type dfaBuilder struct {
	prog *syntax.Prog
	ids  map[string]int32 // state by its sorted set of instructions
	sets [][]uint32
	mark []uint32 // generation marks for closure
	gen  uint32
}

// closure adds pc and every instruction reachable from it without reading
// a digit to set; only instructions that read a rune, and Match, are kept.
func (b *dfaBuilder) closure(set []uint32, pc uint32) ([]uint32, bool) {
	b.gen++
	for _, p := range set {
		b.mark[p] = b.gen
	}
	stack := []uint32{pc}
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if b.mark[pc] == b.gen {
			continue
		}
		b.mark[pc] = b.gen
		in := &b.prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, in.Arg, in.Out)
		case syntax.InstCapture, syntax.InstNop:
			stack = append(stack, in.Out)
		case syntax.InstMatch, syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			set = append(set, pc)
		case syntax.InstFail:
		default: // empty-width assertions: not worth a table
			return nil, false
		}
	}
	return set, true
}

// state returns the id of the state for set, adding it when new.
func (b *dfaBuilder) state(d *digitDFA, set []uint32) int32 {
	slices.Sort(set)
	key := make([]byte, 0, 4*len(set))
	for _, pc := range set {
		key = append(key, byte(pc), byte(pc>>8), byte(pc>>16), byte(pc>>24))
	}
	if id, ok := b.ids[string(key)]; ok {
		return id
	}
	id := int32(len(b.sets))
	b.ids[string(key)] = id
	b.sets = append(b.sets, set)
	acc := false
	for _, pc := range set {
		acc = acc || b.prog.Inst[pc].Op == syntax.InstMatch
	}
	d.next = append(d.next, [10]int32{})
	d.accept = append(d.accept, acc)
	return id
}

// full reports whether the whole of s matches (the library's ^(?:p)$).
func (d *digitDFA) full(s string) bool {
	st := int32(0)
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return false
		}
		if st = d.next[st][c]; st < 0 {
			return false
		}
	}
	return d.accept[st]
}

// prefix reports whether some prefix of s matches (the library's
// ^(?:p) looking at the start).
func (d *digitDFA) prefix(s string) bool {
	st := int32(0)
	for i := 0; ; i++ {
		if d.accept[st] {
			return true
		}
		if i == len(s) {
			return false
		}
		c := s[i] - '0'
		if c > 9 {
			return false
		}
		if st = d.next[st][c]; st < 0 {
			return false
		}
	}
}
