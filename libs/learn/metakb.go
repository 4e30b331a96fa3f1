package learn

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/vdsproject/vds/libs/frame"
)

// The knowledge base for the meta-learning warm start. It holds derived numbers only: each public
// dataset's meta-features, content hash and the best configurations a search found on it, with
// their cross-validated scores. `make metakb` rebuilds it (libs/learn/cmd/metakb).
//
//go:embed metakb.json
var metaKBJSON []byte

// KBConfig is one configuration that did well on a knowledge-base dataset.
type KBConfig struct {
	Algorithm string  `json:"algorithm"`
	Config    string  `json:"config"`
	Score     float64 `json:"score"`
	// Relative is how far the score is from the dataset's best trial, as a share of the best (0 for
	// the best, negative when worse whatever the metric's direction).
	Relative float64       `json:"relative"`
	GBDT     *gbdtParams   `json:"gbdt,omitempty"`
	Linear   *linearParams `json:"linear,omitempty"`
	Forest   *forestParams `json:"forest,omitempty"`
	KNN      *knnParams    `json:"knn,omitempty"`
	NB       *nbParams     `json:"naive_bayes,omitempty"`
}

// KBEntry is one dataset of the knowledge base.
type KBEntry struct {
	Name     string     `json:"name"`
	Source   string     `json:"source"`
	Hash     string     `json:"sha256"`
	Task     string     `json:"task"`
	Metric   string     `json:"metric"`
	Rows     int        `json:"rows"`
	Features int        `json:"features"`
	Meta     []float64  `json:"meta_features"`
	Configs  []KBConfig `json:"configs"`
	Trials   int        `json:"trials"`
	Budget   float64    `json:"budget_seconds"`
}

// KnowledgeBase is the file libs/learn/metakb.json.
type KnowledgeBase struct {
	Comment      string    `json:"comment"`
	MetaFeatures []string  `json:"meta_feature_names"`
	Entries      []KBEntry `json:"datasets"`
}

var (
	kbOnce sync.Once
	kb     *KnowledgeBase
)

// builtinKB is the embedded knowledge base (empty when the file is empty or of another layout).
func builtinKB() *KnowledgeBase {
	kbOnce.Do(func() {
		kb = &KnowledgeBase{}
		if err := json.Unmarshal(metaKBJSON, kb); err != nil || strings.Join(kb.MetaFeatures, ",") != strings.Join(MetaFeatureNames, ",") {
			kb = &KnowledgeBase{}
		}
	})
	return kb
}

// BuiltinKnowledgeBase returns a copy of the embedded knowledge base's entries.
func BuiltinKnowledgeBase() []KBEntry { return append([]KBEntry(nil), builtinKB().Entries...) }

func classification(task string) bool {
	return task == TaskBinary.String() || task == TaskMulticlass.String()
}

// kbNeighbour is a knowledge-base dataset and its distance to the dataset being trained.
type kbNeighbour struct {
	e    *KBEntry
	dist float64
}

// neighbours ranks the entries of the same task family (classification or regression) by the
// Euclidean distance of their meta-features standardized over the knowledge base. An entry whose
// content hash equals hash (the dataset itself) or whose name is in exclude is left out.
func (k *KnowledgeBase) neighbours(meta []float64, task Task, hash string, exclude []string) []kbNeighbour {
	var pool []*KBEntry
	for i := range k.Entries {
		e := &k.Entries[i]
		skip := e.Hash == hash || len(e.Meta) != len(meta) || classification(e.Task) != (task != TaskRegression)
		for _, x := range exclude {
			if e.Name == x {
				skip = true
			}
		}
		if !skip {
			pool = append(pool, e)
		}
	}
	if len(pool) == 0 {
		return nil
	}
	// standardize over all entries (not only the pool) so distances do not depend on exclusions
	d := len(meta)
	mean, sd := make([]float64, d), make([]float64, d)
	for _, e := range k.Entries {
		for j := 0; j < d && j < len(e.Meta); j++ {
			mean[j] += e.Meta[j] / float64(len(k.Entries))
		}
	}
	for _, e := range k.Entries {
		for j := 0; j < d && j < len(e.Meta); j++ {
			sd[j] += (e.Meta[j] - mean[j]) * (e.Meta[j] - mean[j]) / float64(len(k.Entries))
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j])
	}
	out := make([]kbNeighbour, 0, len(pool))
	for _, e := range pool {
		var s float64
		for j := 0; j < d; j++ {
			if sd[j] < 1e-9 {
				continue
			}
			z := (meta[j] - e.Meta[j]) / sd[j] * metaWeight(j)
			s += z * z
		}
		if e.Task != task.String() {
			s += 4 // binary and multiclass may share configurations, two standard deviations apart
		}
		out = append(out, kbNeighbour{e: e, dist: math.Sqrt(s)})
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].dist < out[b].dist })
	return out
}

// metaWeight scales meta-feature j in the distance: the size of the data decides more about good
// tree and penalty settings than the other features do.
func metaWeight(j int) float64 {
	switch MetaFeatureNames[j] {
	case "log10_rows":
		return 2
	case "log10_features":
		return 1.5
	}
	return 1
}

// warmStartMargin is how far below its dataset's best score a stored configuration may be and still
// be tried (2% of the best).
const warmStartMargin = 0.02

// trialOf turns a stored configuration back into a trial for this task and data size; ok is false
// when the learner does not apply (naive Bayes for regression, k-NN on large data) or is unknown.
func (c KBConfig) trialOf(task Task, rows int) (trial, bool) {
	switch {
	case c.GBDT != nil:
		return gbdtTrial(*c.GBDT), true
	case c.Linear != nil:
		if c.Linear.L1Ratio > 0 {
			return elasticNetTrial(c.Linear.C, c.Linear.L1Ratio), true
		}
		return linearTrial(task, c.Linear.C), true
	case c.Forest != nil:
		p := *c.Forest
		if rows > 20000 && p.Trees > 40 {
			p.Trees = 40
		}
		return forestTrial(p), true
	case c.KNN != nil:
		if rows > 10000 {
			return trial{}, false
		}
		p := *c.KNN
		w := "uniform"
		if p.Weighted {
			w = "distance"
		}
		return trial{algo: AlgoKNN, config: fmt.Sprintf("k=%d weights=%s", p.K, w), knn: &p}, true
	case c.NB != nil:
		if task == TaskRegression {
			return trial{}, false
		}
		p := *c.NB
		return trial{algo: AlgoNaiveBayes, config: fmt.Sprintf("var_smoothing=%g", p.VarSmoothing), nb: &p}, true
	}
	return trial{}, false
}

// kbConfigOf stores a trial's parameters.
func kbConfigOf(tr trial) KBConfig {
	c := KBConfig{Algorithm: tr.algo, Config: tr.config}
	switch {
	case tr.gb != nil:
		p := *tr.gb
		c.GBDT = &p
	case tr.lin != nil:
		p := *tr.lin
		c.Linear = &p
	case tr.rf != nil:
		p := *tr.rf
		c.Forest = &p
	case tr.knn != nil:
		p := *tr.knn
		c.KNN = &p
	case tr.nb != nil:
		p := *tr.nb
		c.NB = &p
	}
	return c
}

// warmStartNeighbours and warmStartTrials bound the warm start: the best configurations of the
// three nearest datasets, taken in turns (each one's best first), at most six trials.
const (
	warmStartNeighbours = 3
	warmStartTrials     = 6
)

// warmStart picks the configurations to try right after the cheap starting ones.
func warmStart(k *KnowledgeBase, meta []float64, task Task, rows int, hash string, exclude []string, allow func(string) bool) (trials []trial, sources []string) {
	nb := k.neighbours(meta, task, hash, exclude)
	if len(nb) > warmStartNeighbours {
		nb = nb[:warmStartNeighbours]
	}
	seen := map[string]bool{}
	for round := 0; len(trials) < warmStartTrials; round++ {
		any := false
		for _, n := range nb {
			if round >= len(n.e.Configs) {
				continue
			}
			any = true
			c := n.e.Configs[round]
			if c.Relative < -warmStartMargin {
				continue // clearly worse than that dataset's best
			}
			tr, ok := c.trialOf(task, rows)
			if !ok || !allow(tr.algo) || seen[tr.algo+"\x00"+tr.config] {
				continue
			}
			seen[tr.algo+"\x00"+tr.config] = true
			tr.source = n.e.Name
			trials = append(trials, tr)
			sources = append(sources, n.e.Name)
			if len(trials) == warmStartTrials {
				break
			}
		}
		if !any {
			break
		}
	}
	return trials, sources
}

// insertWarmStart puts the warm-start trials after the first `after` planned ones, alternating
// with the rest of the plan (warm, planned, warm, ...), so that a poor neighbour delays the planned
// trials by one slot in two at most. A warm trial that repeats one of the first `after` is left
// out; a later planned trial that repeats a warm one is dropped.
func insertWarmStart(planned, warm []trial, after int) []trial {
	if len(warm) == 0 {
		return planned
	}
	if after > len(planned) {
		after = len(planned)
	}
	first := map[string]bool{}
	for _, p := range planned[:after] {
		first[p.algo+"\x00"+p.config] = true
	}
	var ws []trial
	dup := map[string]bool{}
	for _, w := range warm {
		if key := w.algo + "\x00" + w.config; !first[key] {
			dup[key] = true
			ws = append(ws, w)
		}
	}
	var rest []trial
	for _, p := range planned[after:] {
		if !dup[p.algo+"\x00"+p.config] {
			rest = append(rest, p)
		}
	}
	out := make([]trial, 0, len(planned)+len(ws))
	out = append(out, planned[:after]...)
	for len(ws) > 0 || len(rest) > 0 {
		if len(ws) > 0 {
			out, ws = append(out, ws[0]), ws[1:]
		}
		if len(rest) > 0 {
			out, rest = append(out, rest[0]), rest[1:]
		}
	}
	return out
}

// KBOptions configures BuildKBEntry.
type KBOptions struct {
	// PerLearner is how many of each learner's best configurations are kept (default 2).
	PerLearner int
	// MaxConfigs bounds the configurations kept per dataset (default 10).
	MaxConfigs int
}

// BuildKBEntry runs a cold search (no warm start, no ensemble) on f with opts and returns the
// dataset's knowledge-base entry: its meta-features and its best configurations per learner.
func BuildKBEntry(ctx context.Context, name, source string, f *frame.Frame, opts Options, ko KBOptions) (*KBEntry, error) {
	if ko.PerLearner <= 0 {
		ko.PerLearner = 2
	}
	if ko.MaxConfigs <= 0 {
		ko.MaxConfigs = 10
	}
	opts.NoWarmStart, opts.NoEnsemble, opts.wantMeta = true, true, true
	res, err := AutoML(ctx, f, opts)
	if err != nil {
		return nil, err
	}
	if len(res.MetaFeatures) == 0 || len(res.Leaderboard) == 0 {
		return nil, errors.New("learn: the search produced no meta-features or no trial")
	}
	e := &KBEntry{Name: name, Source: source, Hash: DatasetHash(f), Task: res.Task.String(), Metric: res.Metric, Rows: res.Rows,
		Features: len(res.Features), Meta: res.MetaFeatures, Trials: len(res.Leaderboard), Budget: opts.Budget.Seconds()}
	best := res.Leaderboard[0].CVScore
	sign := 1.0
	if !HigherIsBetter(res.Metric) {
		sign = -1
	}
	per := map[string]int{}
	for _, le := range res.Leaderboard { // best first
		if le.tr == nil || math.IsNaN(le.CVScore) || per[le.Algorithm] >= ko.PerLearner {
			continue
		}
		per[le.Algorithm]++
		c := kbConfigOf(*le.tr)
		c.Score = le.CVScore
		if best != 0 {
			c.Relative = sign * (le.CVScore - best) / math.Abs(best)
		}
		e.Configs = append(e.Configs, c)
		if len(e.Configs) == ko.MaxConfigs {
			break
		}
	}
	return e, nil
}
