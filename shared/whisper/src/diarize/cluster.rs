//! Segments into speakers: agglomerative clustering by ΔBIC (the closest pair merged first,
//! until no pair gains from merging), then each segment moved to the speaker whose Gaussian
//! explains it best (hard EM, as a re-segmentation fixes the greedy merges' early mistakes)
//! and merged again, until nothing changes; speakers heard too little are folded into their
//! nearest.

use super::gauss::Stats;

/// Rounds of re-assignment and merging at most.
const ROUNDS: usize = 10;

/// The clustering's knobs (diarize.rs says why these values).
pub(crate) struct Params {
    /// The BIC penalty's weight.
    pub lambda: f64,
    /// The most frames a side of a ΔBIC counts.
    pub cap: f64,
    /// A speaker with fewer frames in all is folded into its nearest.
    pub min_speaker: f64,
}

/// One label per item, 0..k (equal labels, one speaker).
pub(crate) fn cluster(items: &[Stats], p: &Params) -> Vec<usize> {
    let mut labels = agglomerate(items, &(0..items.len()).collect::<Vec<_>>(), p);
    for _ in 0..ROUNDS {
        let next = agglomerate(items, &reassign(items, &labels), p);
        if next == labels {
            break;
        }
        labels = next;
    }
    fold_small(items, &labels, p)
}

/// The clusters' statistics, by label.
fn totals(items: &[Stats], labels: &[usize]) -> Vec<Stats> {
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let mut out = vec![Stats::new(); k];
    for (s, &l) in items.iter().zip(labels) {
        out[l].merge(s);
    }
    out
}

/// Labels renumbered 0..k in order of first use.
fn dense(labels: &[usize]) -> Vec<usize> {
    let mut seen: Vec<usize> = Vec::new();
    labels
        .iter()
        .map(|l| match seen.iter().position(|s| s == l) {
            Some(p) => p,
            None => {
                seen.push(*l);
                seen.len() - 1
            }
        })
        .collect()
}

/// Merges the clusters of `labels` pairwise, lowest ΔBIC first, while it is negative. Keeps
/// every pair's ΔBIC (k² f32: 4 MB at diarize::MAX_SEGMENTS) so that a merge costs k ΔBICs.
fn agglomerate(items: &[Stats], labels: &[usize], p: &Params) -> Vec<usize> {
    let mut clusters: Vec<Stats> = totals(items, labels);
    let k = clusters.len();
    let mut log_dets: Vec<f64> = clusters.iter().map(Stats::log_det).collect();
    let mut live = vec![true; k];
    let mut cost = vec![f32::INFINITY; k * k];
    let pair = |clusters: &[Stats], log_dets: &[f64], a: usize, b: usize| {
        clusters[a].delta_bic_with(&clusters[b], (log_dets[a], log_dets[b]), p.lambda, p.cap) as f32
    };
    for a in 0..k {
        for b in a + 1..k {
            let d = pair(&clusters, &log_dets, a, b);
            cost[a * k + b] = d;
            cost[b * k + a] = d;
        }
    }
    // Each live cluster's nearest other (index, ΔBIC), from its row.
    let nearest_of = |cost: &[f32], live: &[bool], a: usize| -> Option<(usize, f32)> {
        (0..k)
            .filter(|&b| b != a && live[b])
            .map(|b| (b, cost[a * k + b]))
            .min_by(|x, y| x.1.total_cmp(&y.1))
    };
    let mut nearest: Vec<Option<(usize, f32)>> =
        (0..k).map(|a| nearest_of(&cost, &live, a)).collect();
    // merged[c]: the cluster c ended in.
    let mut merged: Vec<usize> = (0..k).collect();
    while let Some((i, (j, d))) = nearest
        .iter()
        .enumerate()
        .filter_map(|(a, n)| n.map(|n| (a, n)))
        .min_by(|x, y| x.1.1.total_cmp(&y.1.1))
    {
        if d >= 0.0 {
            break;
        }
        let gone = clusters[j].clone();
        clusters[i].merge(&gone);
        log_dets[i] = clusters[i].log_det();
        live[j] = false;
        nearest[j] = None;
        for m in merged.iter_mut().filter(|m| **m == j) {
            *m = i;
        }
        for b in (0..k).filter(|&b| b != i && live[b]) {
            let d = pair(&clusters, &log_dets, i, b);
            cost[i * k + b] = d;
            cost[b * k + i] = d;
        }
        nearest[i] = nearest_of(&cost, &live, i);
        for b in (0..k).filter(|&b| b != i && live[b]) {
            nearest[b] = match nearest[b] {
                Some((n, nd)) if n != i && n != j => {
                    let d = cost[b * k + i];
                    Some(if d < nd { (i, d) } else { (n, nd) })
                }
                _ => nearest_of(&cost, &live, b),
            };
        }
    }
    dense(&labels.iter().map(|&l| merged[l]).collect::<Vec<_>>())
}

/// Each item to the cluster whose Gaussian gives it the highest likelihood (its own cluster
/// without it); an item alone in its cluster stays.
fn reassign(items: &[Stats], labels: &[usize]) -> Vec<usize> {
    let clusters = totals(items, labels);
    let out: Vec<usize> = items
        .iter()
        .zip(labels)
        .map(|(item, &own)| {
            let mut best = (own, f64::NEG_INFINITY);
            for (c, stats) in clusters.iter().enumerate() {
                let model = if c == own {
                    stats.without(item)
                } else {
                    stats.clone()
                };
                if model.n < 1.0 {
                    if c == own {
                        return own;
                    }
                    continue;
                }
                let ll = model.log_likelihood(item);
                if ll > best.1 {
                    best = (c, ll);
                }
            }
            best.0
        })
        .collect();
    dense(&out)
}

/// Clusters of fewer than `min_speaker` frames merged into their nearest, smallest first.
fn fold_small(items: &[Stats], labels: &[usize], p: &Params) -> Vec<usize> {
    let mut clusters = totals(items, labels);
    let mut into: Vec<usize> = (0..clusters.len()).collect();
    let mut live: Vec<usize> = (0..clusters.len()).collect();
    while live.len() > 1 {
        let Some(&small) = live
            .iter()
            .filter(|&&c| clusters[c].n < p.min_speaker)
            .min_by(|&&a, &&b| clusters[a].n.total_cmp(&clusters[b].n))
        else {
            break;
        };
        let Some(&near) = live.iter().filter(|&&c| c != small).min_by(|&&a, &&b| {
            let d = |c: usize| clusters[small].delta_bic(&clusters[c], p.lambda, p.cap);
            d(a).total_cmp(&d(b))
        }) else {
            break;
        };
        let moved = clusters[small].clone();
        clusters[near].merge(&moved);
        live.retain(|&c| c != small);
        for t in into.iter_mut() {
            if *t == small {
                *t = near;
            }
        }
    }
    dense(&labels.iter().map(|&l| into[l]).collect::<Vec<_>>())
}
