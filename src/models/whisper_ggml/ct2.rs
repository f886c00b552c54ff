//! Reading CTranslate2's `model.bin`: its variables (name, shape, type, data offset) and aliases.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};

use anyhow::{Context, Result, anyhow, bail, ensure};

/// CTranslate2's `DataType` ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl DType {
    pub(super) fn from_id(id: u8) -> Result<Self> {
        Ok(match id {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::Bf16,
            _ => bail!("unknown data type id {id}"),
        })
    }

    pub(super) fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::Bf16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }
}

/// One variable's header; the data stays in the file at `offset`.
#[derive(Debug)]
pub(super) struct Var {
    pub(super) dims: Vec<usize>,
    pub(super) dtype: DType,
    pub(super) offset: u64,
}

impl Var {
    pub(super) fn elements(&self) -> usize {
        self.dims.iter().product()
    }
}

/// The variable index of a `model.bin`, built by reading headers and seeking over the data.
#[derive(Debug)]
pub(super) struct Ct2Model {
    pub(super) vars: BTreeMap<String, Var>,
    /// Scalars (rank 0) as integers, read during indexing (e.g. `encoder/num_heads`).
    pub(super) scalars: BTreeMap<String, i64>,
}

impl Ct2Model {
    pub(super) fn read_index<R: Read + Seek>(r: &mut R) -> Result<Self> {
        let file_len = r.seek(SeekFrom::End(0))?;
        r.seek(SeekFrom::Start(0))?;
        let eof = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                anyhow!("CTranslate2 model is truncated ({file_len} bytes)")
            } else {
                anyhow!(e)
            }
        };
        let version = read_u32(r).map_err(eof)?;
        // Version 4 introduced the dtype byte this reader relies on; 6 is current.
        ensure!(
            (4..=6).contains(&version),
            "not a supported CTranslate2 model: format version {version} (expected 4 to 6)"
        );
        let spec = read_name(r).map_err(eof)?;
        ensure!(
            spec == "WhisperSpec",
            "not a Whisper model: CTranslate2 spec is {spec:?}"
        );
        let _revision = read_u32(r).map_err(eof)?;
        let count = read_u32(r).map_err(eof)?;

        let mut vars = BTreeMap::new();
        let mut scalars = BTreeMap::new();
        for _ in 0..count {
            let name = read_name(r).map_err(eof)?;
            let rank = read_u8(r).map_err(eof)?;
            let mut dims = Vec::with_capacity(rank.into());
            for _ in 0..rank {
                dims.push(read_u32(r).map_err(eof)? as usize);
            }
            let dtype = DType::from_id(read_u8(r).map_err(eof)?)
                .with_context(|| format!("variable {name}"))?;
            let n_bytes = read_u32(r).map_err(eof)? as u64;
            let offset = r.stream_position()?;
            let var = Var {
                dims,
                dtype,
                offset,
            };
            ensure!(
                var.elements() as u64 * dtype.size() as u64 == n_bytes,
                "variable {name}: {n_bytes} bytes do not hold {:?} of {dtype:?}",
                var.dims
            );
            ensure!(
                offset + n_bytes <= file_len,
                "CTranslate2 model is truncated ({file_len} bytes): variable {name} ends at byte {}",
                offset + n_bytes
            );
            if rank == 0 {
                let mut b = vec![0; n_bytes as usize];
                r.read_exact(&mut b).map_err(eof)?;
                if let Some(v) = scalar_int(dtype, &b) {
                    scalars.insert(name.clone(), v);
                }
            } else {
                r.seek(SeekFrom::Current(n_bytes as i64))?;
            }
            ensure!(
                vars.insert(name.clone(), var).is_none(),
                "variable {name} appears twice"
            );
        }
        // Aliases (the output projection aliases the token embedding) need nothing from us: the
        // ggml format ties them implicitly. Read them only to check the file is whole.
        let aliases = read_u32(r).map_err(eof)?;
        for _ in 0..aliases {
            read_name(r).map_err(eof)?;
            read_name(r).map_err(eof)?;
        }
        Ok(Self { vars, scalars })
    }

    pub(super) fn var(&self, name: &str) -> Result<&Var> {
        self.vars
            .get(name)
            .ok_or_else(|| anyhow!("CTranslate2 model has no variable {name}"))
    }

    pub(super) fn scalar(&self, name: &str) -> Result<i64> {
        self.scalars
            .get(name)
            .copied()
            .ok_or_else(|| anyhow!("CTranslate2 model has no integer scalar {name}"))
    }

    /// The number of `{prefix}/layer_N` blocks, N counting from 0 without gaps.
    pub(super) fn layer_count(&self, prefix: &str) -> usize {
        (0..)
            .take_while(|i| {
                let p = format!("{prefix}/layer_{i}/");
                self.vars
                    .range(p.clone()..)
                    .next()
                    .is_some_and(|(k, _)| k.starts_with(&p))
            })
            .count()
    }
}

pub(super) fn scalar_int(dtype: DType, b: &[u8]) -> Option<i64> {
    Some(match dtype {
        DType::I8 => i8::from_le_bytes(b.try_into().ok()?).into(),
        DType::I16 => i16::from_le_bytes(b.try_into().ok()?).into(),
        DType::I32 => i32::from_le_bytes(b.try_into().ok()?).into(),
        _ => return None,
    })
}

pub(super) fn read_u8(r: &mut impl Read) -> std::io::Result<u8> {
    let mut b = [0; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

pub(super) fn read_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// A `u16`-length-prefixed string; CTranslate2 counts (and writes) a trailing NUL.
pub(super) fn read_name(r: &mut impl Read) -> std::io::Result<String> {
    let mut len = [0; 2];
    r.read_exact(&mut len)?;
    let mut b = vec![0; u16::from_le_bytes(len).into()];
    r.read_exact(&mut b)?;
    if b.last() == Some(&0) {
        b.pop();
    }
    String::from_utf8(b).map_err(|_| std::io::Error::other("a variable name is not UTF-8"))
}
