import Ring

// The peer's side of a comparison: the `merkleTree` and `merkleSegment` RPCs, served
// wherever `NodeEngine.handleRPC` runs them (the node queues).

extension AntiEntropyService {
    /// A peer's side: answers tree hash requests.
    func answerTreeHashes(_ payload: [UInt8]) throws -> [UInt8] {
        let request = try TreeHashesRequest(decoding: payload)
        if let bad = requestCheck.unknownPartition(request.tree.partition) { throw ClientError(bad) }
        let tree = try replica.tree(request.tree)
        guard let inner = request.inner else { return TreeHashesAnswer.encode(tree.inner) }
        return TreeHashesAnswer.encode(inner.flatMap { Array(tree.leaves(under: $0)) })
    }

    /// A peer's side of a segment comparison: our records that differ from the initiator's
    /// (never a tombstone ready for reaping to a replica that no longer has the key), and
    /// the keys we want from it.
    func answerSegments(_ payload: [UInt8]) throws -> [UInt8] {
        let request = try SegmentRequest(decoding: payload)
        if let bad = requestCheck.unknownPartition(request.tree.partition) { throw ClientError(bad) }
        let theirs = Dictionary(request.entries.map { ($0.key, $0.digest) }, uniquingKeysWith: { a, _ in a })
        let mine = try replica.segmentDigests(request.tree, segments: Set(request.segments))
        let ns = cluster.snapshot().namespaces.namespace(named: String(decoding: request.tree.namespace, as: UTF8.self))
        var records: [(key: [UInt8], record: [UInt8])] = []
        // The records are bounded in bytes (at least one always goes): those left out still
        // differ, so the next comparison sends them, and no answer outgrows the frame bound.
        var recordBytes = 0
        for m in mine where theirs[m.key] != m.digest {
            let address = KeyAddress(namespace: request.tree.namespace, partition: request.tree.partition, key: m.key)
            guard let bytes = try replica.readBytes(address) else { continue }
            guard let record = replica.decodeOrSkip(bytes, address, during: "anti-entropy") else { continue }
            if theirs[m.key] == nil, let ns, try isReapable(address, record: record, ns: ns) { continue }
            let size = m.key.count + bytes.count + 8
            if !records.isEmpty, recordBytes + size > config.messageBytes {
                repairState.answersCut.wrappingAdd(1, ordering: .relaxed)
                break
            }
            recordBytes += size
            records.append((m.key, bytes))
        }
        let mineDigests = Dictionary(mine.map { ($0.key, $0.digest) }, uniquingKeysWith: { a, _ in a })
        let wanted = request.entries.filter { mineDigests[$0.key] != $0.digest }.map { (key: $0.key, missing: mineDigests[$0.key] == nil) }
        return SegmentAnswer(records: records, wanted: wanted).encode()
    }
}
