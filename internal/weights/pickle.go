package weights

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// This file is a minimal, data-only unpickler for the subset of the pickle
// format (protocols 2 to 5, binary opcodes; see CPython Lib/pickletools.py)
// that torch.save emits for state dicts. It never executes anything:
// GLOBAL and STACK_GLOBAL resolve only the names in allowedGlobals, and
// REDUCE, NEWOBJ and BUILD apply Go stand-ins for those names. Any other name
// stops the load at the opcode that names it, before it could be called, the
// way torch.load(weights_only=True) does (torch/_weights_only_unpickler.py).
//
// Pickle values map to Go as: None nil, bool bool, int int64 (*big.Int when
// wider than 64 bits), float float64, str string, bytes []byte, tuple
// pyTuple, list *pyList, dict and OrderedDict *pyDict; allowed globals are
// pyGlobal, and the torch objects are *pyStorage and *pyTensor.

// Pickle opcodes this unpickler handles, by their pickletools names.
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opBinFloat       = 'G'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opBinInt2        = 'M'
	opNone           = 'N'
	opBinPersID      = 'Q'
	opReduce         = 'R'
	opBinString      = 'T'
	opShortBinString = 'U'
	opBinUnicode     = 'X'
	opBinBytes       = 'B'
	opShortBinBytes  = 'C'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opBinGet         = 'h'
	opInst           = 'i'
	opLongBinGet     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opProto          = 0x80
	opNewObj         = 0x81
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opNewTrue        = 0x88
	opNewFalse       = 0x89
	opLong1          = 0x8a
	opLong4          = 0x8b
	opShortBinUni    = 0x8c
	opBinUnicode8    = 0x8d
	opBinBytes8      = 0x8e
	opStackGlobal    = 0x93
	opMemoize        = 0x94
	opFrame          = 0x95
)

// globalKind is what an allowed global stands for.
type globalKind int

const (
	gOrderedDict globalKind = iota
	gRebuildTensor
	gRebuildTensorV2
	gRebuildParameter
	gDevice
	gStorage // a typed storage class, only ever passed as data in a persistent id
)

// allowedGlobals is the whole list of names a pickle may refer to. Storage
// classes map to the safetensors dtype of their elements.
var allowedGlobals = withCUDAStorages(map[string]pyGlobal{
	"collections.OrderedDict":         {kind: gOrderedDict},
	"torch._utils._rebuild_tensor":    {kind: gRebuildTensor},
	"torch._utils._rebuild_tensor_v2": {kind: gRebuildTensorV2},
	"torch._utils._rebuild_parameter": {kind: gRebuildParameter},
	"torch.device":                    {kind: gDevice},
	"torch.FloatStorage":              {kind: gStorage, dtype: "F32"},
	"torch.HalfStorage":               {kind: gStorage, dtype: "F16"},
	"torch.BFloat16Storage":           {kind: gStorage, dtype: "BF16"},
	"torch.DoubleStorage":             {kind: gStorage, dtype: "F64"},
	"torch.LongStorage":               {kind: gStorage, dtype: "I64"},
	"torch.IntStorage":                {kind: gStorage, dtype: "I32"},
	"torch.ShortStorage":              {kind: gStorage, dtype: "I16"},
	"torch.CharStorage":               {kind: gStorage, dtype: "I8"},
	"torch.ByteStorage":               {kind: gStorage, dtype: "U8"},
	"torch.BoolStorage":               {kind: gStorage, dtype: "BOOL"},
})

// withCUDAStorages adds to m the torch.cuda twin of each storage class:
// checkpoints saved from a GPU name those, and their bytes are laid out the
// same.
func withCUDAStorages(m map[string]pyGlobal) map[string]pyGlobal {
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if g := m[name]; g.kind == gStorage {
			m["torch.cuda."+strings.TrimPrefix(name, "torch.")] = g
		}
	}
	return m
}

// pyGlobal is a resolved, allowed global.
type pyGlobal struct {
	kind  globalKind
	dtype string // gStorage: element dtype, as in dtypeSize
	name  string // "module.name"
}

type (
	pyTuple []any
	pyList  struct{ items []any }
)

// pyDict is a dict or OrderedDict: entries in insertion order, keys limited
// to the hashable scalars a checkpoint uses (str, int, float, bool, None).
type pyDict struct {
	keys, vals []any
	index      map[any]int
}

func newDict() *pyDict { return &pyDict{index: map[any]int{}} }

func (d *pyDict) set(k, v any) error {
	switch k.(type) {
	case string, int64, float64, bool, nil:
	default:
		return fmt.Errorf("unsupported dict key type %s", pyTypeName(k))
	}
	if i, ok := d.index[k]; ok {
		d.vals[i] = v
		return nil
	}
	d.index[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

func (d *pyDict) get(k string) (any, bool) {
	i, ok := d.index[k]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

// pyStorage is a storage named by a persistent id: numel elements of dtype
// stored under key, starting base elements into that record (legacy
// storage views; 0 otherwise).
type pyStorage struct {
	dtype string
	key   string
	base  int64
	numel int64
}

// pyTensor is a tensor rebuilt by torch._utils._rebuild_tensor(_v2): a view
// of storage starting offset elements in.
type pyTensor struct {
	storage      *pyStorage
	offset       int64
	size, stride []int64
}

// pyDevice is the result of torch.device(...).
type pyDevice string

// pyTypeName names the Python type of v for error messages.
func pyTypeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case pyGlobal:
		return v.name
	case *pyStorage:
		return "storage"
	case *pyTensor:
		return "tensor"
	case pyDevice:
		return "torch.device"
	}
	return fmt.Sprintf("%T", v)
}

// refusedError reports a pickle that names a global outside the allow-list:
// loading it with Python's pickle would call it.
type refusedError struct{ name string }

func (e *refusedError) Error() string {
	return "refusing to load: the pickle calls " + e.name + ", which a weight file never needs"
}

// errTruncated is wrapped by every read past the end of the pickle.
var errTruncated = errors.New("truncated")

// unpickler decodes one pickle from b[pos:].
type unpickler struct {
	b     []byte
	pos   int
	stack []any
	marks []int // stack heights at each open MARK
	memo  map[uint64]any
	// persistentLoad resolves the argument of BINPERSID; nil refuses it.
	persistentLoad func(pid any) (any, error)
}

// unpickle decodes the pickle at the start of b and returns its value and
// its length in bytes (up to and including STOP). Errors name the byte
// offset of the failing opcode.
func unpickle(b []byte, persistentLoad func(any) (any, error)) (v any, n int, err error) {
	u := &unpickler{b: b, memo: map[uint64]any{}, persistentLoad: persistentLoad}
	for {
		at := u.pos
		v, done, err := u.step()
		if err != nil {
			var re *refusedError
			if errors.As(err, &re) {
				return nil, 0, re
			}
			return nil, 0, fmt.Errorf("pickle byte %d: %w", at, err)
		}
		if done {
			return v, u.pos, nil
		}
	}
}

func (u *unpickler) read(n uint64) ([]byte, error) {
	if n > uint64(len(u.b)-u.pos) {
		return nil, fmt.Errorf("%w: needs %d more bytes, %d left", errTruncated, n, len(u.b)-u.pos)
	}
	s := u.b[u.pos : u.pos+int(n)]
	u.pos += int(n)
	return s, nil
}

func (u *unpickler) readByte() (byte, error) {
	s, err := u.read(1)
	if err != nil {
		return 0, err
	}
	return s[0], nil
}

func (u *unpickler) readU32() (uint32, error) {
	s, err := u.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(s), nil
}

func (u *unpickler) readU64() (uint64, error) {
	s, err := u.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(s), nil
}

// readLine returns the bytes up to the next '\n' and skips the '\n'.
func (u *unpickler) readLine() (string, error) {
	rest := u.b[u.pos:]
	for i, c := range rest {
		if c == '\n' {
			u.pos += i + 1
			return string(rest[:i]), nil
		}
	}
	return "", fmt.Errorf("%w: unterminated line", errTruncated)
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

// floor is the lowest stack index above the innermost MARK.
func (u *unpickler) floor() int {
	if len(u.marks) == 0 {
		return 0
	}
	return u.marks[len(u.marks)-1]
}

func (u *unpickler) pop() (any, error) {
	if len(u.stack) <= u.floor() {
		return nil, errors.New("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) <= u.floor() {
		return nil, errors.New("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops and returns the items above the innermost MARK, and the MARK.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := make([]any, len(u.stack)-m)
	copy(items, u.stack[m:])
	u.stack = u.stack[:m]
	return items, nil
}

// step runs one opcode; done is set by STOP, with its value.
func (u *unpickler) step() (v any, done bool, err error) {
	op, err := u.readByte()
	if err != nil {
		return nil, false, fmt.Errorf("%w: no STOP opcode", errTruncated)
	}
	switch op {
	case opProto:
		p, err := u.readByte()
		if err != nil {
			return nil, false, err
		}
		if p > 5 {
			return nil, false, fmt.Errorf("unsupported pickle protocol %d", p)
		}
	case opFrame:
		// A frame only groups the opcodes that follow; with the whole
		// pickle in memory there is nothing to buffer.
		n, err := u.readU64()
		if err != nil {
			return nil, false, err
		}
		if n > uint64(len(u.b)-u.pos) {
			return nil, false, fmt.Errorf("%w: frame of %d bytes, %d left", errTruncated, n, len(u.b)-u.pos)
		}
	case opStop:
		v, err := u.pop()
		return v, err == nil, err
	case opMark:
		u.marks = append(u.marks, len(u.stack))
	case opPop:
		if len(u.stack) > u.floor() {
			u.stack = u.stack[:len(u.stack)-1]
		} else if _, err := u.popMark(); err != nil {
			return nil, false, err
		}
	case opPopMark:
		if _, err := u.popMark(); err != nil {
			return nil, false, err
		}
	case opDup:
		t, err := u.top()
		if err != nil {
			return nil, false, err
		}
		u.push(t)

	case opNone:
		u.push(nil)
	case opNewTrue:
		u.push(true)
	case opNewFalse:
		u.push(false)
	case opBinInt:
		x, err := u.readU32()
		if err != nil {
			return nil, false, err
		}
		u.push(int64(int32(x)))
	case opBinInt1:
		x, err := u.readByte()
		if err != nil {
			return nil, false, err
		}
		u.push(int64(x))
	case opBinInt2:
		s, err := u.read(2)
		if err != nil {
			return nil, false, err
		}
		u.push(int64(binary.LittleEndian.Uint16(s)))
	case opLong1, opLong4:
		var n uint64
		if op == opLong1 {
			c, err := u.readByte()
			if err != nil {
				return nil, false, err
			}
			n = uint64(c)
		} else {
			x, err := u.readU32()
			if err != nil {
				return nil, false, err
			}
			if int32(x) < 0 {
				return nil, false, errors.New("LONG4 with a negative length")
			}
			n = uint64(x)
		}
		s, err := u.read(n)
		if err != nil {
			return nil, false, err
		}
		u.push(decodeLong(s))
	case opBinFloat:
		s, err := u.read(8)
		if err != nil {
			return nil, false, err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(s)))

	case opShortBinUni, opShortBinString, opShortBinBytes:
		n, err := u.readByte()
		if err != nil {
			return nil, false, err
		}
		if err := u.pushBytes(op, uint64(n)); err != nil {
			return nil, false, err
		}
	case opBinUnicode, opBinString, opBinBytes:
		n, err := u.readU32()
		if err != nil {
			return nil, false, err
		}
		if op == opBinString && int32(n) < 0 {
			return nil, false, errors.New("BINSTRING with a negative length")
		}
		if err := u.pushBytes(op, uint64(n)); err != nil {
			return nil, false, err
		}
	case opBinUnicode8, opBinBytes8:
		n, err := u.readU64()
		if err != nil {
			return nil, false, err
		}
		if err := u.pushBytes(op, n); err != nil {
			return nil, false, err
		}

	case opEmptyTuple:
		u.push(pyTuple{})
	case opTuple1, opTuple2, opTuple3:
		n := int(op-opTuple1) + 1
		if len(u.stack)-u.floor() < n {
			return nil, false, errors.New("stack underflow")
		}
		t := make(pyTuple, n)
		copy(t, u.stack[len(u.stack)-n:])
		u.stack = u.stack[:len(u.stack)-n]
		u.push(t)
	case opTuple:
		items, err := u.popMark()
		if err != nil {
			return nil, false, err
		}
		u.push(pyTuple(items))
	case opEmptyList:
		u.push(&pyList{})
	case opList:
		items, err := u.popMark()
		if err != nil {
			return nil, false, err
		}
		u.push(&pyList{items: items})
	case opEmptyDict:
		u.push(newDict())
	case opDict:
		items, err := u.popMark()
		if err != nil {
			return nil, false, err
		}
		d := newDict()
		if err := setItems(d, items); err != nil {
			return nil, false, err
		}
		u.push(d)
	case opAppend:
		x, err := u.pop()
		if err != nil {
			return nil, false, err
		}
		if err := u.appendTo([]any{x}); err != nil {
			return nil, false, err
		}
	case opAppends:
		items, err := u.popMark()
		if err != nil {
			return nil, false, err
		}
		if err := u.appendTo(items); err != nil {
			return nil, false, err
		}
	case opSetItem:
		val, err := u.pop()
		if err != nil {
			return nil, false, err
		}
		key, err := u.pop()
		if err != nil {
			return nil, false, err
		}
		if err := u.setItems([]any{key, val}); err != nil {
			return nil, false, err
		}
	case opSetItems:
		items, err := u.popMark()
		if err != nil {
			return nil, false, err
		}
		if err := u.setItems(items); err != nil {
			return nil, false, err
		}

	case opBinPut, opLongBinPut, opMemoize:
		var i uint64
		switch op {
		case opBinPut:
			c, err := u.readByte()
			if err != nil {
				return nil, false, err
			}
			i = uint64(c)
		case opLongBinPut:
			x, err := u.readU32()
			if err != nil {
				return nil, false, err
			}
			i = uint64(x)
		default:
			i = uint64(len(u.memo))
		}
		t, err := u.top()
		if err != nil {
			return nil, false, err
		}
		u.memo[i] = t
	case opBinGet, opLongBinGet:
		var i uint64
		if op == opBinGet {
			c, err := u.readByte()
			if err != nil {
				return nil, false, err
			}
			i = uint64(c)
		} else {
			x, err := u.readU32()
			if err != nil {
				return nil, false, err
			}
			i = uint64(x)
		}
		x, ok := u.memo[i]
		if !ok {
			return nil, false, fmt.Errorf("memo key %d not found", i)
		}
		u.push(x)

	case opGlobal, opInst:
		module, err := u.readLine()
		if err != nil {
			return nil, false, err
		}
		name, err := u.readLine()
		if err != nil {
			return nil, false, err
		}
		g, err := resolveGlobal(module, name)
		if err != nil {
			return nil, false, err
		}
		if op == opInst {
			return nil, false, fmt.Errorf("unsupported opcode INST for %s", g.name)
		}
		u.push(g)
	case opStackGlobal:
		name, err := u.pop()
		if err != nil {
			return nil, false, err
		}
		module, err := u.pop()
		if err != nil {
			return nil, false, err
		}
		ms, ok1 := module.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return nil, false, fmt.Errorf("STACK_GLOBAL needs two str, got %s and %s", pyTypeName(module), pyTypeName(name))
		}
		g, err := resolveGlobal(ms, ns)
		if err != nil {
			return nil, false, err
		}
		u.push(g)
	case opReduce, opNewObj:
		args, err := u.pop()
		if err != nil {
			return nil, false, err
		}
		f, err := u.pop()
		if err != nil {
			return nil, false, err
		}
		g, ok := f.(pyGlobal)
		if !ok {
			return nil, false, fmt.Errorf("cannot call a %s", pyTypeName(f))
		}
		t, ok := args.(pyTuple)
		if !ok {
			return nil, false, fmt.Errorf("%s called with a %s, not a tuple of arguments", g.name, pyTypeName(args))
		}
		if op == opNewObj && g.kind != gOrderedDict && g.kind != gDevice {
			return nil, false, fmt.Errorf("NEWOBJ on %s, which is not a class", g.name)
		}
		r, err := callGlobal(g, t)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", g.name, err)
		}
		u.push(r)
	case opBuild:
		if _, err := u.pop(); err != nil { // the state
			return nil, false, err
		}
		inst, err := u.top()
		if err != nil {
			return nil, false, err
		}
		// torch sets attributes this way: the _metadata of a state dict's
		// OrderedDict, and the Python state of a tensor. Neither holds
		// parameters, so the state is dropped.
		switch inst.(type) {
		case *pyDict, *pyTensor:
		default:
			return nil, false, fmt.Errorf("BUILD on a %s", pyTypeName(inst))
		}
	case opBinPersID:
		pid, err := u.pop()
		if err != nil {
			return nil, false, err
		}
		if u.persistentLoad == nil {
			return nil, false, errors.New("persistent id outside the object pickle")
		}
		x, err := u.persistentLoad(pid)
		if err != nil {
			return nil, false, err
		}
		u.push(x)
	default:
		return nil, false, fmt.Errorf("unsupported pickle opcode 0x%02x", op)
	}
	return nil, false, nil
}

// pushBytes reads n bytes and pushes them as the type op makes: str for the
// unicode and (Python 2) string opcodes, bytes for the bytes opcodes.
func (u *unpickler) pushBytes(op byte, n uint64) error {
	s, err := u.read(n)
	if err != nil {
		return err
	}
	switch op {
	case opShortBinBytes, opBinBytes, opBinBytes8:
		u.push(s)
	default:
		u.push(string(s))
	}
	return nil
}

func (u *unpickler) appendTo(items []any) error {
	t, err := u.top()
	if err != nil {
		return err
	}
	l, ok := t.(*pyList)
	if !ok {
		return fmt.Errorf("APPEND to a %s", pyTypeName(t))
	}
	l.items = append(l.items, items...)
	return nil
}

func (u *unpickler) setItems(items []any) error {
	t, err := u.top()
	if err != nil {
		return err
	}
	d, ok := t.(*pyDict)
	if !ok {
		return fmt.Errorf("SETITEM on a %s", pyTypeName(t))
	}
	return setItems(d, items)
}

func setItems(d *pyDict, kv []any) error {
	if len(kv)%2 != 0 {
		return errors.New("odd number of items for a dict")
	}
	for i := 0; i < len(kv); i += 2 {
		if err := d.set(kv[i], kv[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// decodeLong decodes a little-endian two's-complement integer.
func decodeLong(s []byte) any {
	if len(s) <= 8 {
		var x uint64
		for i := len(s) - 1; i >= 0; i-- {
			x = x<<8 | uint64(s[i])
		}
		if len(s) > 0 && len(s) < 8 && s[len(s)-1]&0x80 != 0 {
			x |= ^uint64(0) << (8 * len(s)) // sign-extend
		}
		return int64(x)
	}
	be := make([]byte, len(s))
	for i, c := range s {
		be[len(s)-1-i] = c
	}
	x := new(big.Int).SetBytes(be)
	if s[len(s)-1]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(s))))
	}
	return x
}

// resolveGlobal returns the allowed global module.name, or a *refusedError.
func resolveGlobal(module, name string) (pyGlobal, error) {
	full := module + "." + name
	g, ok := allowedGlobals[full]
	if !ok {
		return pyGlobal{}, &refusedError{name: printableName(full)}
	}
	g.name = full
	return g, nil
}

// printableName makes an untrusted name fit a one-line error message.
func printableName(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "…"
	}
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// callGlobal applies the Go stand-in for the allowed global g to args.
func callGlobal(g pyGlobal, args pyTuple) (any, error) {
	switch g.kind {
	case gOrderedDict:
		// OrderedDict() or OrderedDict(iterable of pairs).
		d := newDict()
		if len(args) == 0 {
			return d, nil
		}
		if len(args) != 1 {
			return nil, fmt.Errorf("takes at most 1 argument, got %d", len(args))
		}
		var pairs []any
		switch a := args[0].(type) {
		case *pyList:
			pairs = a.items
		case pyTuple:
			pairs = a
		default:
			return nil, fmt.Errorf("cannot build from a %s", pyTypeName(args[0]))
		}
		for _, p := range pairs {
			// Python 3 pickles the items as tuples, Python 2 as lists.
			var kv []any
			switch p := p.(type) {
			case pyTuple:
				kv = p
			case *pyList:
				kv = p.items
			}
			if len(kv) != 2 {
				return nil, errors.New("items must be pairs")
			}
			if err := d.set(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		return d, nil
	case gDevice:
		if len(args) == 0 {
			return nil, errors.New("missing the device type")
		}
		s, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("device type is a %s, not a str", pyTypeName(args[0]))
		}
		return pyDevice(s), nil
	case gRebuildTensor, gRebuildTensorV2:
		// _rebuild_tensor(storage, storage_offset, size, stride) and
		// _rebuild_tensor_v2(..., requires_grad, backward_hooks[, metadata]).
		if len(args) < 4 || (g.kind == gRebuildTensorV2 && len(args) < 6) || len(args) > 7 {
			return nil, fmt.Errorf("unexpected %d arguments", len(args))
		}
		s, ok := args[0].(*pyStorage)
		if !ok {
			return nil, fmt.Errorf("storage is a %s", pyTypeName(args[0]))
		}
		offset, ok := args[1].(int64)
		if !ok || offset < 0 {
			return nil, fmt.Errorf("bad storage offset %s", describe(args[1]))
		}
		size, err := intTuple(args[2])
		if err != nil {
			return nil, fmt.Errorf("size: %w", err)
		}
		stride, err := intTuple(args[3])
		if err != nil {
			return nil, fmt.Errorf("stride: %w", err)
		}
		if len(size) != len(stride) {
			return nil, fmt.Errorf("size %v and stride %v differ in rank", size, stride)
		}
		return &pyTensor{storage: s, offset: offset, size: size, stride: stride}, nil
	case gRebuildParameter:
		// _rebuild_parameter(data, requires_grad, backward_hooks).
		if len(args) != 3 {
			return nil, fmt.Errorf("unexpected %d arguments", len(args))
		}
		t, ok := args[0].(*pyTensor)
		if !ok {
			return nil, fmt.Errorf("data is a %s, not a tensor", pyTypeName(args[0]))
		}
		return t, nil
	}
	return nil, errors.New("not callable")
}

// intTuple converts a tuple of ints.
func intTuple(v any) ([]int64, error) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("a %s, not a tuple", pyTypeName(v))
	}
	s := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok {
			return nil, fmt.Errorf("element %d is a %s, not an int", i, pyTypeName(x))
		}
		s[i] = n
	}
	return s, nil
}

// describe renders a scalar for an error message, or else its type.
func describe(v any) string {
	switch v := v.(type) {
	case int64, bool, float64:
		return fmt.Sprint(v)
	case string:
		return strconv.Quote(printableName(v))
	}
	return "of type " + pyTypeName(v)
}
