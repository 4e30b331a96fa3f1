package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

const sniffBytes = 64 << 10

// Formats Convert understands.
const (
	FormatCSV     = "csv"
	FormatTSV     = "tsv"
	FormatJSON    = "json"
	FormatNDJSON  = "ndjson"
	FormatParquet = "parquet"
	FormatArrow   = "arrow"
)

// Encodings Convert reports and accepts.
const (
	EncUTF8        = "utf-8"
	EncUTF16LE     = "utf-16le"
	EncUTF16BE     = "utf-16be"
	EncLatin1      = "latin-1"
	EncWindows1252 = "windows-1252"
)

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	m, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:m], nil
}

func compressionOf(head []byte) string {
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return "gzip"
	case len(head) >= 4 && bytes.Equal(head[:4], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd"
	}
	return ""
}

// limitWriter refuses to write past max bytes.
type limitWriter struct {
	w   io.Writer
	n   int64
	max int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n+int64(len(p)) > l.max {
		return 0, fmt.Errorf("%w: decompressed data exceeds the limit of %d bytes (--max-decompressed-bytes, or VDS_MAX_DECOMPRESSED_BYTES under vds up)", ErrTooLarge, l.max)
	}
	n, err := l.w.Write(p)
	l.n += int64(n)
	return n, err
}

// decompress streams src (gzip or zstd) into dst, refusing to write more than max bytes.
func decompress(src, dst, kind string, max int64) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	var r io.Reader
	switch kind {
	case "gzip":
		zr, err := gzip.NewReader(bufio.NewReaderSize(in, 1<<20))
		if err != nil {
			return 0, fmt.Errorf("%w: gzip: %v", ErrCorrupt, err)
		}
		defer zr.Close()
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bufio.NewReaderSize(in, 1<<20), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(128<<20), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return 0, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
		}
		defer zr.Close()
		r = zr
	default:
		return 0, fmt.Errorf("unknown compression %q", kind)
	}
	lw := &limitWriter{w: out, max: max}
	bw := bufio.NewWriterSize(lw, 1<<20)
	if _, err := io.Copy(bw, r); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return 0, err
		}
		return 0, fmt.Errorf("%w: %s: %v", ErrCorrupt, kind, err)
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	return lw.n, out.Close()
}

// sniffEncoding guesses the text encoding from the first bytes: a BOM, or the NUL pattern of UTF-16.
// It returns "" when the head looks like 8-bit text (UTF-8 or a single-byte code page).
func sniffEncoding(head []byte) (enc string, bom bool) {
	switch {
	case bytes.HasPrefix(head, []byte{0xef, 0xbb, 0xbf}):
		return EncUTF8, true
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}):
		return EncUTF16LE, true
	case bytes.HasPrefix(head, []byte{0xfe, 0xff}):
		return EncUTF16BE, true
	}
	n := min(len(head), 4096) &^ 1
	if n < 4 {
		return "", false
	}
	var even, odd int
	for i := 0; i < n; i++ {
		if head[i] == 0 {
			if i%2 == 0 {
				even++
			} else {
				odd++
			}
		}
	}
	half := n / 2
	switch {
	case odd > half*6/10 && even < half/10:
		return EncUTF16LE, false
	case even > half*6/10 && odd < half/10:
		return EncUTF16BE, false
	}
	return "", false
}

// looksBinary reports whether 8-bit text head has NULs or many control characters.
func looksBinary(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return true
	}
	ctl := 0
	for _, b := range head {
		if b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f' && b != 0x1a {
			ctl++
		}
	}
	return ctl*100 > len(head)
}

// validUTF8 streams the whole file and reports whether it is valid UTF-8.
func validUTF8(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	carry := 0
	for {
		n, err := f.Read(buf[carry:])
		n += carry
		carry = 0
		if n > 0 {
			end := n
			// Hold back an incomplete rune at the end of the chunk.
			if err == nil {
				for i := n - 1; i >= 0 && i >= n-utf8.UTFMax; i-- {
					if utf8.RuneStart(buf[i]) {
						if !utf8.FullRune(buf[i:n]) {
							end = i
						}
						break
					}
				}
			}
			if !utf8.Valid(buf[:end]) {
				return false, nil
			}
			carry = copy(buf, buf[end:n])
		}
		if err == io.EOF {
			return carry == 0, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// c1Counter counts bytes 0x80-0x9F, which differ between Latin-1 and Windows-1252.
type c1Counter struct {
	r io.Reader
	n int64
}

func (c *c1Counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for _, b := range p[:n] {
		if b >= 0x80 && b <= 0x9f {
			c.n++
		}
	}
	return n, err
}

// transcode streams src in encoding enc into UTF-8 at dst. For single-byte text it returns
// EncWindows1252 when bytes 0x80-0x9F were seen (where that code page has letters), else EncLatin1.
func transcode(src, dst, enc string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return "", err
	}
	defer out.Close()
	var dec *encoding.Decoder
	var counter *c1Counter
	var r io.Reader = bufio.NewReaderSize(in, 1<<20)
	switch enc {
	case EncUTF16LE:
		dec = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
	case EncUTF16BE:
		dec = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()
	case EncLatin1, EncWindows1252:
		counter = &c1Counter{r: r}
		r = counter
		dec = charmap.Windows1252.NewDecoder()
		if enc == EncLatin1 {
			dec = charmap.ISO8859_1.NewDecoder()
		}
	case EncUTF8:
		// Only the BOM is dropped.
		dec = unicode.UTF8BOM.NewDecoder()
	default:
		return "", fmt.Errorf("%w: unsupported encoding %q (use utf-8, utf-16le, utf-16be, latin-1, windows-1252)", ErrInvalidOption, enc)
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	if _, err := io.Copy(bw, transform.NewReader(r, dec)); err != nil {
		return "", fmt.Errorf("%w: decode %s: %v", ErrCorrupt, enc, err)
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	if counter != nil && counter.n > 0 && enc == EncLatin1 {
		enc = EncWindows1252
	}
	return enc, out.Close()
}

// textFormat guesses JSON array, NDJSON or delimited text from UTF-8 head bytes.
func textFormat(head []byte) string {
	t := bytes.TrimLeft(head, " \t\r\n\ufeff")
	t = bytes.TrimPrefix(t, []byte{0xef, 0xbb, 0xbf})
	t = bytes.TrimLeft(t, " \t\r\n")
	if len(t) == 0 {
		return ""
	}
	switch t[0] {
	case '[':
		return FormatJSON
	case '{':
		return FormatNDJSON
	}
	return FormatCSV
}
