package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress draws the stage and a bar on stderr: redrawn in place on a terminal, one line per change
// of stage or message otherwise (logs, CI).
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty, off bool
	name     string
	frac     float64
	msg      string
	start    time.Time
	last     time.Time
	lastLine string
	drawn    bool
}

func newProgress(w io.Writer, off bool) *progress {
	p := &progress{w: w, off: off, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// stage starts a named stage at fraction frac.
func (p *progress) stage(name string, frac float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.name, p.frac, p.msg = name, frac, ""
	p.draw(true)
}

// set moves the bar within the current stage.
func (p *progress) set(frac float64, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if frac < 0 {
		frac = 0
	}
	if frac > 1 {
		frac = 1
	}
	changed := msg != p.msg
	p.frac, p.msg = frac, msg
	p.draw(changed)
}

// note prints a line above the bar.
func (p *progress) note(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.off {
		fmt.Fprintln(p.w, s)
		return
	}
	p.clear()
	fmt.Fprintln(p.w, s)
	p.draw(true)
}

// done clears the bar (on a terminal) and prints the elapsed time once.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.off || p.name == "" {
		return
	}
	p.clear()
	fmt.Fprintf(p.w, "done in %s\n", time.Since(p.start).Round(100*time.Millisecond))
	p.name = ""
}

// abort clears the bar without printing the elapsed time (an interrupted command is not done).
func (p *progress) abort() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	p.name = ""
}

func (p *progress) clear() {
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

func (p *progress) draw(changed bool) {
	if p.off || p.name == "" {
		return
	}
	const width = 24
	n := int(p.frac*width + 0.5)
	line := fmt.Sprintf("[%s%s] %3.0f%% %-14s %s", strings.Repeat("#", n), strings.Repeat("-", width-n), p.frac*100, p.name, p.msg)
	if p.tty {
		if !changed && time.Since(p.last) < 100*time.Millisecond {
			return
		}
		if len(line) > 110 {
			line = line[:110]
		}
		fmt.Fprintf(p.w, "\r\033[K%s %s", line, time.Since(p.start).Round(time.Second))
		p.drawn = true
	} else {
		if (!changed && time.Since(p.last) < 5*time.Second) || line == p.lastLine {
			return
		}
		fmt.Fprintln(p.w, line)
		p.lastLine = line
	}
	p.last = time.Now()
}
