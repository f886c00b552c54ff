//! The assets from the openai-whisper sdist: the mel filter bank (`.npz` of `.npy`) and the tiktoken vocabulary.

use std::io::{Cursor, Read};

use anyhow::{Context, Result, anyhow, bail, ensure};
use base64::Engine as _;

use super::N_FFT_BINS;

/// The `mel_{n_mels}` filter bank from `mel_filters.npz`: `n_mels` rows of 201 f32.
pub(super) fn mel_filters(npz: &[u8], n_mels: usize) -> Result<Vec<f32>> {
    let member = format!("mel_{n_mels}.npy");
    let mut zip =
        zip::ZipArchive::new(Cursor::new(npz)).context("mel_filters.npz is not a zip archive")?;
    let mut npy = Vec::new();
    zip.by_name(&member)
        .with_context(|| {
            format!("mel_filters.npz has no {member} (the model has {n_mels} mel bins)")
        })?
        .read_to_end(&mut npy)
        .with_context(|| format!("cannot read {member} from mel_filters.npz"))?;
    let (dims, data) = parse_npy_f32(&npy).with_context(|| format!("cannot read {member}"))?;
    ensure!(
        dims == [n_mels, N_FFT_BINS],
        "{member} has shape {dims:?}, expected [{n_mels}, {N_FFT_BINS}]"
    );
    Ok(data)
}

/// Parses a little-endian, C-order `.npy` array of `f4` or `f8`, returning its shape and values as f32.
pub(super) fn parse_npy_f32(b: &[u8]) -> Result<(Vec<usize>, Vec<f32>)> {
    ensure!(
        b.len() >= 10 && b.starts_with(b"\x93NUMPY"),
        "not a .npy file"
    );
    let (header_len, start) = match b[6] {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
        2 | 3 if b.len() >= 12 => (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12),
        v => bail!(".npy format version {v} is not supported"),
    };
    let header = b
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| anyhow!(".npy header is truncated or not text"))?;
    let field = |key: &str| -> Result<&str> {
        let at = header
            .find(&format!("'{key}':"))
            .ok_or_else(|| anyhow!(".npy header lacks {key}"))?;
        Ok(header[at + key.len() + 3..].trim_start())
    };
    let descr = field("descr")?;
    let elem = if descr.starts_with("'<f4'") {
        4
    } else if descr.starts_with("'<f8'") {
        8
    } else {
        bail!(
            ".npy data type {} is not little-endian float",
            descr.split(',').next().unwrap_or("")
        )
    };
    ensure!(
        field("fortran_order")?.starts_with("False"),
        ".npy array is in Fortran order"
    );
    let shape = field("shape")?;
    let shape = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| anyhow!(".npy shape is malformed"))?;
    let dims = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| anyhow!(".npy shape has {s:?}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let n: usize = dims.iter().product();
    let data = b
        .get(start + header_len..)
        .filter(|d| d.len() == n * elem)
        .ok_or_else(|| anyhow!(".npy data does not hold {dims:?} values of {elem} bytes"))?;
    let values = match elem {
        4 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        _ => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
    };
    Ok((dims, values))
}

/// Parses a `.tiktoken` file (`<base64 token> <rank>` per line) into tokens ordered by rank.
/// Ranks must be exactly `0..n`. Python's lenient base64 reads a bare `=` (rank 50256 of
/// `multilingual.tiktoken`) as the empty token; so does this.
pub(super) fn parse_tiktoken(text: &[u8]) -> Result<Vec<Vec<u8>>> {
    let text = std::str::from_utf8(text).context("not UTF-8 text")?;
    let mut by_rank: Vec<Option<Vec<u8>>> = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let mut parts = line.split_whitespace();
        let (Some(b64), Some(rank), None) = (parts.next(), parts.next(), parts.next()) else {
            bail!("line {} is not `<base64> <rank>`: {line:?}", i + 1);
        };
        let rank: usize = rank
            .parse()
            .map_err(|_| anyhow!("line {}: rank {rank:?} is not a number", i + 1))?;
        let b64 = b64.trim_end_matches('=');
        let token = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(b64)
            .map_err(|e| anyhow!("line {}: bad base64 token: {e}", i + 1))?;
        ensure!(
            rank < 1 << 20,
            "line {}: rank {rank} is implausibly large",
            i + 1
        );
        if by_rank.len() <= rank {
            by_rank.resize(rank + 1, None);
        }
        ensure!(
            by_rank[rank].replace(token).is_none(),
            "line {}: rank {rank} appears twice",
            i + 1
        );
    }
    by_rank
        .into_iter()
        .enumerate()
        .map(|(rank, t)| t.ok_or_else(|| anyhow!("rank {rank} is missing")))
        .collect()
}
