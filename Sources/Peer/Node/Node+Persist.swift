import Ring

// Cluster metadata on disk (issue 14, low): the ring and the namespace table were written
// with `try?` and read back with `try?`, so a failed write (a full disk) or a value that no
// longer decodes vanished without a word, and the node came back later with an old ring.

extension Node {
    /// Persists the ring or the namespace table; a failure is logged and counted (INFO
    /// `meta_persist_failures`). The value stays adopted in memory and gossip, and the next
    /// change writes it again.
    func persistMeta(_ name: String, _ bytes: [UInt8]) {
        do {
            try replica.setMeta(name, bytes)
        } catch {
            engine.metaPersistFailures.wrappingAdd(1, ordering: .relaxed)
            log.error("cannot persist cluster metadata; it is kept in memory and gossip", ["name": name, "error": "\(error)"])
        }
    }

    /// A stored ring or namespace table that does not decode is logged and ignored: the
    /// node learns the cluster's from gossip instead.
    static func decodeStored<T>(_ name: String, _ bytes: [UInt8]?, log: Logger, _ decode: ([UInt8]) throws -> T) -> T? {
        guard let bytes else { return nil }
        do {
            return try decode(bytes)
        } catch {
            log.warn("stored cluster metadata does not decode; ignored", ["name": name, "bytes": bytes.count, "error": "\(error)"])
            return nil
        }
    }
}
