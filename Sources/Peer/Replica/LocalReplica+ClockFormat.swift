import Storage

// Which clock the times in a data directory were written with (RECORDS.md, "Clock format").
//
// Format 0 (no `m clock-format` record; Chorus before wall-clock hybrid clocks): tombstone
// times and the physical part of LWW timestamps were milliseconds since boot
// (CLOCK_MONOTONIC). Format 1: Unix-epoch milliseconds (CLOCK_REALTIME).
//
// Migration 0 -> 1, on open, before anything else touches the store:
// - every tombstone time is rewritten to the wall clock now: a since-boot time read as an
//   epoch time would look decades old and let a tombstone be reaped before its grace, so
//   each tombstone restarts its grace instead (later reaping is always safe);
// - LWW records are left as they are: a since-boot physical time is far below any epoch
//   time, so every write made after the upgrade wins over them, as it should (it is
//   later), and their order among themselves is kept;
// - the marker is written last, synced; a crash before it repeats the (idempotent)
//   migration on the next open.
// A marker from a newer format is refused with an error naming it, and nothing is touched.

extension LocalReplica {
    static let clockFormatName = "clock-format"

    /// Why a data directory cannot be opened by this version.
    public struct ClockFormatError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Brings a store written with since-boot times to format 1, or refuses a newer one.
    /// Returns how many tombstone times were rewritten.
    @discardableResult
    static func migrateClockFormat(store: Store, wallMs: UInt64) throws -> Int {
        let markerKey = StorageKey.meta(name: Array(clockFormatName.utf8)).encode()
        if let marker = try store.get(markerKey) {
            guard marker.count == 1 else {
                throw ClockFormatError(description: "bad clock-format record (\(marker.count) bytes, expected 1)")
            }
            guard marker[0] <= VersionFormat.clockFormatWallMs else {
                throw ClockFormatError(description: "data written by a newer Chorus (clock format \(marker[0])); this version reads formats 0 and \(VersionFormat.clockFormatWallMs)")
            }
            return 0
        }
        let range = KeyRange(start: [VersionFormat.keyspaceTombstone], end: [VersionFormat.keyspaceTombstone + 1])
        var rewritten = 0
        var batch = WriteBatch()
        var inBatch = 0
        let it = try store.makeIterator(range: range)
        while it.isValid {
            batch.put(it.key, encodeTime(wallMs))
            rewritten += 1
            inBatch += 1
            if inBatch == 4_096 {
                try store.write(batch)
                batch = WriteBatch()
                inBatch = 0
            }
            try it.next()
        }
        batch.put(markerKey, [VersionFormat.clockFormatWallMs])
        try store.write(batch, sync: true)
        return rewritten
    }
}
