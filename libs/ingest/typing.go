package ingest

import (
	"database/sql"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/duck"
)

// tolerance is how many non-missing cells may fail to convert for a column to still get a type:
// one in a thousand (so none in a small file). Cells that fail become missing and are reported.
func tolerance(n int64) int64 { return n / 1000 }

// aggQuery runs one aggregate query whose select list is exprs and returns the values as int64 or
// string (by the Go type of the destination), in order.
func (j *job) aggRow(from string, exprs []string, dest []any) error {
	if len(exprs) == 0 {
		return nil
	}
	q := "SELECT " + strings.Join(exprs, ",\n") + "\nFROM " + from
	debugSQL(q)
	if err := j.conn.SQL().QueryRowContext(j.ctx, q).Scan(dest...); err != nil {
		return fmt.Errorf("type analysis: %w", err)
	}
	return nil
}

// wideLimit is the column count above which analysis queries use the long (unpivoted) form:
// DuckDB spends time per expression, so a query must not grow with the number of columns.
const wideLimit = 32

// perColumn evaluates the same aggregate templates for each column and returns their values as
// text, one row per plan. In the templates {r} is the cell, {m} whether it is missing (missFn) and
// {v} its converted value (conv, a template over {r}; empty when not needed).
func (j *job) perColumn(plans []*plan, table, missFn, conv string, tmpl []string) ([][]string, error) {
	out := make([][]string, len(plans))
	if len(plans) == 0 || len(tmpl) == 0 {
		return out, nil
	}
	if len(plans) <= wideLimit {
		var inner, mid, exprs []string
		for i, p := range plans {
			n := strconv.Itoa(i)
			m := "false"
			if missFn != "" {
				m = missFn + "(" + p.x() + ")"
			}
			inner = append(inner, p.x()+" AS r"+n, m+" AS m"+n)
			if conv != "" {
				mid = append(mid, "CASE WHEN m"+n+" THEN NULL ELSE "+strings.ReplaceAll(conv, "{r}", "r"+n)+" END AS v"+n)
			}
			for _, t := range tmpl {
				exprs = append(exprs, strings.NewReplacer("{r}", "r"+n, "{m}", "m"+n, "{v}", "v"+n).Replace(t))
			}
		}
		from := "(SELECT " + strings.Join(inner, ", ") + " FROM " + table + ")"
		if conv != "" {
			from = "(SELECT *, " + strings.Join(mid, ", ") + " FROM " + from + ")"
		}
		vals := make([]sql.NullString, len(exprs))
		dest := make([]any, len(exprs))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := j.aggRow(from, exprs, dest); err != nil {
			return nil, err
		}
		for i := range plans {
			row := make([]string, len(tmpl))
			for k := range tmpl {
				row[k] = vals[i*len(tmpl)+k].String
			}
			out[i] = row
		}
		return out, nil
	}
	cols := make([]string, len(plans))
	at := map[string]int{}
	for i, p := range plans {
		cols[i] = p.x()
		at[p.raw] = i
	}
	list := strings.Join(cols, ", ")
	m := "false"
	if missFn != "" {
		m = missFn + "(r)"
	}
	from := "(SELECT c, r, " + m + " AS m FROM (SELECT " + list + " FROM " + table + ") UNPIVOT INCLUDE NULLS (r FOR c IN (" + list + ")))"
	if conv != "" {
		from = "(SELECT *, CASE WHEN m THEN NULL ELSE " + strings.ReplaceAll(conv, "{r}", "r") + " END AS v FROM " + from + ")"
	}
	exprs := make([]string, len(tmpl))
	for k, t := range tmpl {
		exprs[k] = strings.NewReplacer("{r}", "r", "{m}", "m", "{v}", "v").Replace(t)
	}
	q := "SELECT c, " + strings.Join(exprs, ",\n") + "\nFROM " + from + " GROUP BY c"
	debugSQL(q)
	rows, err := j.conn.SQL().QueryContext(j.ctx, q)
	if err != nil {
		return nil, fmt.Errorf("type analysis: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		vals := make([]sql.NullString, len(tmpl))
		dest := []any{&c}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row := make([]string, len(tmpl))
		for k := range vals {
			row[k] = vals[k].String
		}
		if i, ok := at[c]; ok {
			out[i] = row
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i] == nil { // a table without rows
			out[i] = make([]string, len(tmpl))
			for k := range out[i] {
				out[i][k] = "0"
			}
		}
	}
	return out, nil
}

// colSpec is one column of a perColumnEach query, with its own class expression and aggregates.
type colSpec struct {
	p    *plan
	conv string
	tmpl []string
}

// perColumnEach is perColumn for columns that each have their own conv and templates: one scan
// of table for all of them (for at most wideLimit columns). {m} is always false here.
func (j *job) perColumnEach(specs []colSpec, table string) ([][]string, error) {
	out := make([][]string, len(specs))
	if len(specs) == 0 {
		return out, nil
	}
	var inner, mid, exprs []string
	for i, c := range specs {
		n := strconv.Itoa(i)
		inner = append(inner, c.p.x()+" AS r"+n)
		if c.conv != "" {
			mid = append(mid, strings.ReplaceAll(c.conv, "{r}", "r"+n)+" AS v"+n)
		}
		for _, t := range c.tmpl {
			exprs = append(exprs, strings.NewReplacer("{r}", "r"+n, "{m}", "false", "{v}", "v"+n).Replace(t))
		}
	}
	from := "(SELECT " + strings.Join(inner, ", ") + " FROM " + table + ")"
	if len(mid) > 0 {
		from = "(SELECT *, " + strings.Join(mid, ", ") + " FROM " + from + ")"
	}
	vals := make([]sql.NullString, len(exprs))
	dest := make([]any, len(exprs))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := j.aggRow(from, exprs, dest); err != nil {
		return nil, err
	}
	k := 0
	for i, c := range specs {
		row := make([]string, len(c.tmpl))
		for t := range c.tmpl {
			row[t] = vals[k].String
			k++
		}
		out[i] = row
	}
	return out, nil
}

// guessTypes decides a candidate type for every column from the first rows.
func (j *job) guessTypes(plans []*plan, total int64) error {
	rows := j.sampleRows(len(plans))
	if err := j.exec("CREATE TEMP TABLE samp AS SELECT * FROM raw LIMIT " + strconv.FormatInt(rows, 10)); err != nil {
		return err
	}
	defer j.exec("DROP TABLE samp")
	if err := j.guessFrom(plans, "samp"); err != nil {
		return err
	}
	// Columns with nothing in the first rows: look at their first non-missing cells.
	if total > rows {
		for _, p := range plans {
			if p.kind == kEmpty {
				from := "(SELECT " + p.x() + " FROM raw WHERE NOT vds_miss(" + p.x() + ") LIMIT " + strconv.FormatInt(min(rows*4, typeSampleRows), 10) + ")"
				if err := j.guessFrom([]*plan{p}, from); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// sampleRows is how many first rows the type guess looks at for a table of ncols columns.
func (j *job) sampleRows(ncols int) int64 {
	rows := int64(typeSampleRows)
	if j.opts.sampleRows > 0 {
		rows = int64(j.opts.sampleRows)
	}
	if per := int64(typeSampleCells / max(ncols, 1)); per < rows {
		rows = max(per, 200)
	}
	return rows
}

// guessFrom runs the type guess in stages so that costly checks only touch columns that need them:
// numbers first, then decimal commas where commas appear, then booleans and dates for the rest.
func (j *job) guessFrom(plans []*plan, table string) error {
	const us = "(TRY_CAST({r} AS DOUBLE) IS NOT NULL OR vds_num_us({r}) IS NOT NULL)"
	// Stage 1: numbers as written in English, leading zeros, commas.
	v1, err := j.perColumn(plans, table, "vds_miss", "", []string{
		"count(*) FILTER (NOT {m})",
		"count(*) FILTER (NOT {m} AND " + us + ")",
		"count(*) FILTER (vds_lead0({r}))",
		"count(*) FILTER (NOT {m} AND contains({r}, ','))",
		// Cells that start with an ASCII letter: never a number with a decimal comma (reNumEU
		// starts with white space, a sign, a currency sign or a digit).
		"count(*) FILTER (NOT {m} AND (({r} >= 'A' AND {r} < '[') OR ({r} >= 'a' AND {r} < '{')))",
	})
	if err != nil {
		return err
	}
	nn := make([]int64, len(plans))
	need := make([]int64, len(plans))
	// Stage 2: decimal commas, for columns with commas or that are not numbers the English way.
	var s2 []*plan
	var s2i []int
	for i, p := range plans {
		nn[i] = atoi(v1[i][0])
		need[i] = nn[i] - tolerance(nn[i])
		p.kind = kText
		if nn[i] == 0 {
			p.kind = kEmpty
			continue
		}
		// A column with more letter-led cells than the tolerance cannot reach need decimal-comma
		// numbers: stage 2 would find eu < need, which decides nothing (eu only counts when it
		// reaches need), so it is skipped (about 60% of stage 2 on a file with three text columns).
		if letters := atoi(v1[i][4]); letters > tolerance(nn[i]) {
			continue
		}
		if atoi(v1[i][3]) > 0 || atoi(v1[i][1]) < need[i] {
			s2 = append(s2, p)
			s2i = append(s2i, i)
		}
	}
	// {v} is vds_num_eu of the non-missing cells (NULL for the missing ones), computed once per cell.
	v2, err := j.perColumn(s2, table, "vds_miss", "vds_num_eu({r})", []string{
		"count(*) FILTER ({v} IS NOT NULL)",
		"count(*) FILTER (NOT {m} AND {v} IS NULL AND " + us + ")",
		"count(*) FILTER (NOT {m} AND contains({r}, ',') AND {v} IS NOT NULL AND vds_num_us({r}) IS NULL)",
	})
	if err != nil {
		return err
	}
	eu := make([]int64, len(plans))
	usx := make([]int64, len(plans))
	eux := make([]int64, len(plans))
	for k, i := range s2i {
		eu[i], usx[i], eux[i] = atoi(v2[k][0]), atoi(v2[k][1]), atoi(v2[k][2])
	}
	// Stage 3: booleans and dates for what is not a number.
	var s3 []*plan
	var s3i []int
	for i, p := range plans {
		if p.kind == kEmpty {
			continue
		}
		usN, lz := atoi(v1[i][1]), atoi(v1[i][2])
		if usN >= need[i] || eu[i] >= need[i] {
			p.eu = eu[i] >= need[i] && (eux[i] > usx[i] || usN < need[i])
			if lz > 0 {
				p.leadZero = true
			} else {
				p.kind = kDouble
			}
			continue
		}
		s3 = append(s3, p)
		s3i = append(s3i, i)
	}
	v3, err := j.perColumn(s3, table, "vds_miss", "", []string{
		"count(*) FILTER (NOT {m} AND vds_bool({r}) IS NOT NULL)",
		"count(*) FILTER (NOT {m} AND regexp_matches({r}, '" + reDateish + "'))",
	})
	if err != nil {
		return err
	}
	var dateCands []*plan
	for k, i := range s3i {
		bl, dt := atoi(v3[k][0]), atoi(v3[k][1])
		switch {
		case bl >= need[i]:
			plans[i].kind = kBool
		case dt > 0 && dt*2 >= need[i]:
			dateCands = append(dateCands, plans[i])
		}
	}
	return j.guessDates(dateCands, table)
}

// guessDates picks, for each family of date formats, the one reading that is consistent with
// every cell. A family whose cells fit both day/month orders and never only one is ambiguous:
// the column stays text rather than risk a wrong date.
func (j *job) guessDates(plans []*plan, table string) error {
	if len(plans) == 0 {
		return nil
	}
	type slot struct{ fam, reading int }
	t := "trim({r})"
	base, err := j.perColumn(plans, table, "vds_miss", "", []string{
		"count(*) FILTER (NOT {m})",
		"count(*) FILTER (NOT {m} AND TRY_CAST(" + t + " AS TIMESTAMPTZ) IS NOT NULL)",
		"count(*) FILTER (NOT {m} AND regexp_matches(" + t + ", '" + reTZ + "'))",
	})
	if err != nil {
		return err
	}
	var tmpl []string
	var slots []slot
	for fi, f := range dateFamilies {
		for r := 0; r < 2; r++ {
			if len(f.formats[r]) == 0 {
				continue
			}
			ok := "try_strptime(" + t + ", " + sqlList(f.formats[r]) + ") IS NOT NULL"
			excl := ""
			if o := f.formats[1-r]; len(o) > 0 {
				excl = " AND try_strptime(" + t + ", " + sqlList(o) + ") IS NULL"
			}
			tmpl = append(tmpl, "count(*) FILTER ("+ok+")", "count(*) FILTER ("+ok+excl+")")
			slots = append(slots, slot{fi, r})
		}
	}
	// The other formats are tried, column by column, only on cells that are not ISO 8601.
	vals := make([][]string, len(plans))
	for pi, p := range plans {
		v := base[pi]
		if atoi(v[1]) < atoi(v[0]) {
			x := p.x()
			from := "(SELECT " + x + " FROM " + table + " WHERE NOT vds_miss(" + x + ") AND TRY_CAST(trim(" + x + ") AS TIMESTAMPTZ) IS NULL)"
			more, err := j.perColumn([]*plan{p}, from, "", "", tmpl)
			if err != nil {
				return err
			}
			v = append(v, more[0]...)
		} else {
			for range tmpl {
				v = append(v, "0")
			}
		}
		vals[pi] = v
	}
	for pi, p := range plans {
		v := vals[pi]
		nn, iso, tz := atoi(v[0]), atoi(v[1]), atoi(v[2])
		covered := iso
		type res struct{ ok, excl int64 }
		got := map[slot]res{}
		for k, s := range slots {
			got[s] = res{atoi(v[3+2*k]), atoi(v[4+2*k])}
		}
		var formats []string
		ambiguous := ""
		for fi, f := range dateFamilies {
			a, b := got[slot{fi, 0}], got[slot{fi, 1}]
			switch {
			case a.ok == 0 && b.ok == 0:
			case len(f.formats[1]) == 0:
				formats = append(formats, f.formats[0]...)
				covered += a.ok
			case a.excl > 0 && b.excl > 0:
				ambiguous = fmt.Sprintf("its %s dates mix day/month orders (%s and %s)", f.name, f.formats[0][0], f.formats[1][0])
			case a.excl > 0:
				formats = append(formats, f.formats[0]...)
				covered += a.ok
			case b.excl > 0:
				formats = append(formats, f.formats[1]...)
				covered += b.ok
			default:
				ambiguous = fmt.Sprintf("its %s dates fit both %s and %s", f.name, f.formats[0][0], f.formats[1][0])
			}
		}
		if ambiguous != "" {
			p.note = "kept as text: " + ambiguous + ", so the day/month order is ambiguous"
			continue
		}
		if covered < nn-tolerance(nn) {
			continue
		}
		p.formats = formats
		p.kind = kTime
		if tz > 0 {
			p.kind = kTimeTZ
		}
	}
	return nil
}

// verify checks every candidate type on all rows, demotes columns that do not convert, settles
// integer versus double, and records the rules applied. Columns are grouped by how they convert
// so that each group is one query.
func (j *job) verify(plans []*plan, total int64) error {
	ms, err := j.collect(plans, "raw", false)
	if err != nil {
		return err
	}
	for i, p := range plans {
		j.settle(p, ms[i], total)
	}
	return nil
}

// collect computes, for every plan, the counts settle needs (see codeExpr) over all rows of table.
// With small (the sample: a few thousand rows, where a query's fixed cost outweighs a few more
// expressions), the symbol counts of the number columns are computed in the same scan for every
// such column instead of in a second query for the columns that need them.
func (j *job) collect(plans []*plan, table string, small bool) ([]map[string]string, error) {
	out := make([]map[string]string, len(plans))
	at := make(map[*plan]int, len(plans))
	for i, p := range plans {
		at[p] = i
	}
	groups := map[string][]*plan{}
	var order []string
	for _, p := range plans {
		key := fmt.Sprint(p.kind, p.eu, p.formats)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], p)
	}
	// All groups are checked in one scan of the table when the table is narrow enough; wider
	// tables are checked group by group (each of those queries unpivots).
	type groupQ struct {
		names, tmpl []string
		conv        string
	}
	qs := make([]groupQ, len(order))
	for gi, key := range order {
		g := groups[key]
		p := g[0]
		// {v} is the cell's class (see codeExpr), computed once per cell.
		names := []string{"nulls", "blank", "ph_text", "lz"}
		tmpl := []string{
			"count(*) FILTER ({v} = 0)",
			"count(*) FILTER ({v} = 1)",
			"count(*) FILTER ({v} = 2)",
			"count(*) FILTER (CASE WHEN prefix({r}, '0') THEN regexp_matches({r}, '^0[0-9]') ELSE false END)",
		}
		missFn, conv := "", p.codeExpr("{r}")
		if p.kind != kText && p.kind != kEmpty {
			ok := "{v} >= 5"
			names = append(names, "ph", "fail", "example")
			tmpl = append(tmpl,
				"count(*) FILTER ({v} IN (2, 3))",
				"count(*) FILTER ({v} = 4)",
				"COALESCE(any_value({r}) FILTER ({v} = 4), '')",
			)
			switch p.kind {
			case kDouble:
				frac := "contains({r}, '.')"
				if p.eu {
					frac = "contains({r}, ',')"
				}
				names = append(names, "frac", "slow", "maxabs")
				tmpl = append(tmpl,
					"count(*) FILTER ("+ok+" AND ("+frac+" OR contains({r}, 'e') OR contains({r}, 'E')))",
					"count(*) FILTER ({v} = 6)",
					"COALESCE(max(abs(TRY_CAST({r} AS DOUBLE))), 0)::VARCHAR",
				)
				if small && len(plans) <= wideLimit {
					names = append(names, symNames[:]...)
					tmpl = append(tmpl, symTemplates(p.eu)...)
				}
			case kBool:
				// The spellings the user wrote, so reports can name the classes as written ("Yes", not true).
				names = append(names, "true_text", "false_text")
				tmpl = append(tmpl,
					"COALESCE(mode(trim({r})) FILTER ({v} >= 5 AND vds_bool({r})), '')",
					"COALESCE(mode(trim({r})) FILTER ({v} >= 5 AND NOT vds_bool({r})), '')",
				)
			case kTime, kTimeTZ:
				names = append(names, "iso")
				tmpl = append(tmpl, "count(*) FILTER ({v} = 5)")
				for _, f := range p.formats {
					names = append(names, "fmt:"+f)
					tmpl = append(tmpl, "count(*) FILTER (CASE WHEN {v} = 6 THEN try_strptime(trim({r}), "+duck.Literal(f)+") IS NOT NULL ELSE false END)")
				}
			}
		}
		_ = missFn
		qs[gi] = groupQ{names: names, tmpl: tmpl, conv: conv}
	}
	all := make([][][]string, len(order))
	if len(plans) <= wideLimit {
		var specs []colSpec
		for gi, key := range order {
			for _, p := range groups[key] {
				specs = append(specs, colSpec{p: p, conv: qs[gi].conv, tmpl: qs[gi].tmpl})
			}
		}
		vals, err := j.perColumnEach(specs, table)
		if err != nil {
			return nil, err
		}
		at := 0
		for gi, key := range order {
			all[gi] = vals[at : at+len(groups[key])]
			at += len(groups[key])
		}
	} else {
		for gi, key := range order {
			vals, err := j.perColumn(groups[key], table, "", qs[gi].conv, qs[gi].tmpl)
			if err != nil {
				return nil, err
			}
			all[gi] = vals
		}
	}
	for gi, key := range order {
		g := groups[key]
		p := g[0]
		names, vals := qs[gi].names, all[gi]
		ms := make([]map[string]string, len(g))
		var slow []*plan
		var slowAt []int
		for i, p := range g {
			ms[i] = make(map[string]string, len(names))
			for k, n := range names {
				ms[i][n] = vals[i][k]
			}
			if p.kind == kDouble && (atoi(ms[i]["slow"]) > 0 || p.eu) {
				slow = append(slow, p)
				slowAt = append(slowAt, i)
			}
		}
		// Which cleaning rules the numbers needed: only for columns the plain cast did not cover.
		if len(slow) > 0 {
			var more [][]string
			var err error
			if _, ok := ms[slowAt[0]][symNames[0]]; ok {
				for _, i := range slowAt {
					var row []string
					for _, k := range symNames {
						row = append(row, ms[i][k])
					}
					more = append(more, row)
				}
			} else if more, err = j.perColumn(slow, table, "", "", symTemplates(p.eu)); err != nil {
				return nil, err
			}
			for k, i := range slowAt {
				ms[i]["currency"], ms[i]["percent"], ms[i]["thousands"], ms[i]["decimal_comma"] = more[k][0], more[k][1], more[k][2], more[k][3]
			}
		}
		for i := range ms {
			for _, k := range symNames {
				delete(ms[i], k)
			}
		}
		for i, p := range g {
			out[at[p]] = ms[i]
		}
	}
	return out, nil
}

// symNames and symTemplates: the counts of cells with a currency sign, a percent sign, a
// thousands separator and a decimal separator, for number columns that need cleaning rules.
var symNames = [4]string{"sym_currency", "sym_percent", "sym_thousands", "sym_decimal"}

func symTemplates(eu bool) []string {
	thou, dec := "contains({r}, ',')", "contains({r}, '.')"
	if eu {
		thou, dec = dec, thou
	}
	return []string{
		"count(*) FILTER (contains({r}, '$') OR contains({r}, '€') OR contains({r}, '£'))",
		"count(*) FILTER (contains({r}, '%'))",
		"count(*) FILTER (" + thou + ")",
		"count(*) FILTER (" + dec + ")",
	}
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func (j *job) coerce(p *plan, rule string, n int64, detail string) {
	if n <= 0 {
		return
	}
	j.rules.Coercions = append(j.rules.Coercions, &datasetsv1.Coercion{Column: p.name, Rule: rule, CellsChanged: n, Detail: detail})
}

// settle turns the full-pass counts of one column into its final type and rules.
func (j *job) settle(p *plan, m map[string]string, total int64) {
	blank, phText, lz := atoi(m["blank"]), atoi(m["ph_text"]), atoi(m["lz"])
	if p.kind != kText && p.kind != kEmpty {
		ph, fail := atoi(m["ph"]), atoi(m["fail"])
		nonMissing := total - blank - ph - atoi(m["nulls"])
		switch {
		case p.kind == kDouble && lz > 0:
			p.kind, p.leadZero = kText, true
		case fail > tolerance(nonMissing):
			p.note = fmt.Sprintf("kept as text: %d cell(s) are not %s (for example %q)", fail, kindWord(p.kind), m["example"])
			p.kind = kText
		}
		if p.kind != kText {
			j.coerce(p, "blank_to_null", blank, "empty or whitespace-only cells read as missing")
			j.coerce(p, "placeholder_to_null", ph, "placeholder text read as missing: "+strings.Join(typedPlaceholders[1:], " "))
			if fail > 0 {
				j.coerce(p, "unparsed_to_null", fail, fmt.Sprintf("cells that are not %s read as missing, e.g. %q", kindWord(p.kind), m["example"]))
				j.warn("column %s: %d cell(s) that are not %s were read as missing (e.g. %q)", p.name, fail, kindWord(p.kind), m["example"])
			}
			j.settleTyped(p, m, nonMissing-fail)
			if (p.kind == kDouble || p.kind == kBigint) && !p.eu && ph == 0 && fail == 0 &&
				atoi(m["currency"])+atoi(m["percent"])+atoi(m["thousands"]) == 0 {
				p.simple = true // every cell is a plain number or blank: a cast is enough
			}
			return
		}
	}
	if p.note != "" {
		j.warn("column %s %s", p.name, p.note)
	}
	j.coerce(p, "blank_to_null", blank, "empty or whitespace-only cells read as missing")
	j.coerce(p, "placeholder_to_null", phText, "placeholder text read as missing: "+strings.Join(textPlaceholders[1:], " "))
	p.simple = phText == 0 && blank == 0
	if p.leadZero {
		j.coerce(p, "keep_leading_zeros", lz, "numbers written with leading zeros are codes: the column is kept as text")
	}
}

func kindWord(k kind) string {
	switch k {
	case kDouble, kBigint:
		return "numbers"
	case kBool:
		return "booleans"
	case kTime, kTimeTZ:
		return "dates or timestamps"
	}
	return "text"
}

func (j *job) settleTyped(p *plan, m map[string]string, converted int64) {
	switch p.kind {
	case kDouble:
		maxAbs, _ := strconv.ParseFloat(m["maxabs"], 64)
		if atoi(m["frac"]) == 0 && maxAbs < math.Exp2(53) {
			p.kind = kBigint
		}
		if p.eu {
			j.coerce(p, "decimal_comma", atoi(m["decimal_comma"]), "',' is the decimal separator (12,05 = 12.05)")
			j.coerce(p, "thousands_separator", atoi(m["thousands"]), "'.' groups thousands (1.234 = 1234)")
		} else {
			j.coerce(p, "thousands_separator", atoi(m["thousands"]), "',' groups thousands (1,234 = 1234)")
		}
		j.coerce(p, "currency", atoi(m["currency"]), "currency symbols ($ € £) removed; the number is kept")
		j.coerce(p, "percent", atoi(m["percent"]), "'%' removed; values stay in percent units (37% = 37)")
		if p.eu {
			j.rules.DecimalSeparator = ","
		}
	case kBool:
		tl, fl := m["true_text"], m["false_text"]
		j.rules.BooleanLabels = append(j.rules.BooleanLabels, &datasetsv1.BooleanLabels{Column: p.name, TrueLabel: tl, FalseLabel: fl})
		detail := "true/t/yes/y = true, false/f/no/n = false (any case)"
		if tl != "" || fl != "" {
			detail = fmt.Sprintf("%q = true, %q = false (%s)", tl, fl, detail)
		}
		j.coerce(p, "parse_boolean", converted, detail)
	case kTime, kTimeTZ:
		parts := []string{}
		if n := atoi(m["iso"]); n > 0 {
			parts = append(parts, fmt.Sprintf("ISO 8601: %d", n))
		}
		for _, f := range p.formats {
			if n := atoi(m["fmt:"+f]); n > 0 {
				parts = append(parts, fmt.Sprintf("%s: %d", f, n))
			}
		}
		tz := "no time zone; read as UTC wall-clock time"
		if p.kind == kTimeTZ {
			tz = "offsets converted to UTC; cells without an offset read as UTC"
		}
		j.coerce(p, "parse_datetime", converted, strings.Join(parts, "; ")+" ("+tz+")")
	}
}

// debugSQL appends analysis queries to the file named by VDS_INGEST_DEBUG_SQL (for tuning).
func debugSQL(q string) {
	if p := os.Getenv("VDS_INGEST_DEBUG_SQL"); p != "" {
		if f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			fmt.Fprintln(f, q+"\n--")
			f.Close()
		}
	}
}
