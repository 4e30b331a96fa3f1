//go:build duckdb_arrow

package ingest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// registerArrow exposes an Arrow IPC file or stream as a DuckDB view, read batch by batch.
func (j *job) registerArrow(name string) (func(), error) {
	f, err := os.Open(j.src)
	if err != nil {
		return nil, err
	}
	var rr array.RecordReader
	head, _ := readHead(j.src, 6)
	if string(head) == "ARROW1" {
		fr, err := ipc.NewFileReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: Arrow IPC file: %v", ErrCorrupt, err)
		}
		rr = &fileRecords{fr: fr, refs: 1}
	} else {
		sr, err := ipc.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: Arrow IPC stream: %v", ErrCorrupt, err)
		}
		rr = sr
	}
	a, err := j.conn.Arrow()
	if err != nil {
		rr.Release()
		f.Close()
		return nil, err
	}
	release, err := a.RegisterView(rr, name)
	if err != nil {
		rr.Release()
		f.Close()
		return nil, fmt.Errorf("%w: Arrow IPC: %v", ErrCorrupt, err)
	}
	return func() {
		release()
		f.Close()
	}, nil
}

// fileRecords reads the batches of an Arrow IPC file in order.
type fileRecords struct {
	fr   *ipc.FileReader
	cur  arrow.RecordBatch
	err  error
	refs int64
}

func (r *fileRecords) Schema() *arrow.Schema { return r.fr.Schema() }

func (r *fileRecords) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil {
		return false
	}
	rec, err := r.fr.Read()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			r.err = err
		}
		return false
	}
	rec.Retain()
	r.cur = rec
	return true
}

func (r *fileRecords) RecordBatch() arrow.RecordBatch { return r.cur }
func (r *fileRecords) Record() arrow.RecordBatch      { return r.cur }
func (r *fileRecords) Err() error                     { return r.err }
func (r *fileRecords) Retain()                        { atomic.AddInt64(&r.refs, 1) }
func (r *fileRecords) Release() {
	if atomic.AddInt64(&r.refs, -1) == 0 {
		if r.cur != nil {
			r.cur.Release()
			r.cur = nil
		}
		r.fr.Close()
	}
}
