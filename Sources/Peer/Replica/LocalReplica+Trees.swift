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

    /// Gives every record of `id` whose values have all expired by now, and that has no
    /// tombstone clock, the clock `since = its expiry`, when the tree is due (ExpiryDue.swift);
    /// notes the next unindexed expiry. Returns how many records it timed. The expiry is the
    /// clock a write would have given it: a record stored without a clock was stored before
    /// it expired (`stage`), so it is absent, exactly as stored, from its expiry on; every
    /// replica times it alike, and one round's confirmations serve them all.
    @discardableResult
    public func indexExpired(_ id: TreeID) throws -> Int {
        let start = wallNowMs
        guard expiryDue.take(id, nowMs: start) else { return 0 }
        let range = StorageKey.namespaceRange(partition: id.partition, namespace: id.namespace)
        let prefix = range.start?.count ?? 0
        var expired: [[UInt8]] = []
        var next: UInt64?
        do {
            let it = try store.makeIterator(range: range)
            while it.isValid {
                if let record = try? KeyRecord(decoding: Array(it.value)), let absentFrom = record.absentFromMs {
                    if absentFrom <= start {
                        expired.append(Array(it.key[prefix...]))
                    } else {
                        next = min(next ?? absentFrom, absentFrom)
                    }
                }
                try it.next()
            }
        } catch {
            expiryDue.note(id, expiresAtMs: 0)  // sweep again next time
            throw error
        }
        if let next { expiryDue.note(id, expiresAtMs: next) }
        var timed = 0
        for key in expired {
            let address = KeyAddress(namespace: id.namespace, partition: id.partition, key: key)
            // Under the key's lock, on the record stored now: a write since the scan times
            // its own record, or leaves a live one.
            let wrote = try withKeyLock(address) { () throws -> Bool in
                guard try tombstoneTime(address) == nil, let bytes = try store.get(address.storageKey),
                      let absentFrom = try KeyRecord(decoding: bytes).absentFromMs else { return false }
                guard absentFrom <= wallNowMs else {
                    expiryDue.note(id, expiresAtMs: absentFrom)  // the clock stepped back
                    return false
                }
                try store.put(LocalReplica.tombstoneKey(address), LocalReplica.encodeTime(absentFrom))
                return true
            }
            if wrote { timed += 1 }
        }
        return timed
    }

    /// Removes a key's absent record if it is still the one timed at `since`; true when
    /// reaped. The caller has checked that every primary holds it and its grace is over.
    /// A clock whose record is gone or no longer absent by now (left by a wall clock that
    /// stepped back) is deleted.
    public func reap(_ address: KeyAddress, since: UInt64) throws -> Bool {
        try withKeyLock(address) { () throws -> Bool in
            guard let bytes = try store.get(address.storageKey) else {
                try dropStaleClock(address, since: since)
                return false
            }
            let record = try KeyRecord(decoding: bytes)
            if record.absentFromMs.map({ $0 > wallNowMs }) ?? true {
                try dropStaleClock(address, since: since)
                if let absentFrom = record.absentFromMs {
                    expiryDue.note(TreeID(partition: address.partition, namespace: address.namespace), expiresAtMs: absentFrom)
                }
                return false
            }
            // Absent for good (deleted, or every value expired by `since`, which the caller
            // has seen pass): `since` is no earlier than the record's last expiry.
            guard let absentFrom = record.absentFromMs, try tombstoneTime(address) == since else { return false }
            guard absentFrom <= since else {
                // A clock older than the record's expiry (the wall clock stepped back): it
                // restarts now, so reaping waits for a confirmation of this record.
                try store.put(LocalReplica.tombstoneKey(address), LocalReplica.encodeTime(wallNowMs))
                return false
            }
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
            expiryDue.drop(id)
        }
    }

    private func dropStaleClock(_ address: KeyAddress, since: UInt64) throws {
        guard try tombstoneTime(address) == since else { return }
        try store.delete(LocalReplica.tombstoneKey(address))
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
