// SPEC section 6 through the coordinators: with STRICT, a read that succeeds after an
// acknowledged write with R + W > N sees that write or a later one, whatever the liveness,
// lost answers and failures. R and W vary per request, so the check is per pair. Replicas are in-memory FakeState stores; seeded, bounded.
import XCTest
@testable import Peer

final class CoordinatorQuorumIntersectionTests: XCTestCase {
    func testStrictOverlappingQuorumsReadTheLatestAcknowledgedWrite() {
        var totalWrites = 0
        var totalReads = 0
        for run in 0..<300 {
            let seed = UInt64(0xD15C0) &+ UInt64(run)
            var rng = SeededRandom(seed: seed)
            let n = [3, 5][Int.random(in: 0...1, using: &rng)]
            let primaries = (0..<n).map { "p\($0)" }
            let nodes = primaries + ["f0", "f1"]
            var store: [String: FakeState] = [:]
            var acked: [(version: Int, w: Int)] = []
            var acknowledgedWrites = 0
            var successfulReads = 0

            for version in 1...30 {
                let up = Set(nodes.filter { _ in Int.random(in: 0..<4, using: &rng) > 0 })
                let list = primaries.map { QuorumReplica.primary($0, up: up.contains($0)) } + [.fallback("f0", up: up.contains("f0")), .fallback("f1", up: up.contains("f1"))]
                let w = Int.random(in: 1...n, using: &rng)
                let r = Int.random(in: 1...n, using: &rng)

                // Write, coordinated by the first up primary.
                if let local = primaries.first(where: up.contains) {
                    var writer = WriteCoordinator(replicas: list, localNode: local, w: w, strict: true, timeoutMs: 10)
                    var queue = writer.start()
                    var reply: WriteReply?
                    var index = 0
                    while index < queue.count {
                        let action = queue[index]
                        index += 1
                        switch action {
                        case .applyLocally:
                            store[local] = FakeState.merge(store[local] ?? FakeState(version: 0), FakeState(version: version))
                            queue += writer.onLocalApplied(ok: true)
                        case .replicate(let node, _):
                            XCTAssertTrue(primaries.contains(node), "seed \(seed): STRICT sent to \(node)")
                            let delivered = up.contains(node) && Int.random(in: 0..<5, using: &rng) > 0
                            if delivered { store[node] = FakeState.merge(store[node] ?? FakeState(version: 0), FakeState(version: version)) }
                            let answerLost = Int.random(in: 0..<5, using: &rng) == 0
                            if !answerLost { queue += delivered ? writer.onAck(from: node) : writer.onNack(from: node) }
                        case .reply(let answer):
                            reply = answer
                        case .scheduleTimeout:
                            break
                        }
                    }
                    for action in writer.onTimeout() { if case .reply(let answer) = action { reply = answer } }
                    if reply == .ok {
                        acked.append((version, w))
                        acknowledgedWrites += 1
                    }
                }

                // Read from a random node.
                let local = nodes.randomElement(using: &rng) ?? "p0"
                var reader = ReadCoordinator<FakeState>(replicas: list, localNode: local, r: r, strict: true, timeoutMs: 10)
                var queue = reader.start()
                var result: ReadReply<FakeState>?
                var index = 0
                while index < queue.count {
                    let action = queue[index]
                    index += 1
                    switch action {
                    case .read(let node):
                        if Int.random(in: 0..<6, using: &rng) == 0 {
                            queue += reader.onFailure(from: node)
                        } else if Int.random(in: 0..<6, using: &rng) > 0 {
                            queue += reader.onReply(from: node, state: store[node])
                        }
                    case .reply(let answer):
                        result = answer
                    case .readRepair(let targets, let state):
                        for node in targets { store[node] = FakeState.merge(store[node] ?? state, state) }
                    case .scheduleTimeout:
                        break
                    }
                }
                for action in reader.onTimeout() { if case .reply(let answer) = action { result = answer } }
                if case .value(let state)? = result {
                    successfulReads += 1
                    // Only a write whose W overlaps this read's R must be seen.
                    let mustSee = acked.filter { $0.w + r > n }.map(\.version).max() ?? 0
                    XCTAssertGreaterThanOrEqual(state?.version ?? 0, mustSee, "seed \(seed): N=\(n) R=\(r) W=\(w) read missed an acknowledged write")
                }
            }
            // The run exercised both sides (not a vacuous pass).
            totalWrites += acknowledgedWrites
            totalReads += successfulReads
        }
        // Not a vacuous pass: many writes were acknowledged and many reads succeeded.
        XCTAssertGreaterThan(totalWrites, 1000)
        XCTAssertGreaterThan(totalReads, 1000)
    }
}
