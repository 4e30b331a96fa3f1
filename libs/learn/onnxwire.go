package learn

import (
	"math"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// A minimal writer of ONNX ModelProto messages. The ONNX format is a protobuf schema; this file
// writes only the messages and fields an exported vds model needs, straight with protowire, using
// the schema's published field numbers. Nothing here parses ONNX.

// ONNX tensor element types (TensorProto.DataType).
const (
	onnxFloat  = 1
	onnxInt64  = 7
	onnxString = 8
	onnxDouble = 11
)

// ONNX attribute kinds (AttributeProto.AttributeType).
const (
	attrKindFloat   = 1
	attrKindInt     = 2
	attrKindString  = 3
	attrKindTensor  = 4
	attrKindFloats  = 6
	attrKindInts    = 7
	attrKindStrings = 8
)

// onnxAttr is one encoded AttributeProto.
type onnxAttr []byte

func attrHead(name string, kind int) []byte {
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(kind))
}

func aFloat(name string, v float32) onnxAttr {
	b := attrHead(name, attrKindFloat)
	b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(v))
}

func aInt(name string, v int64) onnxAttr {
	b := attrHead(name, attrKindInt)
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func aString(name, v string) onnxAttr {
	b := attrHead(name, attrKindString)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	return protowire.AppendString(b, v)
}

func packedFloats(v []float64) []byte {
	var p []byte
	for _, x := range v {
		p = protowire.AppendFixed32(p, math.Float32bits(float32(x)))
	}
	return p
}

func packedInts(v []int64) []byte {
	var p []byte
	for _, x := range v {
		p = protowire.AppendVarint(p, uint64(x))
	}
	return p
}

func aFloats(name string, v []float64) onnxAttr {
	b := attrHead(name, attrKindFloats)
	b = protowire.AppendTag(b, 7, protowire.BytesType)
	return protowire.AppendBytes(b, packedFloats(v))
}

func aTensor(name string, tensor []byte) onnxAttr {
	b := attrHead(name, attrKindTensor)
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	return protowire.AppendBytes(b, tensor)
}

func aInts(name string, v []int64) onnxAttr {
	b := attrHead(name, attrKindInts)
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	return protowire.AppendBytes(b, packedInts(v))
}

func aStrings(name string, v []string) onnxAttr {
	b := attrHead(name, attrKindStrings)
	for _, s := range v {
		b = protowire.AppendTag(b, 9, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	return b
}

// onnxGraph collects the nodes, constants, inputs and outputs of one GraphProto.
type onnxGraph struct {
	nodes, inits, inputs, outputs [][]byte
	n                             int
	taken                         map[string]bool
}

// tmp returns a fresh internal value name.
func (g *onnxGraph) tmp(hint string) string {
	for {
		g.n++
		s := "vds_" + hint + "_" + strconv.Itoa(g.n)
		if !g.taken[s] {
			g.taken[s] = true
			return s
		}
	}
}

// node appends a NodeProto and returns its first output's name.
func (g *onnxGraph) node(op, domain string, in, out []string, attrs ...onnxAttr) string {
	var b []byte
	for _, s := range in {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range out {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, out[0]+"_"+op)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, op)
	for _, a := range attrs {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendBytes(b, a)
	}
	if domain != "" {
		b = protowire.AppendTag(b, 7, protowire.BytesType)
		b = protowire.AppendString(b, domain)
	}
	g.nodes = append(g.nodes, b)
	return out[0]
}

// op is node with one fresh output.
func (g *onnxGraph) op(op, domain string, in []string, attrs ...onnxAttr) string {
	return g.node(op, domain, in, []string{g.tmp(op)}, attrs...)
}

// constFloats adds a float tensor initializer of the given shape.
func (g *onnxGraph) constFloats(dims []int64, v []float64) string {
	name := g.tmp("const")
	var b []byte
	for _, d := range dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, onnxFloat)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendBytes(b, packedFloats(v))
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	b = protowire.AppendString(b, name)
	g.inits = append(g.inits, b)
	return name
}

// tensorDoubles encodes a double TensorProto.
func tensorDoubles(name string, dims []int64, v []float64) []byte {
	var b []byte
	for _, d := range dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, onnxDouble)
	var p []byte
	for _, x := range v {
		p = protowire.AppendFixed64(p, math.Float64bits(x))
	}
	b = protowire.AppendTag(b, 10, protowire.BytesType)
	b = protowire.AppendBytes(b, p)
	if name != "" {
		b = protowire.AppendTag(b, 8, protowire.BytesType)
		b = protowire.AppendString(b, name)
	}
	return b
}

// constDoubles adds a double tensor initializer of the given shape.
func (g *onnxGraph) constDoubles(dims []int64, v []float64) string {
	name := g.tmp("const")
	g.inits = append(g.inits, tensorDoubles(name, dims, v))
	return name
}

// constInts adds an int64 tensor initializer of the given shape.
func (g *onnxGraph) constInts(dims []int64, v []int64) string {
	name := g.tmp("const")
	var b []byte
	for _, d := range dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, onnxInt64)
	b = protowire.AppendTag(b, 7, protowire.BytesType)
	b = protowire.AppendBytes(b, packedInts(v))
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	b = protowire.AppendString(b, name)
	g.inits = append(g.inits, b)
	return name
}

// valueInfo encodes a ValueInfoProto for a tensor; a negative dim is the symbolic batch size "N".
func valueInfo(name string, elem int, dims ...int64) []byte {
	var shape []byte
	for _, d := range dims {
		var dim []byte
		if d < 0 {
			dim = protowire.AppendTag(dim, 2, protowire.BytesType)
			dim = protowire.AppendString(dim, "N")
		} else {
			dim = protowire.AppendTag(dim, 1, protowire.VarintType)
			dim = protowire.AppendVarint(dim, uint64(d))
		}
		shape = protowire.AppendTag(shape, 1, protowire.BytesType)
		shape = protowire.AppendBytes(shape, dim)
	}
	var tt []byte
	tt = protowire.AppendTag(tt, 1, protowire.VarintType)
	tt = protowire.AppendVarint(tt, uint64(elem))
	tt = protowire.AppendTag(tt, 2, protowire.BytesType)
	tt = protowire.AppendBytes(tt, shape)
	var typ []byte
	typ = protowire.AppendTag(typ, 1, protowire.BytesType)
	typ = protowire.AppendBytes(typ, tt)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, typ)
}

// model encodes the ModelProto: IR version 8, the default opset 17 and ai.onnx.ml 3.
func (g *onnxGraph) model(graphName, doc string, meta map[string]string, metaOrder []string) []byte {
	var gb []byte
	for _, n := range g.nodes {
		gb = protowire.AppendTag(gb, 1, protowire.BytesType)
		gb = protowire.AppendBytes(gb, n)
	}
	gb = protowire.AppendTag(gb, 2, protowire.BytesType)
	gb = protowire.AppendString(gb, graphName)
	for _, t := range g.inits {
		gb = protowire.AppendTag(gb, 5, protowire.BytesType)
		gb = protowire.AppendBytes(gb, t)
	}
	if doc != "" {
		gb = protowire.AppendTag(gb, 10, protowire.BytesType)
		gb = protowire.AppendString(gb, doc)
	}
	for _, v := range g.inputs {
		gb = protowire.AppendTag(gb, 11, protowire.BytesType)
		gb = protowire.AppendBytes(gb, v)
	}
	for _, v := range g.outputs {
		gb = protowire.AppendTag(gb, 12, protowire.BytesType)
		gb = protowire.AppendBytes(gb, v)
	}
	opset := func(domain string, version int64) []byte {
		var o []byte
		if domain != "" {
			o = protowire.AppendTag(o, 1, protowire.BytesType)
			o = protowire.AppendString(o, domain)
		}
		o = protowire.AppendTag(o, 2, protowire.VarintType)
		return protowire.AppendVarint(o, uint64(version))
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, 8) // IR version 8
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, "vds")
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, "1")
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, "org.vdsproject")
	b = protowire.AppendTag(b, 7, protowire.BytesType)
	b = protowire.AppendBytes(b, gb)
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	b = protowire.AppendBytes(b, opset("", 17))
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	b = protowire.AppendBytes(b, opset(onnxML, 3))
	for _, k := range metaOrder {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendString(e, k)
		e = protowire.AppendTag(e, 2, protowire.BytesType)
		e = protowire.AppendString(e, meta[k])
		b = protowire.AppendTag(b, 14, protowire.BytesType)
		b = protowire.AppendBytes(b, e)
	}
	return b
}

const onnxML = "ai.onnx.ml"
