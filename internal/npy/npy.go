// Package npy writes and reads float32 arrays in NumPy's .npy format, so that
// tensors (preprocessed inputs, logits) can be compared with numpy and
// PyTorch directly: np.load("x.npy").
//
// The format is NumPy's NEP 1 ("A Simple File Format for NumPy Arrays",
// numpy/lib/format.py): the magic "\x93NUMPY", a version, a little-endian
// header length, a Python dict literal describing dtype, order and shape,
// padded with spaces and a newline, then the raw data.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

const (
	magic = "\x93NUMPY"
	// align is numpy's ARRAY_ALIGN: the data starts at a multiple of 64.
	align = 64
	// growthDigits is numpy's GROWTH_AXIS_MAX_DIGITS: numpy (since 1.23)
	// leaves room in the header for the first axis to grow to this many
	// digits, so that appending rewrites the header in place.
	growthDigits = 21
	// maxElems bounds what Read allocates from a header: 1<<31 float32s (8 GiB).
	maxElems = 1 << 31
)

// Header returns the bytes numpy 1.24's np.save writes before the data of a
// C-ordered little-endian float32 array of the given shape, version 1.0:
//
//	"\x93NUMPY\x01\x00" <uint16 LE len> "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
//
// then spaces (the growth padding, then alignment) and "\n", so that the
// whole header is a multiple of 64 bytes. As in numpy, an already aligned
// header still gets a full 64 bytes of padding.
func Header(shape []int) ([]byte, error) {
	var d strings.Builder
	d.WriteString("{'descr': '<f4', 'fortran_order': False, 'shape': (")
	for i, n := range shape {
		if n < 0 {
			return nil, fmt.Errorf("npy: negative dimension in shape %v", shape)
		}
		if i > 0 {
			d.WriteString(", ")
		}
		d.WriteString(strconv.Itoa(n))
	}
	if len(shape) == 1 {
		d.WriteString(",") // Python's repr of a 1-tuple
	}
	d.WriteString("), }")
	if len(shape) > 0 {
		d.WriteString(strings.Repeat(" ", max(growthDigits-len(strconv.Itoa(shape[0])), 0)))
	}
	hlen := d.Len() + 1 // the final newline
	pad := align - (len(magic)+2+2+hlen)%align
	if hlen+pad > math.MaxUint16 {
		return nil, fmt.Errorf("npy: header for shape %v too long for format 1.0", shape)
	}
	b := make([]byte, 0, len(magic)+4+hlen+pad)
	b = append(b, magic...)
	b = append(b, 1, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(hlen+pad))
	b = append(b, d.String()...)
	b = append(b, bytes.Repeat([]byte{' '}, pad)...)
	return append(b, '\n'), nil
}

// Write writes data, a C-ordered float32 array of the given shape, as a .npy
// version 1.0 file ('<f4'), byte for byte what np.save writes for it.
// len(data) must be the product of shape (1 for an empty shape, a scalar).
func Write(w io.Writer, shape []int, data []float32) error {
	h, err := Header(shape)
	if err != nil {
		return err
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n != len(data) {
		return fmt.Errorf("npy: shape %v holds %d values, data has %d", shape, n, len(data))
	}
	bw := bufio.NewWriter(w)
	bw.Write(h)
	var buf [4]byte
	for _, v := range data {
		binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
		bw.Write(buf[:])
	}
	return bw.Flush()
}

// Read reads a .npy file (format 1.0, 2.0 or 3.0) holding a C-ordered
// little-endian float32 array ('<f4'), returning its shape and values.
// Other dtypes and Fortran order are errors.
func Read(r io.Reader) (shape []int, data []float32, err error) {
	br := bufio.NewReader(r)
	pre := make([]byte, len(magic)+2)
	if _, err := io.ReadFull(br, pre); err != nil {
		return nil, nil, fmt.Errorf("npy: read magic: %w", err)
	}
	if string(pre[:len(magic)]) != magic {
		return nil, nil, errors.New("npy: not a .npy file (bad magic)")
	}
	var hlen int
	switch major := pre[len(magic)]; major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, nil, fmt.Errorf("npy: read header length: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, nil, fmt.Errorf("npy: read header length: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
		if hlen > 1<<20 {
			return nil, nil, fmt.Errorf("npy: header length %d is implausible", hlen)
		}
	default:
		return nil, nil, fmt.Errorf("npy: unsupported format version %d.%d", major, pre[len(magic)+1])
	}
	h := make([]byte, hlen)
	if _, err := io.ReadFull(br, h); err != nil {
		return nil, nil, fmt.Errorf("npy: read header: %w", err)
	}
	shape, err = parseHeader(string(h))
	if err != nil {
		return nil, nil, err
	}
	n := 1
	for _, d := range shape {
		if d == 0 {
			n = 0
			break
		}
	}
	for _, d := range shape {
		if n != 0 && d > maxElems/n {
			return nil, nil, fmt.Errorf("npy: shape %v is too large", shape)
		}
		n *= d
	}
	// Grow with the data actually present rather than trusting the header.
	raw, err := io.ReadAll(io.LimitReader(br, 4*int64(n)))
	if err != nil {
		return nil, nil, fmt.Errorf("npy: read %d values: %w", n, err)
	}
	if len(raw) != 4*n {
		return nil, nil, fmt.Errorf("npy: read %d values: %w", n, io.ErrUnexpectedEOF)
	}
	data = make([]float32, n)
	for i := range data {
		data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return shape, data, nil
}

// parseHeader reads the dict literal of a .npy header. It accepts the
// three keys in any order, as numpy does, with Python literal spacing.
func parseHeader(h string) ([]int, error) {
	s := strings.TrimSpace(h)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, fmt.Errorf("npy: header %q is not a dict", h)
	}
	s = s[1 : len(s)-1]
	var (
		shape                 []int
		haveDescr, haveOrder  bool
		haveShape, badFortran bool
	)
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), ",")) {
		key, rest, ok := cutQuoted(s)
		if !ok {
			return nil, fmt.Errorf("npy: bad header key in %q", h)
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ":") {
			return nil, fmt.Errorf("npy: missing ':' after %q in header", key)
		}
		rest = strings.TrimSpace(rest[1:])
		switch key {
		case "descr":
			v, r, ok := cutQuoted(rest)
			if !ok {
				return nil, fmt.Errorf("npy: bad descr in header %q", h)
			}
			if v != "<f4" {
				return nil, fmt.Errorf("npy: dtype %q not supported (want '<f4', little-endian float32)", v)
			}
			haveDescr, s = true, r
		case "fortran_order":
			switch {
			case strings.HasPrefix(rest, "False"):
				s = rest[len("False"):]
			case strings.HasPrefix(rest, "True"):
				badFortran, s = true, rest[len("True"):]
			default:
				return nil, fmt.Errorf("npy: bad fortran_order in header %q", h)
			}
			haveOrder = true
		case "shape":
			if !strings.HasPrefix(rest, "(") {
				return nil, fmt.Errorf("npy: bad shape in header %q", h)
			}
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return nil, fmt.Errorf("npy: bad shape in header %q", h)
			}
			shape = []int{}
			for _, f := range strings.Split(rest[1:end], ",") {
				f = strings.TrimSpace(f)
				if f == "" {
					continue
				}
				d, err := strconv.Atoi(strings.TrimSuffix(f, "L"))
				if err != nil || d < 0 {
					return nil, fmt.Errorf("npy: bad dimension %q in header", f)
				}
				shape = append(shape, d)
			}
			haveShape, s = true, rest[end+1:]
		default:
			return nil, fmt.Errorf("npy: unexpected key %q in header", key)
		}
	}
	if !haveDescr || !haveOrder || !haveShape {
		return nil, fmt.Errorf("npy: header %q lacks descr, fortran_order or shape", h)
	}
	if badFortran {
		return nil, errors.New("npy: Fortran-ordered arrays are not supported")
	}
	return shape, nil
}

// cutQuoted splits a leading Python string literal ('x' or "x") off s.
func cutQuoted(s string) (val, rest string, ok bool) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", s, false
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", s, false
	}
	return s[1 : 1+end], s[end+2:], true
}
