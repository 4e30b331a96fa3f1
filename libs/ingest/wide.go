package ingest

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/vdsproject/vds/libs/duck"
)

// Very wide delimited text. DuckDB holds every column of a row batch as a vector of 2,048
// values (32 KiB for text), and its CSV sniffer, reader and the statements after them keep
// several such batches per thread, so the memory a file needs grows with its columns whatever
// its rows: measured with 2 threads and 5 rows, 2,000 columns convert within 384MB (peak RSS
// 221-253 MB), 2,500 too (256-288 MB), 3,000 and 4,000 run out of memory while reading, 10,000
// while sniffing the dialect (with one candidate dialect instead of all of them, while reading),
// 20,000 while sniffing even with one candidate; with 1GB, 6,000 columns convert (440-582 MB) and
// 8,000 run out. Such a file would fail only after the sniff and reads, with DuckDB's
// out-of-memory error; maxColumns refuses it first, from the header line alone, naming the limit.

// memoryPerColumn is the DuckDB memory a delimited column is allowed for: 384MB / 180 KiB =
// 2,083 columns (the 2,000-column corpus file converts), 1GB / 180 KiB = 5,425.
const memoryPerColumn = 180 << 10

// maxColumns is the most columns of delimited text Convert reads with the memory limit
// (Options.MemoryLimit, or duck.DefaultMemoryLimit, as checkWidth gives it); 0 when the limit is not a size (a
// percentage of the machine's memory), which sets no maximum.
func maxColumns(memoryLimit string) int {
	b, ok := parseByteSize(memoryLimit)
	if !ok {
		return 0
	}
	return int(b / memoryPerColumn)
}

// wideCandidates are the delimiters firstLineFields counts when none is given.
var wideCandidates = []byte{',', '\t', ';', '|'}

// firstLineFields is the number of fields on the first line of path (at most maxLine bytes are
// read): with delim when given (a single byte), else with the candidate delimiter that occurs
// most often outside double quotes. It is a cheap upper estimate for the refusal of files wider
// than maxColumns, not the parse: 0 when it cannot tell.
func firstLineFields(path, delim string, maxLine int64) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	cands := wideCandidates
	if delim != "" {
		if len(delim) != 1 {
			return 0
		}
		cands = []byte(delim)
	}
	var counts [256]int
	quoted := false
	r := bufio.NewReaderSize(io.LimitReader(f, maxLine), 64<<10)
	for {
		b, err := r.ReadByte()
		if err != nil || (b == '\n' && !quoted) {
			break
		}
		if b == '"' {
			quoted = !quoted
		} else if !quoted {
			counts[b]++
		}
	}
	n := 0
	for _, c := range cands {
		n = max(n, counts[c])
	}
	return n + 1
}

// checkWidth refuses delimited text whose first line has more fields than maxColumns allows,
// before DuckDB sniffs or reads it.
func (j *job) checkWidth(delim string) error {
	mem := cmp.Or(j.opts.MemoryLimit, duck.DefaultMemoryLimit)
	limit := maxColumns(mem)
	if limit == 0 {
		return nil
	}
	n := firstLineFields(j.src, delim, j.maxLineBytes())
	if n <= limit {
		return nil
	}
	return fmt.Errorf("%w: the first line has %s fields, more than the %s columns the ingest limit of %s allows "+
		"(reading delimited text takes about %d KiB of memory per column whatever the rows); split the file into files of at most %s columns "+
		"(or transpose it, if its columns are records), or raise --duckdb-memory (VDS_DUCKDB_MEMORY under vds up)",
		ErrTooWide, group(n), group(limit), mem, memoryPerColumn>>10, group(limit))
}

// group writes n with thousands separators: 20000 → "20,000".
func group(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
