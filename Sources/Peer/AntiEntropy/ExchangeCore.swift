/// One anti-entropy comparison of a tree with one peer, as a pure state machine: compare the
/// 32 inner hashes, fetch leaves only under the inner nodes that differ, list keys only in
/// the segments that differ, then merge the peer's differing records and push ours. The
/// shell sends what `send` says and feeds the answers back; local reads happen in the shell
/// between steps (`listSegments`, `apply`).
///
/// Every segment request is bounded in bytes (issue 14): the differing segments are asked
/// for in groups whose key lists fit `maxMessageBytes`, one group after another, so a large
/// partition never makes a request (or, through the answerer's own bound, an answer) over
/// the frame limit, refused and retried every round.
public struct ExchangeCore: Sendable {
    public enum Step: Sendable {
        /// Send this to the peer; feed the answer to `onAnswer`.
        case send(PeerMessageType, [UInt8])
        /// List our keys and digests in these segments; feed them to `onEntries`.
        case listSegments([Int])
        /// Merge `records` (the peer's) and collect ours for `wanted`; feed the push list to `onPush`.
        case apply(records: [(key: [UInt8], record: [UInt8])], wanted: [(key: [UInt8], missing: Bool)])
        case finished(ExchangeOutcome)
        case failed(String)
    }

    private enum Phase {
        case inner, leaves([Int]), segments, pushing, done
    }

    public let tree: TreeID
    public let peer: String
    private let local: MerkleTree
    private var phase = Phase.inner
    private var pushBatches: [[(address: KeyAddress, record: [UInt8])]] = []
    /// Segment requests still to send, each within `maxMessageBytes`.
    private var segmentGroups: [SegmentRequest] = []
    private let maxMessageBytes: Int
    private var received = 0
    private var pushed = 0
    /// Payload bytes both ways.
    public private(set) var traffic = 0
    public static let pushBatchSize = 512

    public init(tree: TreeID, peer: String, local: MerkleTree, maxMessageBytes: Int = ExchangeCore.defaultMaxMessageBytes) {
        self.tree = tree
        self.peer = peer
        self.local = local
        self.maxMessageBytes = max(1, maxMessageBytes)
    }

    /// Bytes of keys (requests) or records (answers) in one segment message: a quarter of
    /// the 64 MiB frame bound.
    public static let defaultMaxMessageBytes = 4 * BatchBounds.maxBatchBytes

    public mutating func start() -> Step {
        send(.merkleTree, TreeHashesRequest(tree: tree, inner: nil).encode())
    }

    private mutating func send(_ type: PeerMessageType, _ payload: [UInt8]) -> Step {
        traffic += payload.count
        return .send(type, payload)
    }

    public mutating func onAnswer(_ bytes: [UInt8]) -> Step {
        traffic += bytes.count
        do {
            switch phase {
            case .inner:
                let remote = try TreeHashesAnswer.decode(bytes)
                let differing = MerkleTree.differing(local.inner, remote)
                if differing.isEmpty {
                    phase = .done
                    return .finished(ExchangeOutcome(equal: true, keysSent: 0, keysReceived: 0))
                }
                phase = .leaves(differing)
                return send(.merkleTree, TreeHashesRequest(tree: tree, inner: differing).encode())
            case .leaves(let inner):
                let remote = try TreeHashesAnswer.decode(bytes)
                guard remote.count == inner.count * MerkleTree.fanout else {
                    return fail("\(peer) sent \(remote.count) leaves for \(inner.count) inner nodes")
                }
                var segments: [Int] = []
                for (j, i) in inner.enumerated() {
                    let mine = Array(local.leaves(under: i))
                    for k in 0..<MerkleTree.fanout where mine[k] != remote[j * MerkleTree.fanout + k] {
                        segments.append(i * MerkleTree.fanout + k)
                    }
                }
                phase = .segments
                return .listSegments(segments)
            case .segments:
                let answer = try SegmentAnswer(decoding: bytes)
                return .apply(records: answer.records, wanted: answer.wanted)
            case .pushing:
                return nextPush()
            case .done:
                return fail("answer after the exchange ended")
            }
        } catch {
            return fail("\(peer): \(error)")
        }
    }

    /// Our keys and digests in the differing segments.
    public mutating func onEntries(_ segments: [Int], _ entries: [(key: [UInt8], digest: UInt64)]) -> Step {
        segmentGroups = ExchangeCore.groups(tree: tree, segments: segments, entries: entries, maxBytes: maxMessageBytes)
        return nextSegments()
    }

    private mutating func nextSegments() -> Step {
        guard !segmentGroups.isEmpty else {
            phase = .done
            return .finished(ExchangeOutcome(equal: false, keysSent: pushed, keysReceived: received))
        }
        phase = .segments
        return send(.merkleSegment, segmentGroups.removeFirst().encode())
    }

    /// Whole segments packed in order into requests of at most `maxBytes` of entries (a
    /// segment is never split: the answerer would take the keys left out as missing here).
    /// A single segment over the bound goes alone.
    static func groups(tree: TreeID, segments: [Int], entries: [(key: [UInt8], digest: UInt64)], maxBytes: Int) -> [SegmentRequest] {
        var bySegment: [Int: [(key: [UInt8], digest: UInt64)]] = [:]
        for e in entries { bySegment[MerkleTree.segment(of: e.key), default: []].append(e) }
        func bytes(_ s: Int) -> Int { (bySegment[s] ?? []).reduce(4) { $0 + $1.key.count + 12 } }
        return BatchBounds.split(segments, maxCount: MerkleTree.segmentCount, maxBytes: maxBytes, size: bytes).map { group in
            SegmentRequest(tree: tree, segments: group, entries: group.flatMap { bySegment[$0] ?? [] })
        }
    }

    /// The peer's records were merged (`received` changed ours); push `push` to it.
    public mutating func onPush(received: Int, push: [(address: KeyAddress, record: [UInt8])]) -> Step {
        self.received += received
        phase = .pushing
        pushBatches = BatchBounds.split(push, maxCount: ExchangeCore.pushBatchSize, maxBytes: min(BatchBounds.maxBatchBytes, maxMessageBytes)) { $0.record.count + $0.address.key.count + 16 }
        return nextPush()
    }

    private mutating func nextPush() -> Step {
        guard !pushBatches.isEmpty else { return nextSegments() }
        let batch = pushBatches.removeFirst()
        pushed += batch.count
        return send(.repair, HintBatchMessage(entries: batch).encode())
    }

    public mutating func onFailure(_ error: String) -> Step { fail("\(peer): \(error)") }

    private mutating func fail(_ message: String) -> Step {
        phase = .done
        return .failed(message)
    }
}
