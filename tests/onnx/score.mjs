// Scores ONNX models exported by vds in ONNX Runtime (onnxruntime-node).
//
// Usage: node score.mjs DIR
// For every DIR/NAME.onnx with a DIR/NAME.json ({"inputs": [{"name", "text", "time", "values"}]}, a
// missing number written as null; time inputs are seconds since 1970 UTC, fed as double), runs the model on the inputs and writes DIR/NAME.out.json holding each
// output as {"dims": [...], "data": [...]}. The Go test libs/learn TestONNXExportMatchesVDS writes
// the fixtures and compares the outputs with vds's own predictions.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node score.mjs DIR');
  process.exit(2);
}
const names = readdirSync(dir).filter((f) => f.endsWith('.onnx')).map((f) => f.slice(0, -5)).sort();
if (names.length === 0) {
  console.error(`no .onnx files in ${dir}`);
  process.exit(2);
}
for (const name of names) {
  const spec = JSON.parse(readFileSync(join(dir, name + '.json'), 'utf8'));
  const session = await ort.InferenceSession.create(join(dir, name + '.onnx'));
  const feeds = {};
  for (const inp of spec.inputs) {
    const n = inp.values.length;
    if (inp.text) {
      feeds[inp.name] = new ort.Tensor('string', inp.values.map((v) => (v === null ? '' : String(v))), [n, 1]);
    } else if (inp.time) {
      // datetimes: seconds since 1970-01-01 UTC as double
      feeds[inp.name] = new ort.Tensor('float64', Float64Array.from(inp.values, (v) => (v === null ? NaN : v)), [n, 1]);
    } else {
      feeds[inp.name] = new ort.Tensor('float32', Float32Array.from(inp.values, (v) => (v === null ? NaN : v)), [n, 1]);
    }
  }
  const res = await session.run(feeds);
  const out = {};
  for (const [k, t] of Object.entries(res)) {
    out[k] = { dims: Array.from(t.dims, Number), data: Array.from(t.data, (v) => (typeof v === 'number' ? v : String(v))) };
  }
  writeFileSync(join(dir, name + '.out.json'), JSON.stringify(out));
  console.log(`${name}: scored ${spec.inputs.length ? spec.inputs[0].values.length : 0} rows, outputs ${session.outputNames.join(', ')}`);
}
