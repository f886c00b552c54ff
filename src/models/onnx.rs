//! A structural check of an ONNX model file before onnxruntime reads it. An ONNX file is a protobuf `ModelProto`;
//! this walks its wire format without a schema: every field well formed and inside the file, an IR version and an
//! operator set that onnxruntime knows, and one graph with nodes, inputs and outputs. A user can point `--tts` or
//! `--vad` at any file, and onnxruntime parses it in C++: a file that is not an ONNX model (a download cut short, a
//! renamed file, random bytes) gets a clear error here instead.

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};

/// The IR versions onnxruntime 1.2x reads (ONNX 1.6 to 1.17 write 6 to 10).
const IR_VERSIONS: std::ops::RangeInclusive<u64> = 3..=11;
/// Protobuf's own limit on a message.
const MAX_BYTES: u64 = 2 << 30;

/// One field of a protobuf message.
#[derive(Debug)]
enum Value<'a> {
    Varint(u64),
    Fixed,
    Bytes(&'a [u8]),
}

/// The fields of one protobuf message, in order; an error if any is malformed or runs past the end.
fn fields(mut b: &[u8]) -> Result<Vec<(u32, Value<'_>)>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b)?;
        let (number, wire) = (key >> 3, key & 7);
        ensure!(
            (1..=(1 << 29) - 1).contains(&number),
            "field number {number} out of range"
        );
        let value = match wire {
            0 => Value::Varint(varint(&mut b)?),
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                ensure!(b.len() >= n, "a fixed-width field runs past the end");
                b = &b[n..];
                Value::Fixed
            }
            2 => {
                let len = varint(&mut b)?;
                ensure!(
                    len <= b.len() as u64,
                    "a field of {len} bytes runs past the end"
                );
                let (body, rest) = b.split_at(len as usize);
                b = rest;
                Value::Bytes(body)
            }
            other => bail!("wire type {other} (groups are not used by ONNX)"),
        };
        out.push((number as u32, value));
    }
    Ok(out)
}

fn varint(b: &mut &[u8]) -> Result<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let Some((&byte, rest)) = b.split_first() else {
            bail!("a varint runs past the end");
        };
        *b = rest;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    bail!("a varint longer than 10 bytes")
}

/// Checks the bytes of an ONNX model; the error says what is wrong.
pub fn check(bytes: &[u8]) -> Result<()> {
    ensure!(
        bytes.len() as u64 <= MAX_BYTES,
        "larger than protobuf's 2 GB limit"
    );
    let model = fields(bytes).context("not an ONNX model")?;
    let (mut ir, mut graphs, mut opsets) = (None, Vec::new(), 0);
    for (number, value) in &model {
        match (number, value) {
            (1, Value::Varint(v)) => ir = Some(*v),
            (7, Value::Bytes(g)) => graphs.push(*g),
            (8, Value::Bytes(o)) => {
                let version = fields(o)
                    .context("not an ONNX model: a bad operator set")?
                    .iter()
                    .find_map(|(n, v)| match (n, v) {
                        (2, Value::Varint(v)) => Some(*v),
                        _ => None,
                    });
                ensure!(
                    version.is_some_and(|v| (1..=1000).contains(&v)),
                    "not an ONNX model: an operator set without a plausible version ({version:?})"
                );
                opsets += 1;
            }
            (1 | 7 | 8, _) => bail!("not an ONNX model: field {number} has the wrong type"),
            _ => {}
        }
    }
    let ir = ir.context("not an ONNX model: no IR version")?;
    ensure!(
        IR_VERSIONS.contains(&ir),
        "not an ONNX model onnxruntime reads: IR version {ir} (expected {IR_VERSIONS:?})"
    );
    ensure!(opsets > 0, "not an ONNX model: no operator set");
    let [graph] = graphs[..] else {
        bail!("not an ONNX model: {} graphs, expected 1", graphs.len());
    };
    let graph = fields(graph).context("not an ONNX model: a bad graph")?;
    let count = |want: u32| graph.iter().filter(|(n, _)| *n == want).count();
    let (nodes, inputs, outputs) = (count(1), count(11), count(12));
    ensure!(
        nodes > 0 && inputs > 0 && outputs > 0,
        "not an ONNX model: a graph with {nodes} nodes, {inputs} inputs and {outputs} outputs"
    );
    for (number, value) in &graph {
        if matches!(number, 1 | 5 | 11 | 12) {
            let Value::Bytes(body) = value else {
                bail!("not an ONNX model: graph field {number} has the wrong type");
            };
            fields(body)
                .with_context(|| format!("not an ONNX model: a bad graph field {number}"))?;
        }
    }
    Ok(())
}

/// [`check`] on a file; the error names it.
pub fn check_file(path: &Path) -> Result<()> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("{} not found", path.display()))?
        .len();
    ensure!(
        len <= MAX_BYTES,
        "{} is larger than protobuf's 2 GB limit",
        path.display()
    );
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    check(&bytes).with_context(|| format!("{} is not a usable ONNX model", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal model: IR version 8, opset 17, a graph with one node, one input and one output.
    fn minimal() -> Vec<u8> {
        let msg = |number: u8, body: &[u8]| {
            let mut v = vec![number << 3 | 2, body.len() as u8];
            v.extend_from_slice(body);
            v
        };
        let graph = [
            msg(1, b"\x1a\x03Abs"),
            msg(11, b"\x0a\x01x"),
            msg(12, b"\x0a\x01y"),
        ]
        .concat();
        [vec![0x08, 8], msg(8, &[0x10, 17]), msg(7, &graph)].concat()
    }

    #[test]
    fn a_minimal_model_passes_and_each_missing_part_is_named() {
        check(&minimal()).unwrap();
        let err = |b: &[u8]| format!("{:#}", check(b).unwrap_err());
        assert!(err(b"").contains("no IR version"));
        assert!(err(b"GGUF\x03\x00\x00\x00").contains("not an ONNX model"));
        let mut late = minimal();
        late[1] = 40;
        assert!(err(&late).contains("IR version 40"));
        let cut = minimal();
        assert!(err(&cut[..cut.len() - 3]).contains("runs past the end"));
        // No operator set.
        let no_opset: Vec<u8> = [&minimal()[..2], &minimal()[6..]].concat();
        assert!(
            err(&no_opset).contains("no operator set"),
            "{}",
            err(&no_opset)
        );
    }
}
