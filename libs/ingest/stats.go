package ingest

import (
	"bytes"
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/semantic"
)

func (j *job) checkNotBlank() error {
	head, err := readHead(j.src, sniffBytes)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(head)) == 0 {
		return fmt.Errorf("%w: the file holds only whitespace", ErrEmpty)
	}
	return nil
}

// copyTyped writes formats that carry their own types (Parquet, Arrow, JSON) with unique names.
func (j *job) copyTyped() ([]*datasetsv1.Column, error) {
	src := duck.Literal(j.src)
	switch j.rules.Format {
	case FormatParquet:
		if err := j.exec("CREATE VIEW src AS SELECT * FROM " + duck.ParquetScan(j.src)); err != nil {
			return nil, fmt.Errorf("%w: cannot read the Parquet file: %v", ErrCorrupt, cleanErr(err))
		}
	case FormatJSON, FormatNDJSON:
		j.rules.Encoding = EncUTF8
		if err := j.exec("CREATE TABLE src AS SELECT * FROM read_json(" + src + ", format = 'auto', sample_size = 20480, hive_partitioning = false)"); err != nil {
			return nil, fmt.Errorf("%w: cannot read the JSON: %v", ErrCorrupt, cleanErr(err))
		}
	case FormatArrow:
		release, err := j.registerArrow("src")
		if err != nil {
			return nil, err
		}
		defer release()
	}
	desc, err := j.describeQuery("SELECT * FROM src")
	if err != nil {
		return nil, err
	}
	orig := make([]string, len(desc))
	for i, d := range desc {
		orig[i] = d.Name
	}
	names := uniqueNames(orig, true)
	sel := make([]string, len(desc))
	cols := make([]*datasetsv1.Column, len(desc))
	for i := range desc {
		// Positional references keep duplicate source names apart.
		sel[i] = "#" + fmt.Sprint(i+1) + " AS " + duck.Ident(names[i])
		if nestedType(desc[i].Type) {
			// Objects, lists and maps have no place in a table of columns: each value is kept as
			// its JSON text (a text column the analyses treat as categories or free text).
			sel[i] = "to_json(#" + fmt.Sprint(i+1) + ")::VARCHAR AS " + duck.Ident(names[i])
			j.warn("column %s holds nested values (%s): stored as JSON text; flatten it into columns to analyse its parts", names[i], nestedWord(desc[i].Type))
		}
		cols[i] = &datasetsv1.Column{Name: names[i]}
		if names[i] != orig[i] {
			cols[i].OriginalName = orig[i]
			j.warn("column %d renamed from %q to %q", i+1, orig[i], names[i])
		}
	}
	if len(desc) == 0 {
		return nil, fmt.Errorf("%w: no columns", ErrEmpty)
	}
	j.progress(0.5, "writing parquet")
	if err := j.exec("COPY (SELECT " + strings.Join(sel, ", ") + " FROM src) TO " + duck.Literal(j.tmpParquet()) + " (FORMAT parquet, COMPRESSION zstd)"); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, cleanErr(err))
	}
	return cols, nil
}

func (j *job) describeQuery(q string) ([]duck.ColumnInfo, error) {
	rows, err := j.conn.SQL().QueryContext(j.ctx, "DESCRIBE "+q)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, cleanErr(err))
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []duck.ColumnInfo
	for rows.Next() {
		vals := make([]sql.NullString, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, duck.ColumnInfo{Name: vals[0].String, Type: vals[1].String})
	}
	return out, rows.Err()
}

// physicalType names a DuckDB type the way Arrow prints it.
func physicalType(t string) string {
	u := strings.ToUpper(t)
	switch u {
	case "BIGINT":
		return "int64"
	case "INTEGER":
		return "int32"
	case "SMALLINT":
		return "int16"
	case "TINYINT":
		return "int8"
	case "UBIGINT":
		return "uint64"
	case "UINTEGER":
		return "uint32"
	case "USMALLINT":
		return "uint16"
	case "UTINYINT":
		return "uint8"
	case "DOUBLE":
		return "double"
	case "FLOAT":
		return "float"
	case "VARCHAR":
		return "string"
	case "BOOLEAN":
		return "bool"
	case "TIMESTAMP":
		return "timestamp[us]"
	case "TIMESTAMP WITH TIME ZONE":
		return "timestamp[us, tz=UTC]"
	case "TIMESTAMP_MS":
		return "timestamp[ms]"
	case "TIMESTAMP_NS":
		return "timestamp[ns]"
	case "TIMESTAMP_S":
		return "timestamp[s]"
	case "DATE":
		return "date32"
	case "TIME":
		return "time64[us]"
	case "BLOB":
		return "binary"
	case "HUGEINT":
		return "decimal128(38, 0)"
	}
	if strings.HasPrefix(u, "DECIMAL") {
		return "decimal128" + strings.TrimPrefix(u, "DECIMAL")
	}
	return strings.ToLower(t)
}

// nestedType reports whether a DuckDB type is not a single value: a struct, list, array, map, union
// or JSON.
func nestedType(t string) bool {
	u := strings.ToUpper(strings.TrimSpace(t))
	return strings.HasPrefix(u, "STRUCT") || strings.HasPrefix(u, "MAP") || strings.HasPrefix(u, "UNION") ||
		strings.HasSuffix(u, "]") || u == "JSON"
}

// nestedWord says what a nested type holds, for a warning.
func nestedWord(t string) string {
	u := strings.ToUpper(strings.TrimSpace(t))
	switch {
	case strings.HasSuffix(u, "]"):
		return "lists"
	case strings.HasPrefix(u, "MAP"):
		return "maps"
	}
	return "objects"
}

func kindOf(t string) (frame.Kind, bool) {
	u := strings.ToUpper(t)
	switch {
	case nestedType(u) || u == "INTERVAL":
		return frame.String, false
	case strings.Contains(u, "INT"):
		return frame.Float, true
	case u == "DOUBLE", u == "FLOAT", strings.HasPrefix(u, "DECIMAL"):
		return frame.Float, false
	case u == "BOOLEAN":
		return frame.Bool, false
	case strings.HasPrefix(u, "TIMESTAMP"), u == "DATE":
		return frame.Time, false
	}
	return frame.String, false
}

// describe fills physical types, missing counts and semantic types, and returns the row count.
// What the Parquet metadata of the written file gives (row-group null counts, the minimum and
// maximum of integer columns) is read from it; one aggregate query over the file computes the rest,
// and only for the columns whose semantic type needs more: text (distinct count and lengths),
// integers that may be identifiers (distinct count), floating-point latitudes and longitudes
// (range). Boolean, timestamp and other floating-point columns need only their null counts.
func (j *job) describe(cols []*datasetsv1.Column) (int64, error) {
	pq := duck.ParquetScan(j.tmpParquet())
	desc, err := j.describeQuery("SELECT * FROM " + pq)
	if err != nil {
		return 0, err
	}
	if len(desc) != len(cols) {
		return 0, fmt.Errorf("internal: parquet has %d columns (%v), expected %d", len(desc), desc, len(cols))
	}
	kinds := make([]frame.Kind, len(desc))
	ints := make([]bool, len(desc))
	for i, d := range desc {
		kinds[i], ints[i] = kindOf(d.Type)
	}
	var rows int64
	if err := j.conn.SQL().QueryRowContext(j.ctx, "SELECT count(*) FROM "+pq).Scan(&rows); err != nil {
		return 0, fmt.Errorf("column statistics: %w", err)
	}
	nonNull := make([]int64, len(desc))
	distinct := make([]int64, len(desc))
	floats := make([]sql.NullFloat64, 3*len(desc)) // min, max, mean length
	scan := make([]bool, len(desc))
	var meta []colMeta
	if !j.opts.scanStats {
		if meta, err = j.parquetColumnMeta(desc); err != nil {
			return 0, err
		}
	}
	for i := range desc {
		scan[i] = true
		if meta == nil || !meta[i].ok {
			continue
		}
		m := meta[i]
		nonNull[i] = rows - m.nulls
		switch {
		case kinds[i] == frame.Bool, kinds[i] == frame.Time:
			scan[i] = false
		case kinds[i] == frame.Float && !ints[i]:
			// The range matters only for a latitude or longitude (and NaN, which the metadata
			// leaves out of it, would change that reading).
			scan[i] = latName(desc[i].Name) || lonName(desc[i].Name)
		case kinds[i] == frame.Float && (m.hasRange || nonNull[i] == 0):
			floats[3*i] = sql.NullFloat64{Float64: float64(m.min), Valid: m.hasRange}
			floats[3*i+1] = sql.NullFloat64{Float64: float64(m.max), Valid: m.hasRange}
			// The distinct count decides an identifier (a sequence min..max, or unique values
			// under an identifier's name); otherwise it matters only for 0/1 columns, where the
			// range bounds it (at most max-min+1 values).
			span := m.max - m.min + 1
			id, index := semantic.IdentifierName(desc[i].Name)
			needDistinct := nonNull[i] >= semantic.MinIdentifierValues && ((span == nonNull[i] && index) || id)
			scan[i] = needDistinct
			if !needDistinct && m.hasRange {
				distinct[i] = min(nonNull[i], span)
			}
		}
	}
	// Scan the rest: one query when they are few, else one per type (as wide files need).
	groups := map[string][]int{}
	var order []string
	var need []int
	for i, d := range desc {
		if !scan[i] {
			continue
		}
		need = append(need, i)
		if _, ok := groups[d.Type]; !ok {
			order = append(order, d.Type)
		}
		groups[d.Type] = append(groups[d.Type], i)
	}
	store := func(i int, v []string) {
		nonNull[i], distinct[i] = atoi(v[0]), atoi(v[1])
		for f := 0; f < 3; f++ {
			floats[3*i+f] = sql.NullFloat64{}
			if v[2+f] != "" {
				x, err := strconv.ParseFloat(v[2+f], 64)
				floats[3*i+f] = sql.NullFloat64{Float64: x, Valid: err == nil}
			}
		}
	}
	if len(need) > 0 && len(need) <= wideLimit {
		specs := make([]colSpec, len(need))
		for n, i := range need {
			specs[n] = colSpec{p: &plan{raw: desc[i].Name}, tmpl: statTemplates(desc[i].Type)}
		}
		vals, err := j.perColumnEach(specs, pq)
		if err != nil {
			return 0, fmt.Errorf("column statistics: %w", err)
		}
		for n, i := range need {
			store(i, vals[n])
		}
	} else if len(need) > 0 {
		for _, typ := range order {
			idx := groups[typ]
			plans := make([]*plan, len(idx))
			for n, i := range idx {
				plans[n] = &plan{raw: desc[i].Name}
			}
			vals, err := j.perColumn(plans, pq, "", "", statTemplates(typ))
			if err != nil {
				return 0, fmt.Errorf("column statistics: %w", err)
			}
			for n, i := range idx {
				store(i, vals[n])
			}
		}
	}
	for i, d := range desc {
		mn, mx, mean := floats[3*i].Float64, floats[3*i+1].Float64, floats[3*i+2].Float64
		c := cols[i]
		c.PhysicalType = physicalType(d.Type)
		c.MissingCount = rows - nonNull[i]
		st := semStats{
			Name: c.Name, Kind: kinds[i], IsInteger: ints[i], Count: rows, Missing: rows - nonNull[i],
			Distinct: min(distinct[i], nonNull[i]), Min: mn, Max: mx,
		}
		if kinds[i] == frame.String {
			st.MinLen, st.MaxLen, st.MeanLen, st.Min, st.Max = mn, mx, mean, 0, 0
		}
		// approx_count_distinct is within a few percent; an exact range of n integers with about n
		// distinct values is the sequence min..max.
		st.SequentialInts = ints[i] && nonNull[i] > 1 && mx-mn+1 == float64(nonNull[i]) && float64(st.Distinct) >= 0.9*float64(nonNull[i])
		c.SemanticType = inferSemantic(st)
	}
	return rows, nil
}

// statTemplates are describe's aggregates for a column of DuckDB type typ: non-missing count,
// approximate distinct count, minimum, maximum and mean length (text), as perColumn templates.
func statTemplates(typ string) []string {
	k, _ := kindOf(typ)
	var lo, hi string
	switch k {
	case frame.Float:
		lo, hi = "min({r})::DOUBLE", "max({r})::DOUBLE"
	case frame.Bool:
		lo, hi = "min({r}::INT)::DOUBLE", "max({r}::INT)::DOUBLE"
	case frame.Time:
		lo, hi = "epoch(min({r}))::DOUBLE", "epoch(max({r}))::DOUBLE"
	default:
		lo, hi = "min(length({r}))::DOUBLE", "max(length({r}))::DOUBLE"
	}
	ln := "NULL::DOUBLE"
	distinct := "approx_count_distinct({r})"
	if k == frame.String {
		if strings.ToUpper(typ) == "VARCHAR" {
			ln = "avg(length({r}))::DOUBLE"
		} else {
			lo, hi = "NULL::DOUBLE", "NULL::DOUBLE"
			distinct = "approx_count_distinct({r}::VARCHAR)"
		}
	}
	return []string{"count({r})", distinct, lo, hi, ln}
}

// colMeta is what the Parquet metadata says about one top-level column.
type colMeta struct {
	ok       bool  // every row group has a null count
	nulls    int64 // missing cells
	hasRange bool  // min and max are known integers (every row group with values has them)
	min, max int64
}

// parquetColumnMeta reads the row-group statistics of the written file, one entry per column of
// desc. A column is left !ok when the file's leaves do not map one to one onto desc's columns
// (nested types) or a row group lacks its null count.
func (j *job) parquetColumnMeta(desc []duck.ColumnInfo) ([]colMeta, error) {
	q := "SELECT column_id, path_in_schema, row_group_num_rows, stats_null_count, stats_min_value, stats_max_value FROM parquet_metadata(" +
		duck.Literal(j.tmpParquet()) + ")"
	rs, err := j.conn.SQL().QueryContext(j.ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read parquet metadata: %w", err)
	}
	defer rs.Close()
	out := make([]colMeta, len(desc))
	seen := make([]bool, len(desc))
	for i := range out {
		out[i] = colMeta{ok: true, hasRange: true}
	}
	nested := false
	for rs.Next() {
		var id, groupRows int64
		var path string
		var nulls sql.NullInt64
		var lo, hi sql.NullString
		if err := rs.Scan(&id, &path, &groupRows, &nulls, &lo, &hi); err != nil {
			return nil, err
		}
		if id < 0 || int(id) >= len(desc) || path != desc[id].Name {
			nested = true
			continue
		}
		m := &out[id]
		if !nulls.Valid {
			m.ok = false
			continue
		}
		m.nulls += nulls.Int64
		if groupRows-nulls.Int64 <= 0 {
			continue
		}
		a, errA := strconv.ParseInt(lo.String, 10, 64)
		b, errB := strconv.ParseInt(hi.String, 10, 64)
		switch {
		case !lo.Valid || !hi.Valid || errA != nil || errB != nil:
			m.hasRange = false
		case !seen[id]:
			m.min, m.max, seen[id] = a, b, true
		default:
			m.min, m.max = min(m.min, a), max(m.max, b)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	if nested {
		return nil, nil
	}
	for i := range out {
		if !seen[i] {
			out[i].hasRange = false
		}
	}
	return out, nil
}

// semStats mirrors semantic.Stats (package libs/semantic) so that the switch is a one-line change.
type semStats struct {
	Name                    string
	Kind                    frame.Kind
	IsInteger               bool
	Count, Missing          int64
	Distinct                int64
	MinLen, MaxLen, MeanLen float64
	Min, Max                float64
	SequentialInts          bool
}

var idName = regexp.MustCompile(`(?i)(^|[_\s.-])(id|uuid|guid|key)$|[a-z](ID|Id)$|^(id|uuid|guid)[_\s]`)

// inferSemantic is a minimal stand-in for semantic.Infer.
func inferSemantic(s semStats) commonv1.SemanticType {
	n := s.Count - s.Missing
	if n <= 0 {
		return commonv1.SemanticType_SEMANTIC_TYPE_EMPTY
	}
	unique := s.Distinct >= n*98/100
	switch s.Kind {
	case frame.Bool:
		return commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN
	case frame.Time:
		return commonv1.SemanticType_SEMANTIC_TYPE_DATETIME
	case frame.Float:
		switch {
		case latName(s.Name) && s.Min >= -90 && s.Max <= 90:
			return commonv1.SemanticType_SEMANTIC_TYPE_LATITUDE
		case lonName(s.Name) && s.Min >= -180 && s.Max <= 180:
			return commonv1.SemanticType_SEMANTIC_TYPE_LONGITUDE
		case s.IsInteger && semantic.IntegerIdentifier(s.Name, n, unique, s.SequentialInts):
			// Profiling's rule (it needs the name too: a sequential "value" or "amount" is a
			// measure), with uniqueness from the approximate distinct count.
			return commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER
		case s.IsInteger && s.Distinct <= 2 && s.Min >= 0 && s.Max <= 1:
			return commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN
		}
		return commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC
	}
	switch {
	case unique && n >= 20 && s.MaxLen <= 64 && (s.MeanLen <= 24 || idName.MatchString(s.Name)):
		return commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER
	case s.MeanLen > 50 || (s.Distinct*2 > n && s.MeanLen > 20):
		return commonv1.SemanticType_SEMANTIC_TYPE_TEXT
	}
	return commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL
}

func latName(name string) bool {
	l := strings.ToLower(name)
	return l == "lat" || l == "latitude" || strings.HasSuffix(l, "_lat") || strings.HasSuffix(l, "latitude")
}

func lonName(name string) bool {
	l := strings.ToLower(name)
	return l == "lon" || l == "lng" || l == "long" || l == "longitude" || strings.HasSuffix(l, "_lon") || strings.HasSuffix(l, "_lng") || strings.HasSuffix(l, "longitude")
}
