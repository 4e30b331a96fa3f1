package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// strictJSON is the marshaler of the REST API: runtime.JSONPb whose decoder refuses a body with a
// field the request does not have (its UnmarshalOptions keep DiscardUnknown false) and turns
// protojson's errors into sentences that name the field, what it expected and, for an unknown
// field, the names the message accepts. grpc-gateway answers a decoder error with InvalidArgument
// carrying the error's text.
type strictJSON struct{ *runtime.JSONPb }

func (s strictJSON) NewDecoder(r io.Reader) runtime.Decoder {
	d := json.NewDecoder(r)
	return runtime.DecoderFunc(func(v any) error {
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			var mbe *http.MaxBytesError
			if errors.Is(err, io.EOF) || errors.As(err, &mbe) {
				return err // an empty body is an empty request; the body limit has its own answer
			}
			return fmt.Errorf("the request body is not valid JSON: %v", err)
		}
		if d.More() {
			return errors.New("the request body has data after its JSON object: send one JSON object")
		}
		return decodeBody(s.JSONPb.UnmarshalOptions, raw, v)
	})
}

// decodeBody unmarshals a JSON body into v (a proto message) with o, explaining a failure.
func decodeBody(o protojson.UnmarshalOptions, raw []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return json.Unmarshal(raw, v)
	}
	err := o.Unmarshal(raw, m)
	if err == nil {
		return nil
	}
	// Only a body protojson refused can hold JSON numbers, booleans or nulls where text values go
	// (it takes only strings there): rewrite those and try again, off the path of every valid body.
	if c, ok := coerceTextValues(raw, m.ProtoReflect().Descriptor()); ok {
		raw = c
		if err = o.Unmarshal(raw, m); err == nil {
			return nil
		}
	}
	if msg := explainBody(raw, m.ProtoReflect().Descriptor()); msg != "" {
		return errors.New(msg)
	}
	return fmt.Errorf("the request body is not a valid %s: %s", m.ProtoReflect().Descriptor().Name(),
		strings.TrimPrefix(err.Error(), "proto: "))
}

// explainBody finds the first field of the JSON body that md does not have or whose value has the
// wrong type, and says so; "" when it finds none (protojson's own error is used then).
func explainBody(raw []byte, md protoreflect.MessageDescriptor) string {
	var v any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return ""
	}
	if _, ok := v.(map[string]any); !ok {
		return fmt.Sprintf("the request body must be a JSON object (a %s), not %s", md.Name(), jsonKind(v))
	}
	return explainMessage("", v, md)
}

func explainMessage(path string, v any, md protoreflect.MessageDescriptor) string {
	if strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return "" // well-known types have their own JSON forms (timestamps, durations, Struct…)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return mismatch(path, "an object ("+string(md.Name())+")", v)
	}
	fields := md.Fields()
	for _, k := range sortedKeys(obj) {
		fd := fields.ByJSONName(k)
		if fd == nil {
			fd = fields.ByTextName(k)
		}
		p := join(path, k)
		if fd == nil {
			names := make([]string, 0, fields.Len())
			for i := 0; i < fields.Len(); i++ {
				names = append(names, fields.Get(i).JSONName())
			}
			return fmt.Sprintf("unknown field %q in the request body: %s has the fields %s", p, md.Name(), strings.Join(names, ", "))
		}
		if msg := explainField(p, obj[k], fd); msg != "" {
			return msg
		}
	}
	return ""
}

func explainField(path string, v any, fd protoreflect.FieldDescriptor) string {
	if v == nil {
		return "" // null is the default value
	}
	switch {
	case fd.IsMap():
		obj, ok := v.(map[string]any)
		if !ok {
			return mismatch(path, "an object of "+kindName(fd.MapValue(), true), v)
		}
		for _, k := range sortedKeys(obj) {
			if msg := explainValue(path+"["+strconv.Quote(k)+"]", obj[k], fd.MapValue()); msg != "" {
				return msg
			}
		}
		return ""
	case fd.IsList():
		list, ok := v.([]any)
		if !ok {
			return mismatch(path, "a list of "+kindName(fd, true), v)
		}
		for i, e := range list {
			if msg := explainValue(fmt.Sprintf("%s[%d]", path, i), e, fd); msg != "" {
				return msg
			}
		}
		return ""
	}
	return explainValue(path, v, fd)
}

// explainValue checks one value of a field (an element for a list, a value for a map) against the
// JSON forms protojson accepts.
func explainValue(path string, v any, fd protoreflect.FieldDescriptor) string {
	if v == nil {
		return ""
	}
	want := kindName(fd, false)
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return explainMessage(path, v, fd.Message())
	case protoreflect.StringKind, protoreflect.BytesKind:
		if _, ok := v.(string); !ok {
			return mismatch(path, want, v)
		}
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			return mismatch(path, want, v)
		}
	case protoreflect.EnumKind:
		if fd.Enum().FullName() == "google.protobuf.NullValue" {
			return ""
		}
		switch x := v.(type) {
		case string:
			if fd.Enum().Values().ByName(protoreflect.Name(x)) == nil {
				return mismatch(path, want, v)
			}
		case json.Number:
			if _, err := strconv.ParseInt(x.String(), 10, 32); err != nil {
				return mismatch(path, want, v)
			}
		default:
			return mismatch(path, want, v)
		}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		switch x := v.(type) {
		case json.Number:
		case string:
			if _, err := strconv.ParseFloat(x, 64); err != nil { // also "NaN", "Infinity", "-Infinity"
				return mismatch(path, want, v)
			}
		default:
			return mismatch(path, want, v)
		}
	default: // integers
		var s string
		switch x := v.(type) {
		case json.Number:
			s = x.String()
		case string:
			s = x
		default:
			return mismatch(path, want, v)
		}
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			// protojson takes an exponent form of a whole number too (1e3).
			if f, err := strconv.ParseFloat(s, 64); err != nil || f != math.Trunc(f) {
				return mismatch(path, want, v)
			}
		}
	}
	return ""
}

// kindName says in words what a field's value must be ("a number", "one of TASK_BINARY, …").
func kindName(fd protoreflect.FieldDescriptor, plural bool) string {
	pick := func(one, many string) string {
		if plural {
			return many
		}
		return one
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return pick("an object ("+string(fd.Message().Name())+")", "objects ("+string(fd.Message().Name())+")")
	case protoreflect.StringKind:
		return pick("a string", "strings")
	case protoreflect.BytesKind:
		return pick("a base64 string", "base64 strings")
	case protoreflect.BoolKind:
		return pick("true or false", "true or false values")
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		names := make([]string, 0, vals.Len())
		for i := 0; i < vals.Len(); i++ {
			names = append(names, string(vals.Get(i).Name()))
		}
		return pick("one of ", "values among ") + strings.Join(names, ", ")
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return pick("a number", "numbers")
	}
	return pick("an integer", "integers")
}

func mismatch(path, want string, got any) string {
	b, _ := json.Marshal(got)
	s := string(b)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return fmt.Sprintf("field %q of the request body must be %s, not %s %s", path, want, jsonKind(got), s)
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "the string"
	case json.Number:
		return "the number"
	case bool:
		return "the value"
	}
	return "null"
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// sortedKeys keeps the first reported problem the same from one request to the next.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
