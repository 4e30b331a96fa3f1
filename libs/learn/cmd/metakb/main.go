// Command metakb builds the meta-learning knowledge base of libs/learn (libs/learn/metakb.json) from
// public datasets exported as CSV by export.py: for each dataset it computes the meta-features and
// runs a cold AutoML search, and keeps only derived numbers (meta-features, a content hash, the best
// configurations per learner and their cross-validated scores). Run it with `make metakb`.
//
//	metakb -manifest WORK/manifest.json -out libs/learn/metakb.json [-budget 15s] [-only a,b]
package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/learn"
)

type dataset struct {
	Name, Source, CSV, Target, Task string
	Exclude                         []string
}

func main() {
	manifest := flag.String("manifest", "", "manifest.json written by export.py")
	out := flag.String("out", "libs/learn/metakb.json", "knowledge base to write")
	budget := flag.Duration("budget", 15*time.Second, "search budget per dataset (doubled above 5000 rows)")
	only := flag.String("only", "", "comma-separated dataset names to (re)build; others are kept from -out")
	flag.Parse()
	b, err := os.ReadFile(*manifest)
	if err != nil {
		log.Fatal(err)
	}
	var sets []dataset
	if err := json.Unmarshal(b, &sets); err != nil {
		log.Fatal(err)
	}
	kb := learn.KnowledgeBase{MetaFeatures: learn.MetaFeatureNames,
		Comment: "Derived numbers only (meta-features, SHA-256 of the data, best configurations and their 5-fold CV scores), built by `make metakb` (libs/learn/cmd/metakb) on " + time.Now().UTC().Format("2006-01-02")}
	keep := map[string]learn.KBEntry{}
	if *only != "" {
		var old learn.KnowledgeBase
		if b, err := os.ReadFile(*out); err == nil && json.Unmarshal(b, &old) == nil {
			for _, e := range old.Entries {
				keep[e.Name] = e
			}
		}
	}
	for _, d := range sets {
		if *only != "" && !strings.Contains(","+*only+",", ","+d.Name+",") {
			if e, ok := keep[d.Name]; ok {
				kb.Entries = append(kb.Entries, e)
			}
			continue
		}
		f, err := readCSV(d.CSV)
		if err != nil {
			log.Printf("%s: %v (skipped)", d.Name, err)
			continue
		}
		task, err := learn.ParseTask(d.Task)
		if err != nil {
			log.Fatal(err)
		}
		bud := *budget
		if f.Rows > 5000 {
			bud *= 2
		}
		t0 := time.Now()
		e, err := learn.BuildKBEntry(context.Background(), d.Name, d.Source, f,
			learn.Options{Target: d.Target, Task: task, Exclude: d.Exclude, Budget: bud, Seed: 1}, learn.KBOptions{})
		if err != nil {
			log.Printf("%s: %v (skipped)", d.Name, err)
			continue
		}
		fmt.Printf("%-18s %6d rows %4d features %s, %d trials in %.0fs, best %s %.4f (%s)\n", d.Name, e.Rows, e.Features, e.Task, e.Trials,
			time.Since(t0).Seconds(), e.Metric, e.Configs[0].Score, e.Configs[0].Algorithm)
		kb.Entries = append(kb.Entries, *e)
	}
	b, err = json.MarshalIndent(kb, "", " ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %d datasets to %s\n", len(kb.Entries), *out)
}

// readCSV reads a CSV file as the benchmark does: blank cells are missing, a column is numeric when
// every non-missing cell parses as a number.
func readCSV(path string) (*frame.Frame, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("%s has no rows", path)
	}
	header, body := recs[0], recs[1:]
	f := &frame.Frame{Rows: len(body)}
	for j, name := range header {
		c := &frame.Column{Name: name, Null: make([]bool, len(body))}
		numeric := true
		vals := make([]float64, len(body))
		for i, r := range body {
			s := strings.TrimSpace(r[j])
			if s == "" {
				c.Null[i], vals[i] = true, math.NaN()
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				numeric = false
			}
			vals[i] = v
		}
		if numeric {
			c.Kind, c.F, c.ArrowType = frame.Float, vals, "float64"
		} else {
			c.Kind, c.ArrowType, c.S = frame.String, "utf8", make([]string, len(body))
			for i, r := range body {
				if !c.Null[i] {
					c.S[i] = r[j]
				}
			}
		}
		f.Columns = append(f.Columns, c)
	}
	return f, nil
}
