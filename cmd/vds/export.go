package main

import (
	"context"
	"fmt"
	"io"
	"os"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/ids"
)

func init() {
	register("export", command{
		usage: "export MODEL_ID [--format onnx|vds] [-o|--output FILE]",
		help:  "write a registered model as ONNX (preprocessing included) or as its signed data-only artifact",
		run:   cmdExport,
	})
}

func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", "vds export MODEL_ID [--format onnx|vds] [-o|--output FILE] — write a model as ONNX or as its signed artifact", stderr)
	var pf platformFlags
	pf.bind(fs)
	format := fs.String("format", "onnx", "onnx (ONNX ModelProto with the ai.onnx.ml operators) or vds (the signed SignedModelArtifact bytes)")
	outPath := fs.String("output", "", "file to write (default: MODEL_ID.onnx or MODEL_ID.pb; - for standard output)")
	shorthand(fs, "o", "output")
	var cf connFlags
	cf.bind(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"export takes one model ID: vds export mdl_… [--format onnx]"}
	}
	if err := ids.Check(pos[0], ids.Model); err != nil {
		return usageError{fmt.Sprintf("%q is not a model ID (mdl_…): %v", pos[0], err)}
	}
	if err := oneOf("format", *format, "onnx", "vds"); err != nil {
		return err
	}
	bar := newProgress(stderr, true)
	defer bar.done()
	c, _, stop, err := connect(ctx, &pf, &cf, bar)
	if err != nil {
		return err
	}
	defer stop()
	defer c.Close()
	resp, err := c.ML.Export(ctx, &mlv1.ExportRequest{ModelId: pos[0], Format: *format})
	if err != nil {
		return explain(err, "export")
	}
	path := *outPath
	if path == "" {
		path = pos[0] + ".onnx"
		if *format == "vds" {
			path = pos[0] + ".pb"
		}
	}
	if path == "-" {
		_, err := stdout.Write(resp.Content)
		return err
	}
	if err := os.WriteFile(path, resp.Content, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s, %d bytes)\n", path, resp.ContentType, len(resp.Content))
	return nil
}
