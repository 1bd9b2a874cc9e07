package parquetx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Thrift compact protocol type codes.
const (
	tTrue   = 1
	tFalse  = 2
	tI8     = 3
	tI16    = 4
	tI32    = 5
	tI64    = 6
	tDouble = 7
	tBinary = 8
	tList   = 9
	tSet    = 10
	tMap    = 11
	tStruct = 12
)

// thriftWalker reads thrift compact protocol from b, refusing any length or
// count that the remaining bytes cannot hold.
type thriftWalker struct {
	b   []byte
	pos int
}

func (w *thriftWalker) byte() (byte, error) {
	if w.pos >= len(w.b) {
		return 0, io.ErrUnexpectedEOF
	}
	c := w.b[w.pos]
	w.pos++
	return c, nil
}

func (w *thriftWalker) uvarint() (uint64, error) {
	v, n := binary.Uvarint(w.b[w.pos:])
	if n <= 0 {
		return 0, errors.New("bad varint")
	}
	w.pos += n
	return v, nil
}

// i32 reads a zigzag varint that must fit in an int32.
func (w *thriftWalker) i32() (int32, error) {
	u, err := w.uvarint()
	if err != nil {
		return 0, err
	}
	v := int64(u>>1) ^ -int64(u&1)
	if v != int64(int32(v)) {
		return 0, fmt.Errorf("i32 value %d out of range", v)
	}
	return int32(v), nil
}

// count reads a length or element count, each unit taking at least one of
// the remaining bytes.
func (w *thriftWalker) count(n uint64) (int, error) {
	if n > uint64(len(w.b)-w.pos) {
		return 0, fmt.Errorf("length %d overruns the %d bytes left", n, len(w.b)-w.pos)
	}
	return int(n), nil
}

// length reads a varint length or element count (see count).
func (w *thriftWalker) length() (int, error) {
	u, err := w.uvarint()
	if err != nil {
		return 0, err
	}
	return w.count(u)
}

// fields calls fn for each field of a struct; fn returns false to have the
// field's value skipped.
func (w *thriftWalker) fields(depth int, fn func(id int16, typ byte) (bool, error)) error {
	if depth > maxThriftDepth {
		return errors.New("thrift nesting too deep")
	}
	var id int16
	for {
		c, err := w.byte()
		if err != nil {
			return err
		}
		if c == 0 {
			return nil
		}
		typ := c & 0x0f
		if d := c >> 4; d != 0 {
			id += int16(d)
		} else {
			v, err := w.i32()
			if err != nil {
				return err
			}
			id = int16(v)
		}
		handled := false
		if fn != nil {
			if handled, err = fn(id, typ); err != nil {
				return err
			}
		}
		if !handled {
			if err := w.skip(typ, depth+1); err != nil {
				return err
			}
		}
	}
}

// skip steps over one value of the given type.
func (w *thriftWalker) skip(typ byte, depth int) error {
	if depth > maxThriftDepth {
		return errors.New("thrift nesting too deep")
	}
	switch typ {
	case tTrue, tFalse:
		return nil // in a field header; list elements of type bool take a byte (see skipElem)
	case tI8:
		_, err := w.byte()
		return err
	case tI16, tI32, tI64:
		_, err := w.uvarint()
		return err
	case tDouble:
		if len(w.b)-w.pos < 8 {
			return io.ErrUnexpectedEOF
		}
		w.pos += 8
		return nil
	case tBinary:
		n, err := w.length()
		if err != nil {
			return err
		}
		w.pos += n
		return nil
	case tList, tSet:
		c, err := w.byte()
		if err != nil {
			return err
		}
		size, elem := uint64(c>>4), c&0x0f
		if size == 15 {
			if size, err = w.uvarint(); err != nil {
				return err
			}
		}
		n, err := w.count(size)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := w.skipElem(elem, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tMap:
		n, err := w.length()
		if err != nil || n == 0 {
			return err
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := w.skipElem(kv>>4, depth+1); err != nil {
				return err
			}
			if err := w.skipElem(kv&0x0f, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tStruct:
		return w.fields(depth, nil)
	default:
		return fmt.Errorf("unknown thrift type %d", typ)
	}
}

// skipElem steps over a list, set or map element: booleans there take a byte.
func (w *thriftWalker) skipElem(typ byte, depth int) error {
	if typ == tTrue || typ == tFalse {
		_, err := w.byte()
		return err
	}
	return w.skip(typ, depth)
}
