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

func kindOf(t string) (frame.Kind, bool) {
	u := strings.ToUpper(t)
	switch {
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

// describe fills physical types, missing counts and semantic types with one aggregate query over
// the written Parquet file, and returns the row count.
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
	groups := map[string][]int{}
	var order []string
	for i, d := range desc {
		kinds[i], ints[i] = kindOf(d.Type)
		if _, ok := groups[d.Type]; !ok {
			order = append(order, d.Type)
		}
		groups[d.Type] = append(groups[d.Type], i)
	}
	var rows int64
	if err := j.conn.SQL().QueryRowContext(j.ctx, "SELECT count(*) FROM "+pq).Scan(&rows); err != nil {
		return 0, fmt.Errorf("column statistics: %w", err)
	}
	ints64 := make([]int64, 2*len(desc))
	floats := make([]sql.NullFloat64, 4*len(desc))
	for _, typ := range order {
		idx := groups[typ]
		k, _ := kindOf(typ)
		var lo, hi, ln string
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
		ln = "NULL::DOUBLE"
		distinct := "approx_count_distinct({r})"
		if k == frame.String {
			if strings.ToUpper(typ) == "VARCHAR" {
				ln = "avg(length({r}))::DOUBLE"
			} else {
				lo, hi = "NULL::DOUBLE", "NULL::DOUBLE"
				distinct = "approx_count_distinct({r}::VARCHAR)"
			}
		}
		plans := make([]*plan, len(idx))
		for n, i := range idx {
			plans[n] = &plan{raw: desc[i].Name}
		}
		vals, err := j.perColumn(plans, pq, "", "", []string{"count({r})", distinct, lo, hi, ln})
		if err != nil {
			return 0, fmt.Errorf("column statistics: %w", err)
		}
		for n, i := range idx {
			v := vals[n]
			ints64[2*i], ints64[2*i+1] = atoi(v[0]), atoi(v[1])
			for f := 0; f < 3; f++ {
				if v[2+f] != "" {
					x, err := strconv.ParseFloat(v[2+f], 64)
					floats[4*i+f] = sql.NullFloat64{Float64: x, Valid: err == nil}
				}
			}
		}
	}
	for i, d := range desc {
		nonNull, distinct := ints64[2*i], ints64[2*i+1]
		mn, mx, mean := floats[4*i].Float64, floats[4*i+1].Float64, floats[4*i+2].Float64
		c := cols[i]
		c.PhysicalType = physicalType(d.Type)
		c.MissingCount = rows - nonNull
		st := semStats{
			Name: c.Name, Kind: kinds[i], IsInteger: ints[i], Count: rows, Missing: rows - nonNull,
			Distinct: min(distinct, nonNull), Min: mn, Max: mx,
		}
		if kinds[i] == frame.String {
			st.MinLen, st.MaxLen, st.MeanLen, st.Min, st.Max = mn, mx, mean, 0, 0
		}
		// approx_count_distinct is within a few percent; an exact range of n integers with about n
		// distinct values is the sequence min..max.
		st.SequentialInts = ints[i] && nonNull > 1 && mx-mn+1 == float64(nonNull) && float64(st.Distinct) >= 0.9*float64(nonNull)
		c.SemanticType = inferSemantic(st)
	}
	return rows, nil
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
	lname := strings.ToLower(s.Name)
	unique := s.Distinct >= n*98/100
	switch s.Kind {
	case frame.Bool:
		return commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN
	case frame.Time:
		return commonv1.SemanticType_SEMANTIC_TYPE_DATETIME
	case frame.Float:
		switch {
		case (lname == "lat" || lname == "latitude" || strings.HasSuffix(lname, "_lat") || strings.HasSuffix(lname, "latitude")) && s.Min >= -90 && s.Max <= 90:
			return commonv1.SemanticType_SEMANTIC_TYPE_LATITUDE
		case (lname == "lon" || lname == "lng" || lname == "long" || lname == "longitude" || strings.HasSuffix(lname, "_lon") || strings.HasSuffix(lname, "_lng") || strings.HasSuffix(lname, "longitude")) && s.Min >= -180 && s.Max <= 180:
			return commonv1.SemanticType_SEMANTIC_TYPE_LONGITUDE
		case s.IsInteger && n >= 20 && (s.SequentialInts || (unique && idName.MatchString(s.Name))):
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
