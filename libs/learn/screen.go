package learn

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/vdsproject/vds/libs/frame"
)

// minRows is the fewest usable rows AutoML accepts.
const minRows = 10

type targetInfo struct {
	name     string
	task     Task
	classes  []string
	positive string
	rows     []int     // frame rows with a target
	y        []float64 // regression value or binary 0/1
	yc       []int     // class index (classification)
}

var positiveNames = map[string]bool{"yes": true, "y": true, "true": true, "t": true, "1": true, "1.0": true, "positive": true, "pos": true}

func prepareTarget(f *frame.Frame, opts Options) (*targetInfo, []string, error) {
	var warns []string
	if opts.Target == "" {
		return nil, nil, fmt.Errorf("learn: no target column given; set the target to one of: %s", strings.Join(f.Names(), ", "))
	}
	c := f.Col(opts.Target)
	if c == nil {
		return nil, nil, fmt.Errorf("learn: target column %q is not in the dataset; available columns: %s", opts.Target, strings.Join(f.Names(), ", "))
	}
	t := &targetInfo{name: opts.Target}
	labels := make([]string, 0, f.Rows)
	for i := 0; i < f.Rows; i++ {
		s, ok := strAt(c, i)
		if !ok {
			continue
		}
		if l, ok := opts.TargetLabels[s]; ok {
			s = l
		}
		t.rows = append(t.rows, i)
		labels = append(labels, s)
	}
	if miss := f.Rows - len(t.rows); miss > 0 {
		warns = append(warns, fmt.Sprintf("%d of %d rows have no value for target %q and were left out", miss, f.Rows, opts.Target))
	}
	if len(t.rows) < minRows {
		return nil, nil, fmt.Errorf("learn: target %q has only %d rows with a value; at least %d are needed to train and validate a model", opts.Target, len(t.rows), minRows)
	}
	counts := map[string]int{}
	for _, s := range labels {
		counts[s]++
	}
	if len(counts) < 2 {
		return nil, nil, fmt.Errorf("learn: target %q has the single value %q in every usable row; pick a target that varies (at least two classes)", opts.Target, labels[0])
	}
	numeric := c.Kind != frame.String
	integer := numeric
	if numeric {
		for _, r := range t.rows {
			if v := c.F[r]; v != math.Trunc(v) {
				integer = false
				break
			}
		}
	}
	task := opts.Task
	if task == TaskAuto {
		switch {
		case len(counts) == 2:
			task = TaskBinary
		case !numeric:
			task = TaskMulticlass
		case integer && len(counts) <= 20:
			task = TaskMulticlass
		default:
			task = TaskRegression
		}
	}
	switch task {
	case TaskRegression:
		if !numeric {
			return nil, nil, fmt.Errorf("learn: target %q is text, so it cannot be a regression target; use a classification task or a numeric target", opts.Target)
		}
		t.y = make([]float64, len(t.rows))
		for i, r := range t.rows {
			t.y[i] = c.F[r]
		}
	case TaskBinary, TaskMulticlass:
		if task == TaskBinary && len(counts) != 2 {
			advice := "use the multiclass task"
			if numeric && len(counts) > 20 {
				advice = "for a numeric target with this many values use the regression task (or leave the task out to let it be chosen)"
			}
			return nil, nil, fmt.Errorf("learn: target %q has %d classes, not 2; %s", opts.Target, len(counts), advice)
		}
		if task == TaskMulticlass && len(counts) == 2 {
			task = TaskBinary
			warns = append(warns, fmt.Sprintf("target %q has two classes; trained as a binary task", opts.Target))
		}
		if len(counts) > 100 {
			return nil, nil, fmt.Errorf("learn: target %q has %d distinct values, too many classes to classify; choose a regression task for a numeric target or group the classes", opts.Target, len(counts))
		}
		classes := make([]string, 0, len(counts))
		for s := range counts {
			classes = append(classes, s)
		}
		if numeric {
			sort.Slice(classes, func(a, b int) bool {
				x, _ := strconv.ParseFloat(classes[a], 64)
				y, _ := strconv.ParseFloat(classes[b], 64)
				return x < y
			})
		} else {
			sort.Strings(classes)
		}
		if task == TaskBinary {
			a, b := classes[0], classes[1]
			pa, pb := positiveNames[strings.ToLower(a)], positiveNames[strings.ToLower(b)]
			switch {
			case pa && !pb:
				classes = []string{b, a}
			case pb && !pa:
			case counts[a] < counts[b]:
				classes = []string{b, a}
			}
			t.positive = classes[1]
		}
		idx := map[string]int{}
		for i, s := range classes {
			idx[s] = i
		}
		t.classes = classes
		t.yc = make([]int, len(labels))
		t.y = make([]float64, len(labels))
		for i, s := range labels {
			t.yc[i] = idx[s]
			t.y[i] = float64(t.yc[i])
		}
		for _, s := range classes {
			if counts[s] < 2 {
				warns = append(warns, fmt.Sprintf("class %q of target %q has only %d row; its scores are unreliable", s, opts.Target, counts[s]))
			}
		}
	default:
		return nil, nil, fmt.Errorf("learn: unknown task %v", task)
	}
	t.task = task
	return t, warns, nil
}

var idName = regexp.MustCompile(`(?i)(^id$|^id[_\- ]|[_\- ]id$|_id_|uuid|guid)|[a-z](ID|Id)$|^(ID|Id)[A-Z]`)

type colStats struct {
	nonMissing int
	distinct   int
	top        string
	topCount   int
	integer    bool
	levels     map[string]int
}

func statsOf(c *frame.Column, rows []int) colStats {
	st := colStats{levels: map[string]int{}, integer: c.Kind != frame.String}
	for _, r := range rows {
		s, ok := strAt(c, r)
		if !ok {
			continue
		}
		st.nonMissing++
		st.levels[s]++
		if st.integer && c.F[r] != math.Trunc(c.F[r]) {
			st.integer = false
		}
	}
	st.distinct = len(st.levels)
	for s, n := range st.levels {
		if n > st.topCount || (n == st.topCount && s < st.top) {
			st.top, st.topCount = s, n
		}
	}
	return st
}

// screenColumns picks the feature columns and explains every column it leaves out.
func screenColumns(f *frame.Frame, t *targetInfo, exclude []string) ([]string, []Dropped, []string) {
	var feats []string
	var dropped []Dropped
	var warns []string
	ex := map[string]bool{}
	for _, e := range exclude {
		ex[e] = true
	}
	drop := func(col, reason string, warn bool) {
		dropped = append(dropped, Dropped{Column: col, Reason: reason})
		if warn {
			warns = append(warns, fmt.Sprintf("column %q was not used: %s", col, reason))
		}
	}
	n := len(t.rows)
	for _, c := range f.Columns {
		if c.Name == t.name {
			continue
		}
		if ex[c.Name] {
			drop(c.Name, "excluded by request", false)
			continue
		}
		if c.Len() != f.Rows {
			drop(c.Name, "column length does not match the table", true)
			continue
		}
		st := statsOf(c, t.rows)
		switch {
		case st.nonMissing == 0:
			drop(c.Name, "all values are missing", true)
			continue
		case st.distinct == 1:
			reason := fmt.Sprintf("constant: every value is %q", st.top)
			if st.nonMissing < n {
				reason = fmt.Sprintf("constant: every non-missing value is %q (%d missing)", st.top, n-st.nonMissing)
			}
			drop(c.Name, reason, true)
			continue
		case st.nonMissing-st.topCount < 3 && n >= 50:
			drop(c.Name, fmt.Sprintf("near-constant: %d of %d values are %q, too few others to learn from", st.topCount, st.nonMissing, st.top), true)
			continue
		}
		ratio := float64(st.distinct) / float64(st.nonMissing)
		if st.nonMissing >= 20 {
			if c.Kind == frame.String && ratio >= 0.9 {
				drop(c.Name, fmt.Sprintf("identifier-like: %d distinct text values in %d rows", st.distinct, st.nonMissing), true)
				continue
			}
			if idName.MatchString(c.Name) && ratio >= 0.9 {
				drop(c.Name, fmt.Sprintf("identifier: the name looks like an ID and %d of %d values are distinct", st.distinct, st.nonMissing), true)
				continue
			}
			if c.Kind == frame.Float && st.integer && ratio >= 0.99 && isSequence(c, t.rows) {
				drop(c.Name, "identifier-like: a near-unique integer sequence (row counter)", true)
				continue
			}
		}
		if reason := leakage(c, st, t); reason != "" {
			drop(c.Name, reason, true)
			continue
		}
		if c.Kind == frame.String && st.distinct > maxLevels {
			warns = append(warns, fmt.Sprintf("column %q has %d distinct values; the %d most frequent are one-hot encoded, the rest share an \"other\" level plus a frequency feature", c.Name, st.distinct, maxLevels))
		}
		feats = append(feats, c.Name)
	}
	feats = dropRedundant(f, t, feats, drop)
	if leaked, why := arithmeticLeak(f, t, feats); len(leaked) > 0 {
		gone := map[string]bool{}
		for _, name := range leaked {
			gone[name] = true
			drop(name, why, true)
		}
		kept := feats[:0:0]
		for _, name := range feats {
			if !gone[name] {
				kept = append(kept, name)
			}
		}
		feats = kept
	}
	return feats, dropped, warns
}

// dropRedundant removes categorical columns that are an exact function of another kept categorical
// column (e.g. titanic's "class" duplicates "pclass", "adult_male" is determined by "who"): they add
// no information and only split credit between copies. One-to-one copies keep the first column.
func dropRedundant(f *frame.Frame, t *targetInfo, feats []string, drop func(col, reason string, warn bool)) []string {
	n := len(t.rows)
	type cat struct {
		name   string
		codes  []int
		levels int
	}
	var cats []*cat
	for _, name := range feats {
		c := f.Col(name)
		st := statsOf(c, t.rows)
		if !(c.Kind == frame.String || c.Kind == frame.Bool || st.distinct <= 10) || st.distinct > 50 || n < 10*st.distinct {
			continue
		}
		idx := map[string]int{}
		codes := make([]int, n)
		for i, r := range t.rows {
			s, ok := strAt(c, r)
			if !ok {
				s = "\x00missing"
			}
			k, seen := idx[s]
			if !seen {
				k = len(idx)
				idx[s] = k
			}
			codes[i] = k
		}
		cats = append(cats, &cat{name: name, codes: codes, levels: len(idx)})
	}
	if len(cats) < 2 || len(cats) > 60 {
		return feats
	}
	// determines reports whether a's value fixes b's value on every row.
	determines := func(a, b *cat) bool {
		m := make([]int, a.levels)
		for i := range m {
			m[i] = -1
		}
		for i, x := range a.codes {
			y := b.codes[i]
			if m[x] < 0 {
				m[x] = y
			} else if m[x] != y {
				return false
			}
		}
		return true
	}
	gone := map[string]bool{}
	for i, b := range cats {
		for j, a := range cats {
			if i == j || gone[a.name] || gone[b.name] || b.levels > a.levels {
				continue
			}
			if b.levels == a.levels && j > i {
				continue // one-to-one: keep the earlier column
			}
			if determines(a, b) {
				gone[b.name] = true
				if b.levels == a.levels {
					drop(b.name, fmt.Sprintf("redundant: a one-to-one copy of column %q", a.name), true)
				} else {
					drop(b.name, fmt.Sprintf("redundant: fully determined by column %q", a.name), true)
				}
			}
		}
	}
	out := feats[:0:0]
	for _, name := range feats {
		if !gone[name] {
			out = append(out, name)
		}
	}
	return out
}

// isSequence reports whether the integer values cover a nearly consecutive range.
func isSequence(c *frame.Column, rows []int) bool {
	mn, mx := math.Inf(1), math.Inf(-1)
	cnt := 0
	for _, r := range rows {
		v := c.F[r]
		if math.IsNaN(v) || c.Null[r] {
			continue
		}
		cnt++
		mn = math.Min(mn, v)
		mx = math.Max(mx, v)
	}
	return cnt > 0 && mx-mn+1 <= 1.1*float64(cnt)
}

func entropy(counts []float64) float64 {
	var tot, h float64
	for _, c := range counts {
		tot += c
	}
	for _, c := range counts {
		if c > 0 {
			p := c / tot
			h -= p * math.Log(p)
		}
	}
	return h
}

// leakage returns a reason when the column (nearly) determines the target on its own.
func leakage(c *frame.Column, st colStats, t *targetInfo) string {
	n := len(t.rows)
	switch t.task {
	case TaskBinary, TaskMulticlass:
		categorical := c.Kind == frame.String || c.Kind == frame.Bool || st.distinct <= 10
		if categorical && st.distinct <= 50 && n >= 10*st.distinct {
			k := len(t.classes)
			tab := map[string][]float64{}
			for i, r := range t.rows {
				s, ok := strAt(c, r)
				if !ok {
					s = "\x00missing"
				}
				row := tab[s]
				if row == nil {
					row = make([]float64, k)
					tab[s] = row
				}
				row[t.yc[i]]++
			}
			tot := make([]float64, k)
			var hc, pure float64
			for _, row := range tab {
				var m, s float64
				for j, v := range row {
					tot[j] += v
					s += v
					m = math.Max(m, v)
				}
				hc += s / float64(n) * entropy(row)
				pure += m
			}
			hy := entropy(tot)
			purity := pure / float64(n)
			if hy > 0 && hc/hy < 0.05 && purity >= 0.98 {
				return fmt.Sprintf("target leakage: its value determines %q on its own (%.1f%% of rows follow a one-to-one mapping to the target); it is most likely recorded from the outcome", t.name, 100*purity)
			}
			return ""
		}
		if t.task == TaskBinary && c.Kind != frame.String {
			var ys, sc []float64
			for i, r := range t.rows {
				v := numAt(c, r)
				if math.IsNaN(v) {
					continue
				}
				ys = append(ys, t.y[i])
				sc = append(sc, v)
			}
			if float64(len(sc)) >= 0.9*float64(n) {
				auc := ROCAUC(ys, sc)
				if auc < 0.5 {
					auc = 1 - auc
				}
				if auc >= 0.99 {
					return fmt.Sprintf("target leakage: on its own it separates the classes of %q almost perfectly (ROC AUC %.3f); it is most likely recorded from the outcome", t.name, auc)
				}
			}
		}
	case TaskRegression:
		if c.Kind == frame.String {
			return ""
		}
		var sx, sy, sxx, syy, sxy, m float64
		for i, r := range t.rows {
			v := numAt(c, r)
			if math.IsNaN(v) {
				continue
			}
			y := t.y[i]
			m++
			sx += v
			sy += y
			sxx += v * v
			syy += y * y
			sxy += v * y
		}
		if m < 0.9*float64(n) || m < 3 {
			return ""
		}
		cov := sxy/m - sx/m*sy/m
		vx := sxx/m - sx/m*sx/m
		vy := syy/m - sy/m*sy/m
		if vx <= 0 || vy <= 0 {
			return ""
		}
		r := cov / math.Sqrt(vx*vy)
		if math.Abs(r) >= 0.995 {
			return fmt.Sprintf("target leakage: it is almost a linear copy of %q (correlation %.4f)", t.name, r)
		}
	}
	return ""
}
