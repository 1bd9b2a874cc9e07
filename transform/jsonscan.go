package transform

import (
	"encoding/json"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonScan reads JSON values from b at i for jsonPlan. Each method
// validates what it reads as strictly as encoding/json does and reports
// false when it cannot (the caller then leaves the record to
// encoding/json); on false, i is unspecified.
type jsonScan struct {
	b []byte
	i int
}

// jsonMaxDepth bounds the nesting skipValue follows; deeper values are
// left to encoding/json (which allows 10,000).
const jsonMaxDepth = 512

func (s *jsonScan) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScan) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *jsonScan) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// key reads an object key that is plain ASCII without escapes (the only
// keys the plan matches itself) and returns its bytes.
func (s *jsonScan) key() ([]byte, bool) {
	if !s.consume('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return nil, false
		}
		s.i++
	}
	return nil, false
}

// str reads a string value and returns it unescaped, as encoding/json
// would (invalid UTF-8 is handed to encoding/json for its replacement
// rules).
func (s *jsonScan) str() (string, bool) {
	if !s.consume('"') {
		return "", false
	}
	start := s.i
	ascii := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			raw := s.b[start : s.i-1]
			if !ascii && !utf8.Valid(raw) {
				var v string
				err := json.Unmarshal(s.b[start-1:s.i], &v)
				return v, err == nil
			}
			return string(raw), true
		case c == '\\':
			return s.escaped(start)
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		s.i++
	}
	return "", false
}

// escaped finishes reading a string with escapes that started at start
// (after the quote); s.i is at the first backslash.
func (s *jsonScan) escaped(start int) (string, bool) {
	out := make([]byte, 0, s.i-start+16)
	out = append(out, s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if !utf8.Valid(out) {
				var v string
				err := json.Unmarshal(s.b[start-1:s.i], &v)
				return v, err == nil
			}
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			return "", false
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				// a valid pair is one rune; anything else is U+FFFD and
				// the next escape is read on its own (encoding/json's unquote)
				if len(s.b)-s.i >= 6 && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					save := s.i
					s.i += 2
					r2, ok := s.hex4()
					if dec := utf16.DecodeRune(r, r2); ok && dec != unicode.ReplacementChar {
						out = utf8.AppendRune(out, dec)
						continue
					}
					s.i = save
				}
				r = unicode.ReplacementChar
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (s *jsonScan) hex4() (rune, bool) {
	if len(s.b)-s.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	s.i += 4
	return r, true
}

// number reads a number in JSON's grammar and returns its bytes.
func (s *jsonScan) number() ([]byte, bool) {
	start := s.i
	s.consume('-')
	switch {
	case s.consume('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return nil, false
	}
	if s.consume('.') && !s.digits() {
		return nil, false
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if !s.consume('+') {
			s.consume('-')
		}
		if !s.digits() {
			return nil, false
		}
	}
	return s.b[start:s.i], true
}

// digits reads one or more decimal digits.
func (s *jsonScan) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// skipString reads over a string, checking its escapes.
func (s *jsonScan) skipString() bool {
	if !s.consume('"') {
		return false
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return false
			}
			s.i++
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				s.i++
				if _, ok := s.hex4(); !ok {
					return false
				}
				continue
			default:
				return false
			}
		}
		s.i++
	}
	return false
}

// skipValue reads over any JSON value.
func (s *jsonScan) skipValue(depth int) bool {
	if s.i >= len(s.b) || depth > jsonMaxDepth {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.skipString()
	case c == '{':
		return s.skipComposite('}', depth)
	case c == '[':
		return s.skipComposite(']', depth)
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	default:
		_, ok := s.number()
		return ok
	}
}

// skipComposite reads over an object (close '}') or array (close ']').
func (s *jsonScan) skipComposite(close byte, depth int) bool {
	s.i++
	s.space()
	if s.consume(close) {
		return true
	}
	for {
		if close == '}' {
			if !s.skipString() {
				return false
			}
			s.space()
			if !s.consume(':') {
				return false
			}
			s.space()
		}
		if !s.skipValue(depth + 1) {
			return false
		}
		s.space()
		if s.consume(close) {
			return true
		}
		if !s.consume(',') {
			return false
		}
		s.space()
	}
}
