package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/big"
	"os"
	"strings"
)

// A torch.save file holds a pickled object whose tensors refer to storages
// by persistent id; the storage bytes sit outside the pickle. Two layouts
// exist (torch/serialization.py):
//
//   - zip (PyTorch ≥ 1.6): records <prefix>/data.pkl, the pickle, and
//     <prefix>/data/<key>, each storage's raw elements; an optional
//     <prefix>/byteorder says "little" or "big".
//   - legacy: five pickles in a row (the magic number, the protocol
//     version, a sys-info dict, the object, the list of storage keys), then
//     for each listed key an 8-byte little-endian element count and the raw
//     elements.

var (
	zipMagic = []byte("PK\x03\x04")
	// legacyPrefix starts every legacy file: PROTO 2, then LONG1 with the
	// 10 little-endian bytes of legacyMagic.
	legacyPrefix = []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19")
	legacyMagic  = new(big.Int).SetBytes([]byte{0x19, 0x50, 0xa8, 0x6a, 0x20, 0xf9, 0x46, 0x9c, 0xfc, 0x6c})
)

// legacyProtocolVersion is the only version the legacy layout ever had.
const legacyProtocolVersion = 1001

// maxDeflateRatio bounds the size a deflated zip record may claim: deflate
// cannot compress better than about 1032:1, so a larger claim is a lie that
// would only make us allocate.
const maxDeflateRatio = 1100

// dtypeNames gives the torch name of each storage dtype, for messages.
var dtypeNames = map[string]string{
	"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64",
	"I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool",
}

// looksLikePyTorch reports whether b starts like a torch.save file: a zip
// local file header, or the legacy magic-number pickle.
func looksLikePyTorch(b []byte) bool {
	return bytes.HasPrefix(b, zipMagic) || bytes.HasPrefix(b, legacyPrefix)
}

// ReadPyTorch reads a torch.save file (.pth, .pt). See ParsePyTorch.
func ReadPyTorch(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return ParsePyTorch(path, b)
}

// ParsePyTorch decodes b, a state dict written by torch.save in the zip or
// the legacy layout, without executing anything: the pickle may name only
// an allow-list of globals (OrderedDict, the torch._utils tensor and
// parameter rebuilders, torch.device and the typed storage classes), and any
// other name is refused with "refusing to load: the pickle calls
// <module.name>, which a weight file never needs".
//
// The pickled object must be a dict of tensors, or a checkpoint dict whose
// "state_dict" or "model" entry is one. Tensors come in dict order, keeping
// their keys, except that when every key starts with "module." (a
// DataParallel checkpoint) the prefix is removed and recorded in
// Metadata["stripped_prefix"]. float32, float16, bfloat16 and float64
// tensors are converted to float32 as ParseSafetensors does; int64 tensors
// named "…num_batches_tracked" are skipped (their storage is still
// checked), and any other dtype is an error. Tensors must be contiguous (row-major) views of their storage, at
// any storage offset. All errors are *FormatError; path is used only in
// errors and File.Path.
func ParsePyTorch(path string, b []byte) (*File, error) {
	l := &torchLoader{path: path, roots: map[string]*pyStorage{}}
	var obj any
	var err error
	switch {
	case bytes.HasPrefix(b, zipMagic):
		obj, err = l.openZip(b)
	case len(b) > 0 && b[0] == opProto:
		obj, err = l.openLegacy(b)
	default:
		err = errors.New("not a torch.save file: neither a zip archive nor a legacy pickle stream")
	}
	if err != nil {
		return nil, l.formatError(err)
	}
	f, err := l.stateDict(obj)
	if err != nil {
		return nil, l.formatError(err)
	}
	return f, nil
}

// torchLoader holds the state of one ParsePyTorch call.
type torchLoader struct {
	path      string
	roots     map[string]*pyStorage // every storage named by the pickle, whole, by key
	bigEndian bool
	// record returns the raw bytes of the storage root, exactly
	// root.numel elements long, in the file's byte order.
	record func(root *pyStorage) ([]byte, error)
}

// formatError turns err into a *FormatError; a refused global keeps its
// message as is, since it is the whole story.
func (l *torchLoader) formatError(err error) *FormatError {
	var re *refusedError
	if errors.As(err, &re) {
		return &FormatError{Path: l.path, Msg: re.Error()}
	}
	return &FormatError{Path: l.path, Msg: err.Error()}
}

// addStorage registers the storage of a persistent id
// ('storage', storage_type, key, location, numel[, view_metadata]) and
// returns the storage, or the view of it, that the pickle receives.
func (l *torchLoader) addStorage(pid any, legacy bool) (*pyStorage, error) {
	t, ok := pid.(pyTuple)
	want := 5
	if legacy {
		want = 6
	}
	if !ok || len(t) != want || t[0] != "storage" {
		return nil, fmt.Errorf("persistent id is not a %d-tuple ('storage', ...)", want)
	}
	typ, ok := t[1].(pyGlobal)
	if !ok || typ.kind != gStorage {
		return nil, fmt.Errorf("persistent id: storage type is a %s", pyTypeName(t[1]))
	}
	key, ok := t[2].(string)
	if !ok {
		return nil, fmt.Errorf("persistent id: key is a %s, not a str", pyTypeName(t[2]))
	}
	numel, ok := t[4].(int64)
	if !ok || numel < 0 || numel > math.MaxInt64/8 {
		return nil, fmt.Errorf("storage %q: bad element count %s", key, describe(t[4]))
	}
	root, seen := l.roots[key]
	switch {
	case !seen:
		root = &pyStorage{dtype: typ.dtype, key: key, numel: numel}
		l.roots[key] = root
	case root.dtype != typ.dtype || root.numel != numel:
		return nil, fmt.Errorf("storage %q is both %d %s and %d %s elements", key,
			root.numel, dtypeNames[root.dtype], numel, dtypeNames[typ.dtype])
	}
	if !legacy || t[5] == nil {
		return root, nil
	}
	// Legacy storage views (PyTorch < 1.0): (view_key, offset, size) into
	// the root storage.
	v, ok := t[5].(pyTuple)
	if !ok || len(v) != 3 {
		return nil, fmt.Errorf("storage %q: view metadata is a %s, not a 3-tuple", key, pyTypeName(t[5]))
	}
	off, ok1 := v[1].(int64)
	size, ok2 := v[2].(int64)
	if !ok1 || !ok2 || off < 0 || size < 0 || off > numel || size > numel-off {
		return nil, fmt.Errorf("storage %q: view [%s, +%s] out of its %d elements", key, describe(v[1]), describe(v[2]), numel)
	}
	return &pyStorage{dtype: root.dtype, key: key, base: off, numel: size}, nil
}

// openZip reads the zip layout and returns the unpickled object.
func (l *torchLoader) openZip(b []byte) (any, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("bad zip archive: %v", err)
	}
	records := make(map[string]*zip.File, len(zr.File))
	var pkl []*zip.File
	for _, zf := range zr.File {
		if _, dup := records[zf.Name]; dup {
			return nil, fmt.Errorf("zip archive holds record %q twice", printableName(zf.Name))
		}
		records[zf.Name] = zf
		if zf.Name == "data.pkl" || (strings.HasSuffix(zf.Name, "/data.pkl") && strings.Count(zf.Name, "/") == 1) {
			pkl = append(pkl, zf)
		}
	}
	if len(pkl) != 1 {
		return nil, fmt.Errorf("zip archive has %d <prefix>/data.pkl records, want 1: not a torch.save file", len(pkl))
	}
	prefix := strings.TrimSuffix(pkl[0].Name, "data.pkl")

	if zf, ok := records[prefix+"byteorder"]; ok {
		order, err := readZipRecord(zf, zf.UncompressedSize64, b)
		if err != nil {
			return nil, err
		}
		switch string(order) {
		case "little":
		case "big":
			l.bigEndian = true
		default:
			return nil, fmt.Errorf("%s: unknown byte order %q", zf.Name, printableName(string(order)))
		}
	}

	cache := map[string][]byte{} // checked records
	l.record = func(root *pyStorage) ([]byte, error) {
		if raw, ok := cache[root.key]; ok {
			return raw, nil
		}
		zf, ok := records[prefix+"data/"+root.key]
		if !ok {
			return nil, fmt.Errorf("storage %q: no record %sdata/%s in the archive", root.key, prefix, root.key)
		}
		raw, err := readZipRecord(zf, uint64(root.numel*dtypeSize[root.dtype]), b)
		if err != nil {
			return nil, fmt.Errorf("storage %q: %w", root.key, err)
		}
		cache[root.key] = raw
		return raw, nil
	}

	data, err := readZipRecord(pkl[0], pkl[0].UncompressedSize64, b)
	if err != nil {
		return nil, err
	}
	obj, _, err := unpickle(data, func(pid any) (any, error) { return l.addStorage(pid, false) })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl[0].Name, err)
	}
	return obj, nil
}

// readZipRecord returns the content of zf, a record of the archive b, which
// must be want bytes long, after checking its CRC. A stored record (torch.save
// stores them all) is returned in place, aliasing b; a deflated one is
// inflated into a new buffer.
func readZipRecord(zf *zip.File, want uint64, b []byte) ([]byte, error) {
	name := printableName(zf.Name)
	if zf.UncompressedSize64 != want {
		return nil, fmt.Errorf("%s holds %d bytes, want %d", name, zf.UncompressedSize64, want)
	}
	switch zf.Method {
	case zip.Store:
		if zf.CompressedSize64 != want {
			return nil, fmt.Errorf("%s: stored record of %d bytes claims %d", name, zf.CompressedSize64, want)
		}
		off, err := zf.DataOffset()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, zipReadError(err))
		}
		if off < 0 || off > int64(len(b)) || want > uint64(int64(len(b))-off) {
			return nil, fmt.Errorf("truncated: %s needs bytes %d..%d but the file has %d", name, off, uint64(off)+want, len(b))
		}
		data := b[off : off+int64(want)]
		// archive/zip skips the check for a zero CRC too (a record written
		// without one).
		if zf.CRC32 != 0 && crc32.ChecksumIEEE(data) != zf.CRC32 {
			return nil, fmt.Errorf("%s: %v", name, zip.ErrChecksum)
		}
		return data, nil
	case zip.Deflate:
		if want/maxDeflateRatio > zf.CompressedSize64 || zf.CompressedSize64 > uint64(len(b)) || want > math.MaxInt {
			return nil, fmt.Errorf("%s: %d compressed bytes cannot hold %d", name, zf.CompressedSize64, want)
		}
	default:
		return nil, fmt.Errorf("%s: unsupported zip compression method %d", name, zf.Method)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	defer rc.Close()
	buf := make([]byte, want)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, fmt.Errorf("%s: %v", name, zipReadError(err))
	}
	// Read to the end, which is where archive/zip checks the CRC.
	if n, err := rc.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = errors.New("longer than its header says")
		}
		return nil, fmt.Errorf("%s: %v", name, zipReadError(err))
	}
	return buf, nil
}

func zipReadError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("truncated")
	}
	return err
}

// openLegacy reads the legacy layout and returns the unpickled object.
func (l *torchLoader) openLegacy(b []byte) (any, error) {
	off := 0
	next := func(what string, pl func(any) (any, error)) (any, error) {
		v, n, err := unpickle(b[off:], pl)
		if err != nil {
			var re *refusedError
			if errors.As(err, &re) {
				return nil, re
			}
			return nil, fmt.Errorf("%s pickle at byte %d: %w", what, off, err)
		}
		off += n
		return v, nil
	}

	magic, err := next("magic number", nil)
	if err != nil {
		return nil, err
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return nil, fmt.Errorf("not a torch.save file: the first pickle is a %s, not the legacy magic number", pyTypeName(magic))
	}
	version, err := next("protocol version", nil)
	if err != nil {
		return nil, err
	}
	if version != int64(legacyProtocolVersion) {
		return nil, fmt.Errorf("unsupported legacy protocol version %s", describe(version))
	}
	info, err := next("sys info", nil)
	if err != nil {
		return nil, err
	}
	d, ok := info.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("sys info is a %s, not a dict", pyTypeName(info))
	}
	if le, ok := d.get("little_endian"); ok && le == false {
		l.bigEndian = true
	}
	obj, err := next("object", func(pid any) (any, error) { return l.addStorage(pid, true) })
	if err != nil {
		return nil, err
	}
	keysObj, err := next("storage keys", nil)
	if err != nil {
		return nil, err
	}
	keys, ok := keysObj.(*pyList)
	if !ok {
		return nil, fmt.Errorf("storage keys are a %s, not a list", pyTypeName(keysObj))
	}

	records := make(map[string][]byte, len(keys.items))
	for _, k := range keys.items {
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("storage key is a %s, not a str", pyTypeName(k))
		}
		root, ok := l.roots[key]
		if !ok {
			return nil, fmt.Errorf("storage %q is listed but the object has no such storage", key)
		}
		if _, dup := records[key]; dup {
			return nil, fmt.Errorf("storage %q is listed twice", key)
		}
		if len(b)-off < 8 {
			return nil, fmt.Errorf("truncated: storage %q needs its 8-byte length at byte %d but the file has %d", key, off, len(b))
		}
		count := binary.LittleEndian.Uint64(b[off:])
		if l.bigEndian {
			count = binary.BigEndian.Uint64(b[off:])
		}
		off += 8
		if count != uint64(root.numel) {
			return nil, fmt.Errorf("storage %q has %d elements, but the object says %d", key, count, root.numel)
		}
		size := uint64(root.numel * dtypeSize[root.dtype])
		if size > uint64(len(b)-off) {
			return nil, fmt.Errorf("truncated: storage %q needs bytes %d..%d but the file has %d", key, off, uint64(off)+size, len(b))
		}
		records[key] = b[off : off+int(size)]
		off += int(size)
	}
	l.record = func(root *pyStorage) ([]byte, error) {
		raw, ok := records[root.key]
		if !ok {
			return nil, fmt.Errorf("storage %q is missing from the file", root.key)
		}
		return raw, nil
	}
	return obj, nil
}

// stateDict finds the state dict in obj and converts its tensors.
func (l *torchLoader) stateDict(obj any) (*File, error) {
	d, ok := obj.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("the pickle holds a %s, not a state dict", pyTypeName(obj))
	}
	for _, k := range []string{"state_dict", "model"} {
		if v, ok := d.get(k); ok {
			if sd, ok := v.(*pyDict); ok {
				d = sd
				break
			}
		}
	}

	names := make([]string, len(d.keys))
	strip := len(d.keys) > 0
	for i, k := range d.keys {
		name, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("state dict key %s is not a str", describe(k))
		}
		names[i] = name
		strip = strip && strings.HasPrefix(name, "module.")
	}
	f := &File{Path: l.path, Format: FormatPyTorch}
	if strip {
		for i := range names {
			names[i] = names[i][len("module."):]
		}
		f.Metadata = map[string]string{"stripped_prefix": "module."}
	}

	for i, name := range names {
		t, ok := d.vals[i].(*pyTensor)
		if !ok {
			return nil, fmt.Errorf("key %q holds a %s, not a tensor", name, pyTypeName(d.vals[i]))
		}
		if t.storage.dtype == "I64" && strings.HasSuffix(name, "num_batches_tracked") {
			// Skipped, but its storage is still checked like any other.
			if _, err := l.record(l.roots[t.storage.key]); err != nil {
				return nil, fmt.Errorf("tensor %q: %w", name, err)
			}
			continue
		}
		data, err := l.tensorData(t)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		f.Tensors = append(f.Tensors, Tensor{Name: name, Shape: intShape(t.size), Data: data})
	}
	if len(f.Tensors) == 0 {
		return nil, errors.New("the state dict holds no float tensors")
	}
	if dup, ok := f.buildIndex(); !ok {
		return nil, fmt.Errorf("duplicate tensor %q", dup)
	}
	return f, nil
}

// tensorData checks that t is a contiguous view inside its storage and
// decodes its elements.
func (l *torchLoader) tensorData(t *pyTensor) ([]float32, error) {
	s := t.storage
	decode := decoders[s.dtype]
	if decode == nil {
		return nil, fmt.Errorf("unsupported dtype %s", dtypeNames[s.dtype])
	}
	n, ok := numel(t.size, s.numel)
	if !ok || t.offset > s.numel-n {
		return nil, fmt.Errorf("size %v at storage offset %d does not fit its storage of %d elements", t.size, t.offset, s.numel)
	}
	if n > 0 {
		// Row-major strides; a dim of size 1 may have any stride.
		want := int64(1)
		for i := len(t.size) - 1; i >= 0; i-- {
			if t.size[i] != 1 && t.stride[i] != want {
				return nil, fmt.Errorf("not contiguous (size %v, stride %v)", t.size, t.stride)
			}
			want *= t.size[i]
		}
	}
	raw, err := l.record(l.roots[s.key])
	if err != nil {
		return nil, err
	}
	es := dtypeSize[s.dtype]
	begin := (s.base + t.offset) * es
	src := raw[begin : begin+n*es]
	if l.bigEndian {
		src = swapBytes(src, int(es))
	}
	data := make([]float32, n)
	decode(data, src)
	return data, nil
}

// swapBytes returns a copy of b with each size-byte element reversed.
func swapBytes(b []byte, size int) []byte {
	out := make([]byte, len(b))
	for i := 0; i+size <= len(b); i += size {
		for j := range size {
			out[i+j] = b[i+size-1-j]
		}
	}
	return out
}
