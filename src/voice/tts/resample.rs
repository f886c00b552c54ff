//! Sample-rate conversion for mono audio: band-limited interpolation with a Kaiser-windowed sinc, so a
//! 22050 Hz voice can go out at 16, 24 or 48 kHz without the aliasing that linear interpolation leaves.
//!
//! The signal is taken as silent outside the given slice, which suits audio cut at pauses (a TTS sentence
//! starts and ends in near-silence); audio that arrives in pieces goes through a [`Stream`], which gives the
//! same output without seams.

/// Zero crossings of the sinc on each side of the centre: the filter's length, and its sharpness.
const ZERO_CROSSINGS: f64 = 16.0;
/// Pass band as a fraction of the lower Nyquist frequency; the rest is the transition band.
const ROLL_OFF: f64 = 0.95;
/// Kaiser window shape: about 80 dB of stop-band attenuation.
const KAISER_BETA: f64 = 8.0;
/// Conversions with more output phases than this compute the filter per sample instead of tabulating it.
const MAX_TABLE_PHASES: u64 = 4096;

/// Resamples `input`, sampled at `from` Hz, to `to` Hz. The output holds `ceil(len * to / from)` samples and
/// its sample `j` is the band-limited signal at time `j / to`. Equal rates, a zero rate or empty input return
/// the input unchanged.
pub fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    let mut stream = Stream::new(from, to);
    let mut out = stream.push(input);
    out.extend(stream.finish());
    out
}

/// A resampler for audio that arrives in pieces (a voice streamed from a server): the output is exactly what
/// [`resample`] gives for the whole input, handed out as soon as each sample's filter has the input it reads.
pub struct Stream {
    /// Output and input steps per common unit of time: output `j` sits at input position `j * down / up`.
    up: u64,
    down: u64,
    kernel: Option<Kernel>,
    table: Option<Vec<f64>>,
    weights: Vec<f64>,
    /// Input kept, from input index `start` on.
    input: Vec<f32>,
    start: u64,
    /// Input samples pushed so far.
    seen: u64,
    /// The next output sample's index.
    next: u64,
}

impl Stream {
    /// Equal or zero rates pass the input through.
    pub fn new(from: u32, to: u32) -> Stream {
        let passthrough = from == to || from == 0 || to == 0;
        let g = gcd(u64::from(from), u64::from(to)).max(1);
        let (up, down) = (u64::from(to) / g, u64::from(from) / g);
        let kernel = (!passthrough).then(|| Kernel::new(up, down));
        let taps = kernel.as_ref().map_or(0, |k| 2 * k.reach + 1);
        let table = kernel
            .as_ref()
            .filter(|_| up <= MAX_TABLE_PHASES)
            .map(|k| k.table(up, taps));
        Stream {
            up,
            down,
            kernel,
            table,
            weights: vec![0.0; taps],
            input: Vec::new(),
            start: 0,
            seen: 0,
            next: 0,
        }
    }

    /// More input; returns the output it completes.
    pub fn push(&mut self, input: &[f32]) -> Vec<f32> {
        if self.kernel.is_none() {
            return input.to_vec();
        }
        self.input.extend_from_slice(input);
        self.seen += input.len() as u64;
        self.emit(false)
    }

    /// The input has ended (silence after it): the rest of the output.
    pub fn finish(mut self) -> Vec<f32> {
        if self.kernel.is_none() {
            return Vec::new();
        }
        self.emit(true)
    }

    fn emit(&mut self, last: bool) -> Vec<f32> {
        let Some(kernel) = &self.kernel else {
            return Vec::new();
        };
        let reach = kernel.reach as u64;
        let taps = self.weights.len();
        let total = (self.seen * self.up).div_ceil(self.down);
        let mut out = Vec::new();
        loop {
            let j = self.next;
            let base = j * self.down / self.up;
            // Every tap of a sample before the end must have arrived; at the end, what is missing is silence.
            if (last && j >= total) || (!last && base + reach >= self.seen) {
                break;
            }
            let phase = j * self.down % self.up;
            let w: &[f64] = match &self.table {
                Some(t) => &t[phase as usize * taps..(phase as usize + 1) * taps],
                None => {
                    kernel.weights(phase as f64 / self.up as f64, &mut self.weights);
                    &self.weights
                }
            };
            let first = base as i64 - reach as i64;
            let mut acc = 0.0f64;
            // Only the taps that land inside the input contribute (the rest multiply silence).
            let lo = (-first).max(0) as usize;
            let hi = (self.seen as i64 - first).clamp(0, taps as i64) as usize;
            for (t, w) in w.iter().enumerate().take(hi).skip(lo) {
                let at = (first + t as i64) as u64 - self.start;
                acc += f64::from(self.input[at as usize]) * w;
            }
            out.push(acc as f32);
            self.next += 1;
        }
        // Input no later output reads again.
        let needed = (self.next * self.down / self.up).saturating_sub(reach);
        if needed > self.start {
            let drop = ((needed - self.start) as usize).min(self.input.len());
            self.input.drain(..drop);
            self.start += drop as u64;
        }
        out
    }
}

/// The low-pass interpolation filter, in units of input samples.
struct Kernel {
    /// Cut-off as a fraction of the input's Nyquist frequency.
    cutoff: f64,
    /// Half the filter's support, in input samples.
    half_width: f64,
    /// Taps on each side of the centre sample.
    reach: usize,
    /// I0(beta), the window's normaliser.
    i0_beta: f64,
}

impl Kernel {
    fn new(up: u64, down: u64) -> Self {
        let cutoff = ROLL_OFF * (up as f64 / down as f64).min(1.0);
        let half_width = ZERO_CROSSINGS / cutoff;
        Self {
            cutoff,
            half_width,
            reach: half_width.ceil() as usize,
            i0_beta: bessel_i0(KAISER_BETA),
        }
    }

    /// The filter's value at `x` input samples from the output instant.
    fn at(&self, x: f64) -> f64 {
        if x.abs() >= self.half_width {
            return 0.0;
        }
        let r = x / self.half_width;
        let window = bessel_i0(KAISER_BETA * (1.0 - r * r).sqrt()) / self.i0_beta;
        self.cutoff * sinc(self.cutoff * x) * window
    }

    /// Weights of taps `base - reach ..= base + reach` for an output instant `frac` (0 <= frac < 1) past `base`,
    /// normalised to sum to one so a constant signal keeps its level exactly.
    fn weights(&self, frac: f64, out: &mut [f64]) {
        let reach = self.reach as f64;
        let mut sum = 0.0;
        for (t, w) in out.iter_mut().enumerate() {
            *w = self.at(frac + reach - t as f64);
            sum += *w;
        }
        if sum.abs() > 1e-9 {
            for w in out.iter_mut() {
                *w /= sum;
            }
        }
    }

    /// Weights for every phase `p / up`, phase after phase.
    fn table(&self, up: u64, taps: usize) -> Vec<f64> {
        let mut table = vec![0.0; up as usize * taps];
        for (p, row) in table.chunks_exact_mut(taps).enumerate() {
            self.weights(p as f64 / up as f64, row);
        }
        table
    }
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

/// The modified Bessel function of the first kind, order zero (power series; converges quickly for the
/// arguments a Kaiser window uses).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut sum, mut term) = (1.0, 1.0);
    for k in 1..64 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, rate: u32, len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin() as f32)
            .collect()
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn equal_rates_and_empty_input_pass_through() {
        let x = vec![0.1, -0.2, 0.3];
        assert_eq!(resample(&x, 22050, 22050), x);
        assert!(resample(&[], 22050, 16000).is_empty());
        assert_eq!(resample(&x, 0, 16000), x);
    }

    #[test]
    fn output_length_follows_the_ratio() {
        assert_eq!(resample(&vec![0.0; 22050], 22050, 16000).len(), 16000);
        assert_eq!(resample(&vec![0.0; 22050], 22050, 48000).len(), 48000);
        assert_eq!(resample(&vec![0.0; 441], 22050, 24000).len(), 480);
        assert_eq!(resample(&[0.0; 3], 22050, 16000).len(), 3); // ceil(3 * 320 / 441)
        assert_eq!(resample(&[0.5], 22050, 48000).len(), 3);
    }

    #[test]
    fn a_constant_keeps_its_level_away_from_the_edges() {
        for to in [8000, 16000, 24000, 44100, 48000] {
            let y = resample(&vec![0.5; 4000], 22050, to);
            let n = y.len();
            for &v in &y[n / 4..3 * n / 4] {
                assert!((v - 0.5).abs() < 1e-4, "{to} Hz: {v}");
            }
        }
    }

    #[test]
    fn a_tone_in_the_pass_band_comes_out_at_the_new_rate() {
        for to in [16000, 24000, 48000] {
            let y = resample(&sine(1000.0, 22050, 22050), 22050, to);
            let want = sine(1000.0, to, y.len());
            let n = y.len();
            let worst = y[n / 10..9 * n / 10]
                .iter()
                .zip(&want[n / 10..9 * n / 10])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 2e-3, "{to} Hz: error {worst}");
        }
    }

    #[test]
    fn a_tone_above_the_new_nyquist_is_filtered_out_not_aliased() {
        // 10 kHz fits at 22050 Hz but not at 16 kHz (Nyquist 8 kHz): linear interpolation would fold it to 6 kHz.
        let y = resample(&sine(10000.0, 22050, 22050), 22050, 16000);
        let n = y.len();
        assert!(rms(&y[n / 10..9 * n / 10]) < 0.01, "rms {}", rms(&y));
    }

    #[test]
    fn a_stream_in_pieces_gives_what_the_whole_gives() {
        let x = sine(440.0, 24_000, 24_000);
        for to in [16_000, 22_050, 48_000] {
            let whole = resample(&x, 24_000, to);
            let mut stream = Stream::new(24_000, to);
            let mut pieces = Vec::new();
            for piece in x.chunks(997) {
                let out = stream.push(piece);
                pieces.extend(out);
            }
            assert!(
                pieces.len() < whole.len(),
                "the last samples wait for the end"
            );
            pieces.extend(stream.finish());
            assert_eq!(pieces.len(), whole.len(), "{to} Hz");
            let worst = pieces
                .iter()
                .zip(&whole)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-6, "{to} Hz: {worst}");
        }
        let mut same = Stream::new(24_000, 24_000);
        assert_eq!(same.push(&[0.5, 0.25]), vec![0.5, 0.25]);
        assert!(same.finish().is_empty());
    }

    #[test]
    fn rates_without_a_small_common_divisor_use_the_direct_path() {
        // 22050 -> 16001: 16001 output phases, more than the table allows.
        let y = resample(&vec![0.25; 2000], 22050, 16001);
        assert_eq!(y.len(), (2000u64 * 16001).div_ceil(22050) as usize);
        let n = y.len();
        for &v in &y[n / 4..3 * n / 4] {
            assert!((v - 0.25).abs() < 1e-4);
        }
    }
}
