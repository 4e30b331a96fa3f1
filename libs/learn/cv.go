package learn

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strings"
	"time"

	"github.com/vdsproject/vds/libs/frame"
)

// CV schemes reported in Result.CVScheme.
const (
	CVStratified = "stratified_kfold"
	CVKFold      = "kfold"
	CVGroup      = "group_kfold"
	CVTime       = "time_expanding_window"
)

// splits is a cross-validation plan: for each fold the positions (into targetInfo.rows) it
// validates on and the positions it trains on.
type splits struct {
	scheme string
	test   [][]int
	train  [][]int
}

// complementTrain fills train with every position not in the fold's test part.
func complementTrain(n int, test [][]int) [][]int {
	fold := make([]int, n)
	for i := range fold {
		fold[i] = -1
	}
	for fi, fo := range test {
		for _, p := range fo {
			fold[p] = fi
		}
	}
	train := make([][]int, len(test))
	for p, fi := range fold {
		for j := range test {
			if j != fi {
				train[j] = append(train[j], p)
			}
		}
	}
	return train
}

// makeSplits builds the folds the options ask for: grouped (GroupColumn), time-ordered
// (TimeColumn) or stratified/plain k-fold. k may shrink when there are too few groups or rows.
func makeSplits(f *frame.Frame, t *targetInfo, opts Options, k int, seed int64) (*splits, []string, error) {
	switch {
	case opts.GroupColumn != "" && opts.TimeColumn != "":
		return nil, nil, fmt.Errorf("learn: choose grouped (%q) or time-ordered (%q) cross-validation, not both", opts.GroupColumn, opts.TimeColumn)
	case opts.GroupColumn != "":
		c := f.Col(opts.GroupColumn)
		if c == nil {
			return nil, nil, fmt.Errorf("learn: group column %q is not in the dataset; available columns: %s", opts.GroupColumn, strings.Join(f.Names(), ", "))
		}
		if opts.GroupColumn == t.name {
			return nil, nil, fmt.Errorf("learn: the group column cannot be the target %q", t.name)
		}
		keys := make([]string, len(t.rows))
		for i, r := range t.rows {
			if s, ok := strAt(c, r); ok {
				keys[i] = "v" + s
			} else {
				keys[i] = "missing" // rows without a group form one group of their own
			}
		}
		test, warns, err := groupFolds(keys, k, seed)
		if err != nil {
			return nil, nil, fmt.Errorf("learn: group column %q: %w", opts.GroupColumn, err)
		}
		return &splits{scheme: CVGroup, test: test, train: complementTrain(len(t.rows), test)}, warns, nil
	case opts.TimeColumn != "":
		c := f.Col(opts.TimeColumn)
		if c == nil {
			return nil, nil, fmt.Errorf("learn: time column %q is not in the dataset; available columns: %s", opts.TimeColumn, strings.Join(f.Names(), ", "))
		}
		if opts.TimeColumn == t.name {
			return nil, nil, fmt.Errorf("learn: the time column cannot be the target %q", t.name)
		}
		order := make([]float64, len(t.rows))
		missing := 0
		for i, r := range t.rows {
			v, ok := orderValue(c, r)
			if !ok {
				missing++
				v = math.Inf(-1) // rows without a time are treated as the oldest
			}
			order[i] = v
		}
		if missing == len(t.rows) {
			return nil, nil, fmt.Errorf("learn: time column %q has no value that reads as a number or a date (e.g. 2024-01-31 or 2024-01-31T12:00:00Z)", opts.TimeColumn)
		}
		sp, warns, err := timeFolds(order, k)
		if err != nil {
			return nil, nil, fmt.Errorf("learn: time column %q: %w", opts.TimeColumn, err)
		}
		if missing > 0 {
			warns = append(warns, fmt.Sprintf("%d rows have no time in %q and were treated as the oldest (always trained on)", missing, opts.TimeColumn))
		}
		return sp, warns, nil
	}
	test := makeFolds(t, k, seed)
	scheme := CVKFold
	if t.yc != nil {
		scheme = CVStratified
	}
	return &splits{scheme: scheme, test: test, train: complementTrain(len(t.rows), test)}, nil, nil
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02", "2006/01/02", "2006-01"}

// orderValue reads a time or order value: numbers and times as they are, text as a date.
func orderValue(c *frame.Column, i int) (float64, bool) {
	if c.Null[i] {
		return 0, false
	}
	if c.Kind != frame.String {
		v := c.F[i]
		return v, !math.IsNaN(v)
	}
	s := strings.TrimSpace(c.S[i])
	if v := numAt(c, i); !math.IsNaN(v) {
		return v, true
	}
	for _, l := range timeLayouts {
		if tm, err := time.Parse(l, s); err == nil {
			return float64(tm.UnixNano()) / 1e9, true
		}
	}
	return 0, false
}

// groupFolds assigns whole groups to k folds: groups in a seeded random order, largest first, each
// to the fold with the fewest rows so far. No group is split across folds.
func groupFolds(keys []string, k int, seed int64) ([][]int, []string, error) {
	members := map[string][]int{}
	var names []string
	for p, key := range keys {
		if _, ok := members[key]; !ok {
			names = append(names, key)
		}
		members[key] = append(members[key], p)
	}
	var warns []string
	if len(names) < 2 {
		return nil, nil, fmt.Errorf("it has %d distinct value(s); grouped cross-validation needs at least 2 groups", len(names))
	}
	if len(names) < k {
		warns = append(warns, fmt.Sprintf("only %d groups: using %d cross-validation folds", len(names), len(names)))
		k = len(names)
	}
	rng := rand.New(rand.NewSource(seed))
	rng.Shuffle(len(names), func(a, b int) { names[a], names[b] = names[b], names[a] })
	sort.SliceStable(names, func(a, b int) bool { return len(members[names[a]]) > len(members[names[b]]) })
	folds := make([][]int, k)
	for _, g := range names {
		small := 0
		for fi := range folds {
			if len(folds[fi]) < len(folds[small]) {
				small = fi
			}
		}
		folds[small] = append(folds[small], members[g]...)
	}
	for _, fo := range folds {
		sort.Ints(fo)
	}
	return folds, warns, nil
}

// timeFolds is an expanding-window split: the positions sorted by order are cut into k+1 blocks of
// about equal size; fold j validates on block j+1 and trains on blocks 0..j. Equal order values
// never straddle a cut, so no validation row is older than, or as old as, a training row.
func timeFolds(order []float64, k int) (*splits, []string, error) {
	n := len(order)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return order[idx[a]] < order[idx[b]] })
	// cut points at the starts of blocks 1..k, moved forward past ties
	var cuts []int
	for j := 1; j <= k; j++ {
		c := j * n / (k + 1)
		for c < n && c > 0 && order[idx[c]] == order[idx[c-1]] {
			c++
		}
		if c >= n {
			break
		}
		if len(cuts) > 0 && c <= cuts[len(cuts)-1] {
			continue
		}
		cuts = append(cuts, c)
	}
	if len(cuts) < 2 {
		return nil, nil, fmt.Errorf("too few distinct times for a time-ordered split into %d folds", k)
	}
	var warns []string
	if len(cuts) < k {
		warns = append(warns, fmt.Sprintf("ties in the time column: using %d time-ordered folds", len(cuts)))
	}
	sp := &splits{scheme: CVTime}
	for j, c := range cuts {
		end := n
		if j+1 < len(cuts) {
			end = cuts[j+1]
		}
		te := append([]int(nil), idx[c:end]...)
		tr := append([]int(nil), idx[:c]...)
		sort.Ints(te)
		sort.Ints(tr)
		sp.test = append(sp.test, te)
		sp.train = append(sp.train, tr)
	}
	return sp, warns, nil
}
