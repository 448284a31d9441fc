import Storage

// Anti-entropy, tombstone reaping and ownership handoff, on this replica's side: Merkle
// trees built on demand and kept by every write, segment listings, the tombstone index,
// and dropping a partition's namespace range once the node no longer holds it.
//
// Tombstone index: 't' ++ (the data key without its 'd') -> firstSeenMs:u64BE, written in
// the same batch as the absent record it times (RECORDS.md, "Tombstone index").

extension LocalReplica {
    static func tombstoneKey(_ address: KeyAddress) -> [UInt8] {
        var k = address.storageKey
        k[0] = VersionFormat.keyspaceTombstone
        return k
    }

    static func encodeTime(_ ms: UInt64) -> [UInt8] { withUnsafeBytes(of: ms.bigEndian) { Array($0) } }

    static func decodeTime(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 8 else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The tree of `id`, built from a snapshot of the store when it is not kept yet.
    public func tree(_ id: TreeID) throws -> MerkleTree {
        if let t = trees.tree(id) { return t }
        // Mark the tree as building and take the snapshot with no key write half done, so
        // every write is either in the snapshot or in the delta, never both.
        let started = try withAllKeyLocks { () -> Snapshot? in
            trees.beginBuild(id) ? store.snapshot() : nil
        }
        guard let snapshot = started else {
            // Someone else is building it: scan without keeping the result.
            return try scanTree(id, snapshot: nil)
        }
        defer { snapshot.release() }
        do {
            let scanned = try scanTree(id, snapshot: snapshot)
            trees.finishBuild(id, scanned: scanned)
        } catch {
            trees.abandonBuild(id)
            throw error
        }
        return trees.tree(id) ?? MerkleTree()
    }

    private func scanTree(_ id: TreeID, snapshot: Snapshot?) throws -> MerkleTree {
        var tree = MerkleTree()
        let range = StorageKey.namespaceRange(partition: id.partition, namespace: id.namespace)
        let prefix = range.start?.count ?? 0
        let it = try store.makeIterator(range: range, snapshot: snapshot)
        while it.isValid {
            // The digest comes from the stored bytes, never a decode: a record that does not
            // decode still has a digest, and the tree of its partition still builds.
            tree.update(key: Array(it.key[prefix...]), old: nil, new: KeyRecord.digest(encoded: Array(it.value)))
            try it.next()
        }
        return tree
    }

    /// Every key of `id` in the given segments, with its record's digest, in key order.
    public func segmentDigests(_ id: TreeID, segments: Set<Int>) throws -> [(key: [UInt8], digest: UInt64)] {
        let range = StorageKey.namespaceRange(partition: id.partition, namespace: id.namespace)
        let prefix = range.start?.count ?? 0
        var out: [(key: [UInt8], digest: UInt64)] = []
        let it = try store.makeIterator(range: range)
        while it.isValid {
            let key = Array(it.key[prefix...])
            if segments.contains(MerkleTree.segment(of: key)) {
                out.append((key, KeyRecord.digest(encoded: Array(it.value))))
            }
            try it.next()
        }
        return out
    }

    /// A key's tombstone clock: when this replica stored its current absent record.
    public func tombstoneTime(_ address: KeyAddress) throws -> UInt64? {
        try store.get(LocalReplica.tombstoneKey(address)).flatMap(LocalReplica.decodeTime)
    }

    /// Every tombstone of `id` with its clock.
    public func tombstones(_ id: TreeID) throws -> [(key: [UInt8], since: UInt64)] {
        var range = StorageKey.namespaceRange(partition: id.partition, namespace: id.namespace)
        range = KeyRange(start: range.start.map(LocalReplica.retag), end: range.end.map(LocalReplica.retag))
        let prefix = range.start?.count ?? 0
        var out: [(key: [UInt8], since: UInt64)] = []
        let it = try store.makeIterator(range: range)
        while it.isValid {
            if let t = LocalReplica.decodeTime(Array(it.value)) { out.append((Array(it.key[prefix...]), t)) }
            try it.next()
        }
        return out
    }

    private static func retag(_ key: [UInt8]) -> [UInt8] {
        var k = key
        if !k.isEmpty { k[0] = VersionFormat.keyspaceTombstone }
        return k
    }

    /// Removes a key's absent record if it is still the one timed at `since`; true when
    /// reaped. The caller has checked that every primary holds it and its grace is over.
    public func reap(_ address: KeyAddress, since: UInt64) throws -> Bool {
        try withKeyLock(address) { () throws -> Bool in
            guard let bytes = try store.get(address.storageKey) else { return false }
            let record = try KeyRecord(decoding: bytes)
            // Absent for good (deleted, or every value expired by `since`, which the caller
            // has seen pass): `since` is timed from the record's last expiry.
            guard let absentFrom = record.absentFromMs, absentFrom <= since, try tombstoneTime(address) == since else { return false }
            var batch = WriteBatch()
            batch.delete(address.storageKey)
            batch.delete(LocalReplica.tombstoneKey(address))
            try store.write(batch)
            trees.update(TreeID(partition: address.partition, namespace: address.namespace), key: address.key, old: bytes, new: nil)
            return true
        }
    }

    /// True when this replica holds any record of `id`.
    public func holdsData(_ id: TreeID) throws -> Bool {
        let it = try store.makeIterator(range: StorageKey.namespaceRange(partition: id.partition, namespace: id.namespace))
        return it.isValid
    }

    /// Deletes every record of `id` (and its tombstone clocks) after its ownership moved on.
    public func dropRange(_ id: TreeID) throws {
        let range = StorageKey.namespaceRange(partition: id.partition, namespace: id.namespace)
        try withAllKeyLocks {
            let start = range.start ?? [VersionFormat.keyspaceData]
            try store.deleteRange(start: start, end: range.end ?? [VersionFormat.keyspaceData + 1])
            try store.deleteRange(start: LocalReplica.retag(start),
                                  end: range.end.map(LocalReplica.retag) ?? [VersionFormat.keyspaceTombstone + 1])
            trees.drop(id)
        }
    }

    /// Up to `maxBytes` of `id`'s records after `afterKey` (exclusive; nil = from the start),
    /// for ownership handoff; `done` when the range is exhausted.
    public func handoffChunk(_ id: TreeID, after afterKey: [UInt8]?, maxKeys: Int, maxBytes: Int) throws
        -> (entries: [(key: [UInt8], record: [UInt8])], done: Bool) {
        let range = StorageKey.namespaceRange(partition: id.partition, namespace: id.namespace)
        let prefix = range.start?.count ?? 0
        let it = try store.makeIterator(range: range)
        if let afterKey {
            try it.seek((range.start ?? []) + afterKey)
            if it.isValid, Array(it.key[prefix...]) == afterKey { try it.next() }
        }
        var out: [(key: [UInt8], record: [UInt8])] = []
        var bytes = 0
        while it.isValid {
            if out.count >= maxKeys || bytes >= maxBytes { return (out, false) }
            let key = Array(it.key[prefix...])
            let value = Array(it.value)
            bytes += key.count + value.count
            out.append((key, value))
            try it.next()
        }
        return (out, true)
    }
}
