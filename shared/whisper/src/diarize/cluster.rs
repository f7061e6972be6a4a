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

/// Merges the clusters of `labels` pairwise, lowest ΔBIC first, while it is negative.
fn agglomerate(items: &[Stats], labels: &[usize], p: &Params) -> Vec<usize> {
    let mut clusters: Vec<Option<Stats>> = totals(items, labels).into_iter().map(Some).collect();
    // merged[c]: the cluster c ended in.
    let mut merged: Vec<usize> = (0..clusters.len()).collect();
    let cost = |a: &Stats, b: &Stats| a.delta_bic(b, p.lambda, p.cap);
    let nearest_of = |clusters: &[Option<Stats>], i: usize| -> Option<(usize, f64)> {
        let a = clusters[i].as_ref()?;
        let mut best: Option<(usize, f64)> = None;
        for (j, b) in clusters.iter().enumerate() {
            if let (true, Some(b)) = (j != i, b) {
                let d = cost(a, b);
                if best.is_none_or(|(_, bd)| d < bd) {
                    best = Some((j, d));
                }
            }
        }
        best
    };
    let mut nearest: Vec<Option<(usize, f64)>> =
        (0..clusters.len()).map(|i| nearest_of(&clusters, i)).collect();
    while let Some((i, (j, d))) = nearest
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.map(|n| (i, n)))
        .min_by(|a, b| a.1.1.total_cmp(&b.1.1))
    {
        if d >= 0.0 {
            break;
        }
        if let (Some(b), Some(a)) = (clusters[j].take(), clusters[i].as_mut()) {
            a.merge(&b);
        }
        for m in merged.iter_mut() {
            if *m == j {
                *m = i;
            }
        }
        nearest[j] = None;
        nearest[i] = nearest_of(&clusters, i);
        for k in 0..clusters.len() {
            let Some(c) = clusters[k].as_ref().filter(|_| k != i) else {
                continue;
            };
            nearest[k] = match nearest[k] {
                Some((n, nd)) if n != i && n != j => {
                    let d = clusters[i].as_ref().map_or(f64::INFINITY, |a| cost(c, a));
                    if d < nd { Some((i, d)) } else { Some((n, nd)) }
                }
                _ => nearest_of(&clusters, k),
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
                let model = if c == own { stats.without(item) } else { stats.clone() };
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
