// Reads the daemon's /metrics (Prometheus text format 0.0.4, docs/metrics.md) into samples, and
// the sums and quantiles the pages show.

// [{name, labels: {k: v}, value}] from the exposition text; comments and blank lines skipped.
export function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      let l;
      while ((l = re.exec(m[3])) !== null) {
        labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
      }
    }
    const value = m[4] === "+Inf" ? Infinity : Number(m[4]);
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}

// The sum of `name`'s samples whose labels include every pair of `match`.
export function sum(samples, name, match = {}) {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

// Values of `label` that `name`'s samples carry.
export function labelValues(samples, name, label) {
  const values = new Set();
  for (const s of samples) if (s.name === name && s.labels[label] !== undefined) values.add(s.labels[label]);
  return [...values].sort();
}

// The q-quantile (0..1) of a histogram, from its cumulative buckets (linear within a bucket, as
// Prometheus' histogram_quantile does); null without observations. `match` picks the series.
export function histogramQuantile(samples, name, q, match = {}) {
  const buckets = new Map();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    if (!Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
    const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) || 0) + s.value);
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  if (!sorted.length) return null;
  const total = sorted[sorted.length - 1][1];
  if (!total) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      const inBucket = count - prevCount;
      return inBucket ? prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket : le;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

// Per function: invocations, errors (every outcome but success), cold starts, and the error rate.
export function functionStats(samples) {
  const stats = new Map();
  const get = (name) => {
    if (!stats.has(name)) stats.set(name, { invocations: 0, errors: 0, coldStarts: 0 });
    return stats.get(name);
  };
  for (const s of samples) {
    const fn = s.labels.function;
    if (fn === undefined) continue;
    if (s.name === "runtimed_invocations_total") {
      get(fn).invocations += s.value;
      if (s.labels.outcome !== "success") get(fn).errors += s.value;
    } else if (s.name === "runtimed_cold_starts_total") {
      get(fn).coldStarts += s.value;
    }
  }
  return stats;
}
