// Package ingest converts an uploaded file into a typed Parquet file with DuckDB, streaming and with
// bounded memory.
//
// Convert detects compression (gzip, zstd), format (Parquet, Arrow IPC file or stream, JSON array,
// NDJSON, delimited text) and text encoding (UTF-8 with or without BOM, UTF-16 LE/BE, Latin-1 /
// Windows-1252), then lets DuckDB sniff the CSV dialect and read every cell as text. The typing
// is done in SQL: placeholders become missing, decimal commas, thousands separators, currency and
// percent signs are parsed, leading-zero codes stay text, booleans and timestamps in several
// spellings are recognised. A column gets a type only when (nearly) every non-missing cell
// converts; each rule applied is reported with the number of cells it changed.
package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/duck"
)

// Errors Convert wraps; the message names the problem.
var (
	// ErrEmpty: the file (or its decompressed content) has no bytes, or no columns.
	ErrEmpty = errors.New("empty file")
	// ErrUnsupported: binary data or a container that is not supported (zip, xlsx).
	ErrUnsupported = errors.New("unsupported file")
	// ErrTooLarge: decompressed data exceeds Options.MaxDecompressedBytes (or a line, or the
	// columns, exceed what the limits allow; ErrTooWide is one of these).
	ErrTooLarge = errors.New("file too large")
	// ErrTooWide: more columns than the memory limit allows; errors.Is(err, ErrTooLarge) holds too.
	ErrTooWide error = tooWide{}
	// ErrCorrupt: the file cannot be decoded or parsed.
	ErrCorrupt = errors.New("unreadable file")
	// ErrInvalidOption: an Options value is not understood.
	ErrInvalidOption = errors.New("invalid read option")
)

// tooWide is ErrTooWide: a file with too many columns is too large for the limits, but its message
// says wide (a 2 MB file of 6,000 columns is not large).
type tooWide struct{}

func (tooWide) Error() string        { return "file too wide" }
func (tooWide) Is(target error) bool { return target == ErrTooLarge }

// DefaultMaxDecompressedBytes applies when Options.MaxDecompressedBytes is 0.
const DefaultMaxDecompressedBytes = 16 << 30

// Options override detection and bound resources. The zero value detects everything.
type Options struct {
	// Format: csv, tsv, json, ndjson, parquet, arrow; empty means detect.
	Format string
	// Delimiter for delimited text (one character, or "tab"); empty means detect.
	Delimiter string
	// Encoding: utf-8, utf-16, utf-16le, utf-16be, latin-1, windows-1252; empty means detect.
	Encoding string
	// Header: whether the first row is a header; nil means detect.
	Header *bool
	// NullValues are extra cell texts to read as missing (exact match).
	NullValues []string
	// MaxDecompressedBytes refuses gzip/zstd input that inflates past this; 0 means 16 GiB.
	MaxDecompressedBytes int64
	// MaxLineBytes is the longest line (or quoted cell) delimited text may have; 0 means
	// DefaultMaxLineBytes. A longer one fails with ErrTooLarge naming the line.
	MaxLineBytes int64
	// Threads for DuckDB; 0 means the number of CPUs.
	Threads int
	// MemoryLimit for DuckDB, e.g. "1GB"; empty means duck.DefaultMemoryLimit.
	MemoryLimit string
	// Progress, when set, is called with a fraction in [0,1] and a short message.
	Progress func(frac float64, msg string)

	// For tests: the rows the type guess samples (0 = typeSampleRows), and whether delimited text
	// skips the sample path and always checks every cell first.
	sampleRows int
	fullCheck  bool
	// copyMemory, when set, replaces the memory limit copyMemoryLimit sizes for the sample
	// path's conversion; onCopyRetry is called when that conversion ran out of memory and runs
	// again with the configured limit.
	copyMemory  string
	onCopyRetry func(error)
	// scanStats makes describe compute every column's statistics by scanning the output instead
	// of reading what it can from the Parquet metadata.
	scanStats bool
}

// Result describes the Parquet file written.
type Result struct {
	Rules    *datasetsv1.ReadRules
	Columns  []*datasetsv1.Column
	RowCount int64
	Warnings []string
}

type job struct {
	ctx      context.Context
	opts     Options
	src      string // the file DuckDB reads (maybe decompressed / transcoded)
	dst      string
	tmpDir   string
	rules    *datasetsv1.ReadRules
	warnings []string
	conn     *duck.Conn
	// Delimited text with a header: the plain parse of its first lines, the unnamed columns after
	// the header's last name, and the malformed rows skipped (see header.go).
	layout      headLayout
	unnamedTail []int
	droppedRows int64
}

func (j *job) progress(f float64, msg string) {
	if j.opts.Progress != nil {
		j.opts.Progress(f, msg)
	}
}

func (j *job) warn(format string, args ...any) {
	j.warnings = append(j.warnings, fmt.Sprintf(format, args...))
}

// Convert reads srcPath and writes a typed, zstd-compressed Parquet file at dstParquetPath. The
// destination appears only when the conversion succeeded (it is written under a temporary name in
// the same folder, then renamed). Temporary files go to a private folder beside the destination
// and are removed before Convert returns.
func Convert(ctx context.Context, srcPath, dstParquetPath string, opts Options) (*Result, error) {
	st, err := os.Stat(srcPath)
	if err != nil {
		return nil, fmt.Errorf("open source: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%w: source is a directory", ErrUnsupported)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("%w: the file has 0 bytes", ErrEmpty)
	}
	tmpDir, err := os.MkdirTemp(filepath.Dir(dstParquetPath), ".ingest-*")
	if err != nil {
		return nil, fmt.Errorf("temporary folder: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	j := &job{
		ctx: ctx, opts: opts, src: srcPath, dst: dstParquetPath, tmpDir: tmpDir,
		rules: &datasetsv1.ReadRules{},
	}
	res, err := j.run()
	if j.conn != nil {
		j.conn.Close()
	}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w: %v", ctx.Err(), err)
		}
		return nil, err
	}
	return res, nil
}

func (j *job) run() (*Result, error) {
	j.progress(0, "detecting format")
	head, err := readHead(j.src, sniffBytes)
	if err != nil {
		return nil, err
	}
	if c := compressionOf(head); c != "" {
		max := j.opts.MaxDecompressedBytes
		if max <= 0 {
			max = DefaultMaxDecompressedBytes
		}
		out := filepath.Join(j.tmpDir, "decompressed")
		n, err := decompress(j.src, out, c, max)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: the %s stream decompresses to 0 bytes", ErrEmpty, c)
		}
		j.rules.Compression = c
		j.src = out
		if head, err = readHead(j.src, sniffBytes); err != nil {
			return nil, err
		}
		if compressionOf(head) != "" {
			return nil, fmt.Errorf("%w: nested compression (%s inside %s)", ErrUnsupported, compressionOf(head), c)
		}
	}
	j.progress(0.05, "detecting format")
	format, err := j.detectFormat(head)
	if err != nil {
		return nil, err
	}
	j.rules.Format = format
	switch format {
	case FormatParquet, FormatArrow:
	default:
		if err := j.prepareText(head); err != nil {
			return nil, err
		}
		if j.rules.Format == FormatCSV || j.rules.Format == FormatTSV {
			if err := j.checkNotBlank(); err != nil {
				return nil, err
			}
		}
	}
	if err := j.open(); err != nil {
		return nil, err
	}
	var cols []*datasetsv1.Column
	switch j.rules.Format {
	case FormatParquet, FormatArrow, FormatJSON, FormatNDJSON:
		cols, err = j.copyTyped()
	default:
		cols, err = j.delimited()
	}
	if err != nil {
		return nil, err
	}
	j.progress(0.9, "computing column statistics")
	rows, err := j.describe(cols)
	if err != nil {
		return nil, err
	}
	if err := j.reportUnnamedTail(cols, rows); err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("%w: no columns", ErrEmpty)
	}
	if rows == 0 {
		// A header without data is refused here, not later by a model that has nothing to learn from.
		return nil, fmt.Errorf("%w: no rows: the file has %d column(s) (%s) but no data rows", ErrEmpty, len(cols), columnList(cols, 5))
	}
	if err := j.conn.Close(); err != nil {
		return nil, err
	}
	j.conn = nil
	if err := os.Rename(j.tmpParquet(), j.dst); err != nil {
		return nil, fmt.Errorf("move parquet into place: %w", err)
	}
	j.progress(1, "done")
	return &Result{Rules: j.rules, Columns: cols, RowCount: rows, Warnings: j.warnings}, nil
}

func columnList(cols []*datasetsv1.Column, max int) string {
	var names []string
	for i, c := range cols {
		if i == max {
			names = append(names, fmt.Sprintf("and %d more", len(cols)-max))
			break
		}
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

func (j *job) tmpParquet() string { return filepath.Join(j.tmpDir, "out.parquet") }

func (j *job) detectFormat(head []byte) (string, error) {
	want := strings.ToLower(strings.TrimSpace(j.opts.Format))
	switch want {
	case "", FormatCSV, FormatTSV, FormatJSON, FormatNDJSON, FormatParquet, FormatArrow:
	case "jsonl":
		want = FormatNDJSON
	case "txt", "text":
		want = FormatCSV
	default:
		return "", fmt.Errorf("%w: format %q (use csv, tsv, json, ndjson, parquet, arrow)", ErrInvalidOption, j.opts.Format)
	}
	switch {
	case bytes4(head, "PAR1"):
		if want != "" && want != FormatParquet {
			return "", fmt.Errorf("%w: the file is Parquet, not %s", ErrInvalidOption, want)
		}
		return FormatParquet, nil
	case len(head) >= 6 && string(head[:6]) == "ARROW1", len(head) >= 8 && head[0] == 0xff && head[1] == 0xff && head[2] == 0xff && head[3] == 0xff:
		if want != "" && want != FormatArrow {
			return "", fmt.Errorf("%w: the file is Arrow IPC, not %s", ErrInvalidOption, want)
		}
		return FormatArrow, nil
	case bytes4(head, "PK\x03\x04"):
		return "", fmt.Errorf("%w: ZIP archives (including .xlsx spreadsheets) are not supported; upload CSV, JSON, Parquet or Arrow", ErrUnsupported)
	}
	if want == FormatParquet || want == FormatArrow {
		return "", fmt.Errorf("%w: format %s was requested but the file does not start with the %s magic bytes", ErrCorrupt, want, want)
	}
	return want, nil // "" = decide after decoding the text
}

func bytes4(b []byte, magic string) bool {
	return len(b) >= len(magic) && string(b[:len(magic)]) == magic
}

// prepareText settles the encoding (transcoding to UTF-8 when needed) and the text format.
func (j *job) prepareText(head []byte) error {
	enc, bom := sniffEncoding(head)
	want := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(j.opts.Encoding), "_", "-"))
	switch want {
	case "":
	case "utf8", "utf-8":
		want = EncUTF8
	case "utf-16", "utf16":
		want = enc
		if want != EncUTF16BE {
			want = EncUTF16LE
		}
	case "utf-16le", "utf-16be":
	case "latin-1", "latin1", "iso-8859-1", "iso8859-1":
		want = EncLatin1
	case "windows-1252", "cp1252":
		want = EncWindows1252
	default:
		return fmt.Errorf("%w: encoding %q (use utf-8, utf-16, latin-1, windows-1252)", ErrInvalidOption, j.opts.Encoding)
	}
	if want != "" {
		enc = want
	}
	if enc == "" || (enc == EncUTF8 && !bom) {
		if looksBinary(head) {
			return fmt.Errorf("%w: binary data: not delimited text, JSON, Parquet or Arrow", ErrUnsupported)
		}
		enc = EncUTF8
		if want == "" {
			ok, err := validUTF8(j.src)
			if err != nil {
				return err
			}
			if !ok {
				enc = EncLatin1
			}
		}
	}
	if enc != EncUTF8 || bom {
		out := filepath.Join(j.tmpDir, "utf8.txt")
		got, err := transcode(j.src, out, enc)
		if err != nil {
			return err
		}
		enc = got
		j.src = out
		if head, err = readHead(j.src, sniffBytes); err != nil {
			return err
		}
		if len(head) == 0 {
			return fmt.Errorf("%w: no text after decoding %s", ErrEmpty, enc)
		}
		if bytes.IndexByte(head, 0) >= 0 {
			return fmt.Errorf("%w: binary data: NUL characters after decoding %s", ErrUnsupported, enc)
		}
	}
	j.rules.Encoding = enc
	if j.rules.Format == "" {
		j.rules.Format = textFormat(head)
		if j.rules.Format == "" {
			return fmt.Errorf("%w: the file holds only whitespace", ErrEmpty)
		}
	}
	return nil
}

func (j *job) threads() int {
	if j.opts.Threads > 0 {
		return j.opts.Threads
	}
	return runtime.NumCPU()
}

func (j *job) open() error {
	c, err := j.openDB(j.opts.MemoryLimit, "spill")
	if err != nil {
		return err
	}
	j.conn = c
	return nil
}

// openDB opens a private DuckDB database with the given memory limit that may read the source and
// write in the job's folder (spilling to the folder spill, which it creates), with the typing
// macros, and locks its configuration.
func (j *job) openDB(memoryLimit, spill string) (*duck.Conn, error) {
	spill = filepath.Join(j.tmpDir, spill)
	if err := os.Mkdir(spill, 0o700); err != nil {
		return nil, err
	}
	c, err := duck.Open(j.ctx, duck.Config{
		MemoryLimit: memoryLimit,
		Threads:     j.threads(),
		TempDir:     spill,
		ReadPaths:   []string{j.src},
		Dirs:        []string{j.tmpDir},
	})
	if err != nil {
		return nil, err
	}
	if err := createMacros(j.ctx, c, j.opts.NullValues); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.Lock(j.ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (j *job) exec(q string, args ...any) error {
	return j.conn.Exec(j.ctx, q, args...)
}
