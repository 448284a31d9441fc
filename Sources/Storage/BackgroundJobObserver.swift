/// A kind of background job the store runs off the write path.
public enum BackgroundJob: String, Sendable {
    /// The immutable memtable written out as a table.
    case flush
    /// Tables merged into the next level (trivial moves, which copy nothing, are not reported).
    case compaction
}

/// Told when a background job finishes, with how long it ran (the node turns it into a
/// histogram). Called on the store's background thread with the store's lock held: it must
/// be quick and must not call back into the store.
public protocol BackgroundJobObserver: AnyObject, Sendable {
    func finished(_ job: BackgroundJob, seconds: Double, bytesWritten: UInt64)
}
