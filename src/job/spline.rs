//! Keyframed tracks as the web app interpolates them (contract §9.2, reused by §10's crop
//! path): held at or before the first keyframe, a uniform Catmull-Rom spline between
//! keyframes with the neighbours clamped to the ends, held at the last.

/// The uniform Catmull-Rom spline of §9.2 between `p1` and `p2` at `u` in 0..1.
pub fn catmull_rom(p0: f64, p1: f64, p2: f64, p3: f64, u: f64) -> f64 {
    0.5 * (2.0 * p1
        + (p2 - p0) * u
        + (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * u * u
        + (3.0 * p1 - p0 - 3.0 * p2 + p3) * u * u * u)
}

/// The track's values at `t`, for `n` keyframes (at least one) with keyframe `i` at
/// `time(i)` (ascending) holding `values(i)`; and the index of the keyframe at or before `t`
/// (0 before the first). Allocates nothing.
pub fn spline_at<const N: usize>(
    n: usize,
    time: impl Fn(usize) -> f64,
    values: impl Fn(usize) -> [f64; N],
    t: f64,
) -> ([f64; N], usize) {
    // the keyframes before idx are at or before t
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if time(mid) <= t {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let idx = lo;
    if idx == 0 || n == 1 {
        return (values(0), 0);
    }
    if idx == n {
        return (values(n - 1), n - 1);
    }
    let (i1, i2) = (idx - 1, idx);
    let (p0, p1, p2, p3) = (
        values(i1.saturating_sub(1)),
        values(i1),
        values(i2),
        values((i2 + 1).min(n - 1)),
    );
    let u = (t - time(i1)) / (time(i2) - time(i1));
    (
        std::array::from_fn(|c| catmull_rom(p0[c], p1[c], p2[c], p3[c], u)),
        i1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_hold_at_the_ends_and_spline_between() {
        let times = [1.0, 2.0, 3.0];
        let xs = [0.0, 0.0, 10.0];
        let at = |t| spline_at(3, |i| times[i], |i| [xs[i]], t);
        assert_eq!(at(0.0), ([0.0], 0));
        assert_eq!(at(1.0), ([0.0], 0));
        // between 2 and 3: p = (0, 0, 10, 10) at u = 0.25
        assert_eq!(at(2.25), ([2.03125], 1));
        assert_eq!(at(3.0), ([10.0], 2));
        assert_eq!(at(9.0), ([10.0], 2));
        assert_eq!(spline_at(1, |_| 5.0, |_| [7.0, 8.0], 0.0), ([7.0, 8.0], 0));
    }
}
