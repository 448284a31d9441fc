import Storage

/// The store's flushes and compactions as `chorus_storage_job_duration_seconds{job}`
/// (a histogram, 1 ms to 100 s) and `chorus_storage_job_written_bytes_total{job}`, so an
/// operator sees compaction falling behind before writes stall.
public final class StorageJobMetrics: BackgroundJobObserver {
    private let flush, compaction: MetricHistogram
    private let flushBytes, compactionBytes: MetricCounter

    /// Background jobs run from about a millisecond (a small flush) to minutes (a large
    /// compaction), longer than request latencies: their own bucket bounds, in seconds.
    static let buckets: [Double] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 100]

    public init(registry: MetricsRegistry) {
        let family = registry.histogram("chorus_storage_job_duration_seconds",
                                        help: "Duration of each storage background job: a memtable flush or a compaction (trivial moves not counted).",
                                        labels: ["job"], buckets: StorageJobMetrics.buckets)
        flush = family.labels(BackgroundJob.flush.rawValue)
        compaction = family.labels(BackgroundJob.compaction.rawValue)
        let bytes = registry.counter("chorus_storage_job_written_bytes_total",
                                     help: "Bytes of tables written by storage background jobs.", labels: ["job"])
        flushBytes = bytes.labels(BackgroundJob.flush.rawValue)
        compactionBytes = bytes.labels(BackgroundJob.compaction.rawValue)
    }

    public func finished(_ job: BackgroundJob, seconds: Double, bytesWritten: UInt64) {
        let ns = UInt64(max(0, seconds) * 1e9)
        switch job {
        case .flush: flush.observe(ns); flushBytes.add(bytesWritten)
        case .compaction: compaction.observe(ns); compactionBytes.add(bytesWritten)
        }
    }
}
