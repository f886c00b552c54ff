//! Reading and writing WAV files: the 16-bit PCM that `espeak-ng -w` writes, for the speech benchmarks. The chunk walk stops at
//! the end of the bytes whatever the chunk sizes say, so a truncated or hostile file is `None`, never a panic.

/// A 16-bit mono PCM WAV file's rate and samples.
pub fn read(bytes: &[u8]) -> Option<(u32, Vec<f32>)> {
    if bytes.get(..4)? != b"RIFF" || bytes.get(8..12)? != b"WAVE" {
        return None;
    }
    let (mut at, mut rate, mut data) = (12, None, None);
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().ok()?) as usize;
        let body = bytes.get(at + 8..(at + 8 + len).min(bytes.len()))?;
        match id {
            b"fmt " => {
                let u16_at =
                    |i: usize| Some(u16::from_le_bytes(body.get(i..i + 2)?.try_into().ok()?));
                // PCM, one channel, 16 bits, at a rate that resampling can work with.
                if (u16_at(0)?, u16_at(2)?, u16_at(14)?) != (1, 1, 16) {
                    return None;
                }
                let r = u32::from_le_bytes(body.get(4..8)?.try_into().ok()?);
                rate = Some(r).filter(|r| (1_000..=384_000).contains(r));
            }
            b"data" => data = Some(body),
            _ => {}
        }
        at += 8 + len + (len & 1);
    }
    let samples = data?
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect();
    Some((rate?, samples))
}

/// A 16-bit mono PCM WAV file of `samples` at `rate`.
pub fn write(rate: u32, samples: &[i16]) -> Vec<u8> {
    let data = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let samples = [0i16, 1000, -1000, 32_767, -32_768];
        let (rate, back) = read(&write(22_050, &samples)).unwrap();
        assert_eq!(rate, 22_050);
        let back: Vec<i16> = back.iter().map(|s| (s * 32_768.0) as i16).collect();
        assert_eq!(back, samples);
    }

    /// A WAV file of `pcm` at `rate` with a format chunk of (format, channels, bits).
    fn wav(rate: u32, (format, channels, bits): (u16, u16, u16), pcm: &[i16]) -> Vec<u8> {
        let data: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut b = b"RIFF".to_vec();
        b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        for v in [format, channels] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * 2).to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&data);
        b
    }

    #[test]
    fn reads_16_bit_mono_pcm_and_refuses_other_formats() {
        let (rate, samples) = read(&wav(22_050, (1, 1, 16), &[0, 16_384, -32_768])).unwrap();
        assert_eq!((rate, samples), (22_050, vec![0.0, 0.5, -1.0]));
        assert!(read(&wav(22_050, (3, 1, 32), &[0])).is_none(), "float");
        assert!(read(&wav(22_050, (1, 2, 16), &[0])).is_none(), "stereo");
        assert!(read(&wav(0, (1, 1, 16), &[0])).is_none(), "no rate");
        assert!(read(b"RIFF\x00\x00\x00\x00WAVE").is_none(), "no chunks");
    }
}
