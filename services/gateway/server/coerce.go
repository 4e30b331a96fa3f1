package server

import (
	"bytes"
	"encoding/json"
	"strconv"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// textValueMaps are the map<string, string> fields whose values are data values written as text:
// a prediction row's values. JSON clients naturally send {"age": 22} or {"alone": true}; protojson
// takes only strings there, so the REST body's numbers and booleans become their text first
// ("22", "true"; a number keeps the digits it was written with), as the gRPC API takes them, and a
// JSON null becomes "", the missing value.
var textValueMaps = map[protoreflect.FullName]bool{
	"vds.ml.v1.Row.values": true,
}

// coerceTextValues rewrites the JSON numbers and booleans in the textValueMaps fields of a body
// for message md as strings; ok is false when there are none (or it is not JSON).
func coerceTextValues(raw []byte, md protoreflect.MessageDescriptor) (_ []byte, ok bool) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil || !coerceMessage(v, md) {
		return raw, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return raw, false
	}
	return b, true
}

func coerceMessage(v any, md protoreflect.MessageDescriptor) bool {
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	changed := false
	fields := md.Fields()
	for k, fv := range obj {
		fd := fields.ByJSONName(k)
		if fd == nil {
			fd = fields.ByTextName(k)
		}
		if fd == nil {
			continue // explainBody names it
		}
		switch {
		case fd.IsMap():
			m, ok := fv.(map[string]any)
			if !ok {
				continue
			}
			if textValueMaps[fd.FullName()] && fd.MapValue().Kind() == protoreflect.StringKind {
				for mk, mv := range m {
					switch x := mv.(type) {
					case json.Number:
						m[mk], changed = x.String(), true
					case bool:
						m[mk], changed = strconv.FormatBool(x), true
					case nil:
						// JSON null is a missing value, as "" is (protojson refuses null there).
						m[mk], changed = "", true
					}
				}
			} else if fd.MapValue().Kind() == protoreflect.MessageKind {
				for _, mv := range m {
					changed = coerceMessage(mv, fd.MapValue().Message()) || changed
				}
			}
		case fd.Kind() == protoreflect.MessageKind:
			if list, ok := fv.([]any); ok && fd.IsList() {
				for _, e := range list {
					changed = coerceMessage(e, fd.Message()) || changed
				}
			} else if !fd.IsList() {
				changed = coerceMessage(fv, fd.Message()) || changed
			}
		}
	}
	return changed
}
