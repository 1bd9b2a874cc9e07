package catalog

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Filter is a compiled partition filter expression in the subset of SQL
// that Glue's GetPartitions accepts:
//
//	key = 'v'   key <> 'v'   key != 'v'   key < 5   <=   >   >=
//	key IN ('a', 'b')        key NOT IN (...)
//	key BETWEEN 'a' AND 'b'  key NOT BETWEEN ...
//	key LIKE '2024-%'        key NOT LIKE ...   (% any run, _ one character)
//	expr AND expr   expr OR expr   NOT expr   ( expr )
//
// Keywords are case-insensitive; strings are in single quotes (” is a
// quote); numbers are plain decimals. A key may be written bare or in
// backquotes or double quotes. Values of integer, decimal, float and
// double keys compare as numbers; other keys (string, date, ...) compare
// as strings, which orders YYYY-MM-DD dates correctly.
type Filter struct {
	expr string
	keys []Column
	toks []token
	eval func(values []string) bool
}

// Expression returns the filter in a canonical spelling for Glue's
// GetPartitions: bare key names as declared, keywords in upper case, <>
// for !=, strings in single quotes with ” for a quote. "" for an empty
// filter.
func (f *Filter) Expression() string {
	if f == nil {
		return ""
	}
	var b strings.Builder
	for _, t := range f.toks {
		var s string
		switch t.kind {
		case tkEOF:
			continue
		case tkString:
			s = "'" + strings.ReplaceAll(t.text, "'", "''") + "'"
		case tkIdent:
			s = t.text
			if reserved[strings.ToLower(t.raw)] {
				s = strings.ToUpper(t.raw)
			} else {
				for _, k := range f.keys {
					if strings.EqualFold(k.Name, t.text) {
						s = k.Name
					}
				}
			}
		case tkOp:
			s = t.text
			if s == "!=" {
				s = "<>"
			}
		default:
			s = t.raw
		}
		if b.Len() > 0 && t.kind != tkRParen && t.kind != tkComma && !strings.HasSuffix(b.String(), "(") {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

// String returns the expression as written.
func (f *Filter) String() string { return f.expr }

// Match reports whether a partition with these values (in key order)
// matches. A nil or empty Filter matches everything.
func (f *Filter) Match(values []string) bool {
	if f == nil || f.eval == nil {
		return true
	}
	return f.eval(values)
}

// CompileFilter parses expr against a table's partition keys. Syntax
// errors, unknown keys and literals that do not fit a numeric key are
// errors wrapping ErrInvalid that name the position (1-based, in bytes).
// An empty expr matches everything.
func CompileFilter(expr string, keys []Column) (*Filter, error) {
	f := &Filter{expr: expr, keys: keys}
	if strings.TrimSpace(expr) == "" {
		return f, nil
	}
	toks, err := lexFilter(expr)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, keys: keys, expr: expr}
	ev, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tkEOF {
		return nil, p.errAt(t, "unexpected %s", t)
	}
	f.eval, f.toks = ev, toks
	return f, nil
}

type tokKind int

const (
	tkEOF tokKind = iota
	tkIdent
	tkString
	tkNumber
	tkOp
	tkLParen
	tkRParen
	tkComma
)

type token struct {
	kind tokKind
	text string // identifier (lower case for keywords check), literal value, operator
	raw  string
	pos  int // 1-based
}

func (t token) String() string {
	if t.kind == tkEOF {
		return "end of expression"
	}
	return fmt.Sprintf("%q", t.raw)
}

func filterErr(expr string, pos int, format string, args ...any) error {
	return fmt.Errorf("%w: filter %q at position %d: %s", ErrInvalid, expr, pos, fmt.Sprintf(format, args...))
}

func lexFilter(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '(':
			toks = append(toks, token{kind: tkLParen, raw: "(", pos: i + 1})
			i++
		case c == ')':
			toks = append(toks, token{kind: tkRParen, raw: ")", pos: i + 1})
			i++
		case c == ',':
			toks = append(toks, token{kind: tkComma, raw: ",", pos: i + 1})
			i++
		case c == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, filterErr(s, start+1, "unterminated string")
			}
			toks = append(toks, token{kind: tkString, text: b.String(), raw: s[start:i], pos: start + 1})
		case c == '`' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, filterErr(s, start+1, "unterminated quoted name")
			}
			name := s[i+1 : i+1+end]
			i += end + 2
			toks = append(toks, token{kind: tkIdent, text: name, raw: s[start:i], pos: start + 1})
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' || c == '.':
			i++
			for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
				i++
			}
			if _, err := strconv.ParseFloat(s[start:i], 64); err != nil {
				return nil, filterErr(s, start+1, "bad number %q", s[start:i])
			}
			toks = append(toks, token{kind: tkNumber, text: s[start:i], raw: s[start:i], pos: start + 1})
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			for i < len(s) && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
				i++
			}
			toks = append(toks, token{kind: tkIdent, text: s[start:i], raw: s[start:i], pos: start + 1})
		case c == '=' || c == '<' || c == '>' || c == '!':
			op := string(c)
			if i+1 < len(s) && (s[i+1] == '=' || c == '<' && s[i+1] == '>') {
				op = s[i : i+2]
			}
			if op == "!" {
				return nil, filterErr(s, start+1, "unexpected '!' (did you mean !=?)")
			}
			i += len(op)
			toks = append(toks, token{kind: tkOp, text: op, raw: op, pos: start + 1})
		default:
			return nil, filterErr(s, start+1, "unexpected character %q", c)
		}
	}
	return append(toks, token{kind: tkEOF, pos: len(s) + 1}), nil
}

type filterParser struct {
	toks []token
	i    int
	keys []Column
	expr string
}

func (p *filterParser) peek() token { return p.toks[p.i] }
func (p *filterParser) next() token {
	t := p.toks[p.i]
	if t.kind != tkEOF {
		p.i++
	}
	return t
}

func (p *filterParser) errAt(t token, format string, args ...any) error {
	return filterErr(p.expr, t.pos, format, args...)
}

func (p *filterParser) keyword(t token, kw string) bool {
	return t.kind == tkIdent && !strings.HasPrefix(t.raw, "`") && !strings.HasPrefix(t.raw, `"`) && strings.EqualFold(t.text, kw)
}

func (p *filterParser) acceptKeyword(kw string) bool {
	if p.keyword(p.peek(), kw) {
		p.i++
		return true
	}
	return false
}

type evalFn = func([]string) bool

func (p *filterParser) or() (evalFn, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.acceptKeyword("OR") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		a, b := l, r
		l = func(v []string) bool { return a(v) || b(v) }
	}
	return l, nil
}

func (p *filterParser) and() (evalFn, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.acceptKeyword("AND") {
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		a, b := l, r
		l = func(v []string) bool { return a(v) && b(v) }
	}
	return l, nil
}

func (p *filterParser) not() (evalFn, error) {
	if p.acceptKeyword("NOT") {
		e, err := p.not()
		if err != nil {
			return nil, err
		}
		return func(v []string) bool { return !e(v) }, nil
	}
	return p.primary()
}

// operand is a key reference or a literal.
type operand struct {
	key     int // index into keys, or -1 for a literal
	lit     string
	num     bool // literal is a number
	numeric bool // key compares numerically
	tok     token
}

var reserved = map[string]bool{"and": true, "or": true, "not": true, "in": true, "between": true, "like": true}

func (p *filterParser) operand() (operand, error) {
	t := p.next()
	switch t.kind {
	case tkString:
		return operand{key: -1, lit: t.text, tok: t}, nil
	case tkNumber:
		return operand{key: -1, lit: t.text, num: true, tok: t}, nil
	case tkIdent:
		if reserved[strings.ToLower(t.raw)] {
			return operand{}, p.errAt(t, "expected a partition key or a value, found keyword %s", strings.ToUpper(t.raw))
		}
		for i, k := range p.keys {
			if strings.EqualFold(k.Name, t.text) {
				return operand{key: i, tok: t, numeric: numericKind(k.Type)}, nil
			}
		}
		names := make([]string, len(p.keys))
		for i, k := range p.keys {
			names[i] = k.Name
		}
		return operand{}, p.errAt(t, "unknown partition key %q (keys: %s)", t.text, strings.Join(names, ", "))
	}
	return operand{}, p.errAt(t, "expected a partition key or a value, found %s", t)
}

func numericKind(typ string) bool {
	t, err := ParseType(typ)
	if err != nil {
		return false
	}
	return t.Integer() || t.Kind == KindDecimal || t.Kind == KindFloat || t.Kind == KindDouble
}

// comparator returns a function comparing a and b for one partition, after
// checking at compile time that literals fit numeric keys.
func (p *filterParser) comparator(a, b operand) (func(v []string) (int, bool), error) {
	numeric := a.numeric || b.numeric
	for _, o := range []operand{a, b} {
		if numeric && o.key < 0 {
			if _, err := strconv.ParseFloat(o.lit, 64); err != nil {
				return nil, p.errAt(o.tok, "%s is not a number, but it is compared with a numeric partition key", o.tok)
			}
		}
	}
	get := func(o operand, v []string) (string, bool) {
		if o.key < 0 {
			return o.lit, true
		}
		if o.key >= len(v) {
			return "", false
		}
		return v[o.key], true
	}
	return func(v []string) (int, bool) {
		x, ok1 := get(a, v)
		y, ok2 := get(b, v)
		if !ok1 || !ok2 {
			return 0, false
		}
		if numeric {
			if xi, err := strconv.ParseInt(x, 10, 64); err == nil {
				if yi, err := strconv.ParseInt(y, 10, 64); err == nil {
					return cmpInt(xi, yi), true
				}
			}
			xf, err1 := strconv.ParseFloat(x, 64)
			yf, err2 := strconv.ParseFloat(y, 64)
			if err1 != nil || err2 != nil {
				return 0, false
			}
			switch {
			case xf < yf:
				return -1, true
			case xf > yf:
				return 1, true
			}
			return 0, true
		}
		return strings.Compare(x, y), true
	}, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// primary parses a parenthesised expression or one predicate on an
// operand: a comparison, or [NOT] IN, BETWEEN or LIKE.
func (p *filterParser) primary() (evalFn, error) {
	if p.peek().kind == tkLParen {
		open := p.next()
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if t := p.next(); t.kind != tkRParen {
			return nil, p.errAt(t, "expected ')' to close the '(' at position %d, found %s", open.pos, t)
		}
		return e, nil
	}
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	negate := p.acceptKeyword("NOT")
	t := p.peek()
	var ev evalFn
	switch {
	case t.kind == tkOp && !negate:
		p.next()
		return p.comparison(left, t)
	case p.keyword(t, "IN"):
		p.next()
		ev, err = p.inList(left)
	case p.keyword(t, "BETWEEN"):
		p.next()
		ev, err = p.between(left)
	case p.keyword(t, "LIKE"):
		p.next()
		ev, err = p.like(left)
	default:
		if negate {
			return nil, p.errAt(t, "expected IN, BETWEEN or LIKE after NOT, found %s", t)
		}
		return nil, p.errAt(t, "expected an operator (=, <>, <, <=, >, >=, IN, BETWEEN, LIKE) after %s, found %s", left.tok, t)
	}
	if err != nil {
		return nil, err
	}
	if negate {
		e := ev
		return func(v []string) bool { return !e(v) }, nil
	}
	return ev, nil
}

// comparison parses the right side of left op right (op already read).
func (p *filterParser) comparison(left operand, op token) (evalFn, error) {
	right, err := p.operand()
	if err != nil {
		return nil, err
	}
	if left.key < 0 && right.key < 0 {
		return nil, p.errAt(left.tok, "a comparison needs a partition key on one side")
	}
	cmp, err := p.comparator(left, right)
	if err != nil {
		return nil, err
	}
	var ok func(int) bool
	switch op.text {
	case "=":
		ok = func(c int) bool { return c == 0 }
	case "<>", "!=":
		ok = func(c int) bool { return c != 0 }
	case "<":
		ok = func(c int) bool { return c < 0 }
	case "<=":
		ok = func(c int) bool { return c <= 0 }
	case ">":
		ok = func(c int) bool { return c > 0 }
	case ">=":
		ok = func(c int) bool { return c >= 0 }
	default:
		return nil, p.errAt(op, "unknown operator %s", op)
	}
	return func(v []string) bool { c, good := cmp(v); return good && ok(c) }, nil
}

// inList parses the value list of left IN (...) (IN already read).
func (p *filterParser) inList(left operand) (evalFn, error) {
	if left.key < 0 {
		return nil, p.errAt(left.tok, "IN needs a partition key on its left")
	}
	if lp := p.next(); lp.kind != tkLParen {
		return nil, p.errAt(lp, "expected '(' after IN, found %s", lp)
	}
	var cmps []func([]string) (int, bool)
	for {
		o, err := p.operand()
		if err != nil {
			return nil, err
		}
		if o.key >= 0 {
			return nil, p.errAt(o.tok, "IN lists values, not partition keys")
		}
		c, err := p.comparator(left, o)
		if err != nil {
			return nil, err
		}
		cmps = append(cmps, c)
		sep := p.next()
		if sep.kind == tkComma {
			continue
		}
		if sep.kind != tkRParen {
			return nil, p.errAt(sep, "expected ',' or ')' in the IN list, found %s", sep)
		}
		break
	}
	return func(v []string) bool {
		for _, c := range cmps {
			if r, ok := c(v); ok && r == 0 {
				return true
			}
		}
		return false
	}, nil
}

// between parses lo AND hi of left BETWEEN lo AND hi (BETWEEN already read).
func (p *filterParser) between(left operand) (evalFn, error) {
	lo, err := p.operand()
	if err != nil {
		return nil, err
	}
	if and := p.next(); !p.keyword(and, "AND") {
		return nil, p.errAt(and, "expected AND in BETWEEN, found %s", and)
	}
	hi, err := p.operand()
	if err != nil {
		return nil, err
	}
	c1, err := p.comparator(left, lo)
	if err != nil {
		return nil, err
	}
	c2, err := p.comparator(left, hi)
	if err != nil {
		return nil, err
	}
	return func(v []string) bool {
		a, ok1 := c1(v)
		b, ok2 := c2(v)
		return ok1 && ok2 && a >= 0 && b <= 0
	}, nil
}

// like parses the pattern of left LIKE 'pattern' (LIKE already read).
func (p *filterParser) like(left operand) (evalFn, error) {
	if left.key < 0 {
		return nil, p.errAt(left.tok, "LIKE needs a partition key on its left")
	}
	pt := p.next()
	if pt.kind != tkString {
		return nil, p.errAt(pt, "LIKE needs a quoted pattern, found %s", pt)
	}
	re := likeRegexp(pt.text)
	k := left.key
	return func(v []string) bool { return k < len(v) && re.MatchString(v[k]) }, nil
}

func likeRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^(?s:")
	for _, r := range pattern {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(")$")
	return regexp.MustCompile(b.String())
}
