package preprocess

import (
	"bytes"
	"encoding/binary"
)

// exifOrientation returns the orientation (1..8) PIL's Image.getexif reports
// for the file: tag 0x0112 of the EXIF block (JPEG APP1, PNG eXIf, WebP EXIF
// chunk, or a TIFF's own first IFD), falling back like Pillow 9.4 to
// tiff:Orientation in the XMP packet. It is 1 when absent or invalid.
func exifOrientation(f *format, b []byte) int {
	var exif, xmp []byte
	switch f {
	case &formatJPEG:
		exif, xmp = jpegMetadata(b)
	case &formatPNG:
		exif, xmp = pngMetadata(b)
	case &formatWebP:
		exif, xmp = webpMetadata(b)
	case &formatTIFF:
		exif = b
	}
	exif = bytes.TrimPrefix(exif, []byte("Exif\x00\x00"))
	if o := tiffOrientation(exif); o != 0 {
		return o
	}
	if o := xmpOrientation(xmp); o != 0 {
		return o
	}
	return 1
}

// jpegMetadata returns the first EXIF and XMP APP1 payloads before the first scan.
func jpegMetadata(b []byte) (exif, xmp []byte) {
	const xmpID = "http://ns.adobe.com/xap/1.0/\x00"
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xff {
			return
		}
		m := b[i+1]
		if m == 0xff { // fill byte
			i++
			continue
		}
		if m == 0xda || m == 0xd9 { // SOS, EOI
			return
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return
		}
		seg := b[i+4 : i+2+n]
		if m == 0xe1 {
			switch {
			case exif == nil && bytes.HasPrefix(seg, []byte("Exif\x00\x00")):
				exif = seg
			case xmp == nil && bytes.HasPrefix(seg, []byte(xmpID)):
				xmp = seg[len(xmpID):]
			}
		}
		i += 2 + n
	}
	return
}

// pngMetadata returns the eXIf chunk and an uncompressed XMP iTXt chunk.
func pngMetadata(b []byte) (exif, xmp []byte) {
	for i := 8; i+8 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		if n < 0 || n > len(b)-i-12 {
			return
		}
		data := b[i+8 : i+8+n]
		switch typ {
		case "eXIf":
			exif = data
		case "iTXt":
			// keyword\0 compression-flag compression-method lang\0 translated\0 text
			if k, rest, ok := bytes.Cut(data, []byte{0}); ok && string(k) == "XML:com.adobe.xmp" && len(rest) > 2 && rest[0] == 0 {
				xmp = rest[2:]
			}
		case "IDAT", "IEND":
			if exif != nil || typ == "IEND" {
				return
			}
		}
		i += 12 + n
	}
	return
}

// webpMetadata returns the EXIF and XMP chunks of an extended WebP file.
func webpMetadata(b []byte) (exif, xmp []byte) {
	for i := 12; i+8 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		if n < 0 || n > len(b)-i-8 {
			return
		}
		switch string(b[i : i+4]) {
		case "EXIF":
			exif = b[i+8 : i+8+n]
		case "XMP ":
			xmp = b[i+8 : i+8+n]
		}
		i += 8 + n + n&1
	}
	return
}

// tiffOrientation reads tag 0x0112 from the first IFD of a TIFF structure;
// 0 if there is none.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int64(bo.Uint32(t[4:]))
	if off+2 > int64(len(t)) {
		return 0
	}
	n := int64(bo.Uint16(t[off:]))
	for i := int64(0); i < n; i++ {
		e := off + 2 + 12*i
		if e+12 > int64(len(t)) {
			break
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		var v int
		switch bo.Uint16(t[e+2:]) {
		case 3: // SHORT
			v = int(bo.Uint16(t[e+8:]))
		case 4: // LONG
			v = int(bo.Uint32(t[e+8:]))
		}
		if v >= 1 && v <= 8 {
			return v
		}
		return 0
	}
	return 0
}

// xmpOrientation finds tiff:Orientation="N" or <tiff:Orientation>N in an XMP
// packet, as Pillow 9.4's getexif does with a regular expression; 0 if none.
func xmpOrientation(x []byte) int {
	key := []byte("tiff:Orientation")
	for {
		i := bytes.Index(x, key)
		if i < 0 {
			return 0
		}
		x = x[i+len(key):]
		switch {
		case len(x) >= 3 && x[0] == '=' && x[1] == '"' && x[2] >= '0' && x[2] <= '9':
			return orientationOrZero(int(x[2] - '0'))
		case len(x) >= 2 && x[0] == '>' && x[1] >= '0' && x[1] <= '9':
			return orientationOrZero(int(x[1] - '0'))
		}
	}
}

func orientationOrZero(v int) int {
	if v >= 1 && v <= 8 {
		return v
	}
	return 0
}

// orient applies EXIF orientation o the way PIL's ImageOps.exif_transpose
// does: 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90° clockwise,
// 7 transverse, 8 rotate 90° counter-clockwise.
func orient(m *RGB8, o int) *RGB8 {
	w, h := m.W, m.H
	if o < 2 || o > 8 {
		return m
	}
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := NewRGB8(ow, oh)
	// src maps an output pixel to its source pixel.
	src := map[int]func(x, y int) (int, int){
		2: func(x, y int) (int, int) { return w - 1 - x, y },
		3: func(x, y int) (int, int) { return w - 1 - x, h - 1 - y },
		4: func(x, y int) (int, int) { return x, h - 1 - y },
		5: func(x, y int) (int, int) { return y, x },
		6: func(x, y int) (int, int) { return y, h - 1 - x },
		7: func(x, y int) (int, int) { return w - 1 - y, h - 1 - x },
		8: func(x, y int) (int, int) { return w - 1 - y, x },
	}[o]
	p := out.Pix
	for y := range oh {
		for x := range ow {
			sx, sy := src(x, y)
			copy(p[:3], m.Pix[3*(sy*w+sx):])
			p = p[3:]
		}
	}
	return out
}
