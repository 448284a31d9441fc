// Seeded random runs of both coordinators, checked against invariants that must hold for
// every preference list, count, liveness and answer order. Each run prints its seed on
// failure and replays from it.
import XCTest
@testable import Peer

final class CoordinatorPropertyTests: XCTestCase {
    static let runs = 3_000

    /// A random preference list: N primaries (some down), maybe a pending owner, 0-3 fallbacks.
    func randomReplicas(_ rng: inout SeededRandom) -> (replicas: [QuorumReplica], n: Int) {
        let n = Int.random(in: 1...5, using: &rng)
        var list: [QuorumReplica] = (0..<n).map { .primary("p\($0)", up: Int.random(in: 0..<4, using: &rng) > 0) }
        if Bool.random(using: &rng) && Bool.random(using: &rng) {
            list.append(.pendingOwner("x", up: Int.random(in: 0..<4, using: &rng) > 0))
        }
        for index in 0..<Int.random(in: 0...3, using: &rng) {
            list.append(.fallback("f\(index)", up: Int.random(in: 0..<4, using: &rng) > 0))
        }
        return (list, n)
    }

    func testWriteInvariantsHoldForRandomRuns() {
        var outcomes: [String: Int] = [:]
        for run in 0..<Self.runs {
            let seed = UInt64(0xC0FFEE) &+ UInt64(run)
            var rng = SeededRandom(seed: seed)
            let (list, n) = randomReplicas(&rng)
            let local = list[Int.random(in: 0..<list.count, using: &rng)].node
            let w = Int.random(in: 1...n, using: &rng)
            let strict = Bool.random(using: &rng)
            var coordinator = WriteCoordinator(replicas: list, localNode: local, w: w, strict: strict, timeoutMs: 100)
            let fallbacks = Set(list.filter { $0.role == .fallback }.map(\.node))
            let primaries = Set(list.filter { $0.role == .primary }.map(\.node))
            let down = Set(list.filter { !$0.isUp && $0.node != local }.map(\.node))
            let pendingUp = list.contains { $0.role == .pendingOwner && ($0.isUp || $0.node == local) } ? 1 : 0
            let required = w + pendingUp

            let actions = coordinator.start()
            var acked: Set<String> = []
            var sent: [String] = []
            var replies = 0
            var ackedAtReply: Int?
            var everyoneAcks = Bool.random(using: &rng)
            func absorb(_ batch: [WriteCoordinatorAction]) {
                for action in batch {
                    switch action {
                    case .replicate(let node, let hint):
                        XCTAssertNotEqual(node, local, "seed \(seed): never replicates to itself")
                        XCTAssertFalse(sent.contains(node), "seed \(seed): \(node) sent twice")
                        XCTAssertFalse(down.contains(node), "seed \(seed): sent to down \(node)")
                        XCTAssertEqual(hint != nil, fallbacks.contains(node), "seed \(seed): hint iff fallback (\(node))")
                        if let hint { XCTAssertTrue(primaries.contains(hint), "seed \(seed): hint names primary, not \(hint)") }
                        if strict { XCTAssertFalse(fallbacks.contains(node), "seed \(seed): STRICT sent to fallback \(node)") }
                        sent.append(node)
                    case .reply:
                        replies += 1
                        ackedAtReply = acked.count
                    case .scheduleTimeout, .applyLocally:
                        break
                    }
                }
            }
            absorb(actions)
            if coordinator.phase == .applyingLocally {
                let localOK = Int.random(in: 0..<10, using: &rng) > 0
                if !localOK { everyoneAcks = false }
                if localOK, coordinator.localTarget != nil { acked.insert(local) }
                absorb(coordinator.onLocalApplied(ok: localOK))
                var answered = 0
                var timedOut = false
                // Answer sends in a random order, sometimes twice, until none is left.
                while answered < sent.count + 2, answered < 40 {
                    let pending = sent.filter { !coordinator.acked.contains($0) && !coordinator.nacked.contains($0) }
                    guard let node = pending.randomElement(using: &rng) ?? sent.randomElement(using: &rng) else { break }
                    if !timedOut && Int.random(in: 0..<12, using: &rng) == 0 {
                        timedOut = true
                        absorb(coordinator.onTimeout())
                    }
                    let ack = everyoneAcks || Bool.random(using: &rng)
                    // The shadow count: a target's first answer, if an ack, is one more ack.
                    let wasNew = !coordinator.acked.contains(node) && !coordinator.nacked.contains(node)
                    if ack && wasNew { acked.insert(node) }
                    absorb(ack ? coordinator.onAck(from: node) : coordinator.onNack(from: node))
                    answered += 1
                }
            }
            absorb(coordinator.onTimeout())

            XCTAssertEqual(replies, 1, "seed \(seed): exactly one reply")
            if coordinator.reply == .ok {
                XCTAssertGreaterThanOrEqual(ackedAtReply ?? 0, required, "seed \(seed): ok with fewer than W acks")
            }
            let reachable = coordinator.plan.targets.count
            if everyoneAcks && reachable >= required && coordinator.reply != .ok {
                if case .failed(let failure)? = coordinator.reply, case .timedOut = failure.reason {} else {
                    XCTFail("seed \(seed): every target acked, \(reachable) >= \(required), yet \(String(describing: coordinator.reply))")
                }
            }
            XCTAssertTrue(coordinator.isFinished, "seed \(seed)")
            outcomes[renderWriteReply(coordinator.reply).split(separator: " ")[0].description, default: 0] += 1
        }
        // Not vacuous: every kind of outcome occurred many times.
        for kind in ["ok", "unavailable", "timeout", "unreachable", "localfailed"] {
            XCTAssertGreaterThan(outcomes[kind] ?? 0, 20, "\(kind) outcomes: \(outcomes)")
        }
    }

    func testReadInvariantsHoldForRandomRuns() {
        var values = 0
        var failures = 0
        var repairBatches = 0
        for run in 0..<Self.runs {
            let seed = UInt64(0xBEEF) &+ UInt64(run)
            var rng = SeededRandom(seed: seed)
            let (list, n) = randomReplicas(&rng)
            let local = list[Int.random(in: 0..<list.count, using: &rng)].node
            let r = Int.random(in: 1...n, using: &rng)
            let strict = Bool.random(using: &rng)
            var coordinator = ReadCoordinator<FakeState>(replicas: list, localNode: local, r: r, strict: strict, timeoutMs: 100)
            let fallbacks = Set(list.filter { $0.role == .fallback }.map(\.node))
            let primaries = Set(list.filter { $0.role == .primary }.map(\.node))

            var read: [String] = []
            var replies = 0
            var repairs = 0
            var stateByNode: [String: FakeState?] = [:]
            var repliesAtReply = 0
            func absorb(_ batch: [ReadCoordinatorAction<FakeState>]) {
                for action in batch {
                    switch action {
                    case .read(let node):
                        XCTAssertFalse(read.contains(node), "seed \(seed): read twice from \(node)")
                        XCTAssertNotEqual(node, "x", "seed \(seed): a pending owner is never read")
                        if strict { XCTAssertFalse(fallbacks.contains(node), "seed \(seed): STRICT read a fallback") }
                        read.append(node)
                    case .reply(let reply):
                        XCTAssertEqual(repairs, 0, "seed \(seed): repair before reply")
                        replies += 1
                        repliesAtReply = stateByNode.count
                        if case .value(let value) = reply {
                            XCTAssertGreaterThanOrEqual(stateByNode.count, r, "seed \(seed): value with fewer than R replies")
                            let expected = stateByNode.values.compactMap { $0 }.max { $0.version < $1.version }
                            XCTAssertEqual(value?.version, expected?.version, "seed \(seed): reply is the merge of the replies")
                        }
                    case .readRepair(let nodes, let state):
                        repairs += 1
                        XCTAssertTrue(Set(nodes).isSubset(of: primaries), "seed \(seed): repair only primaries")
                        for node in nodes {
                            if let answer = stateByNode[node] { XCTAssertNotEqual(answer, state, "seed \(seed): repaired an up-to-date \(node)") }
                        }
                        let expected = stateByNode.values.compactMap { $0 }.max { $0.version < $1.version }
                        XCTAssertEqual(state, expected, "seed \(seed): repair carries the merge of all replies")
                    case .scheduleTimeout:
                        break
                    }
                }
            }
            absorb(coordinator.start())
            var steps = 0
            while steps < 30, let node = read.randomElement(using: &rng) {
                steps += 1
                if Int.random(in: 0..<15, using: &rng) == 0 { absorb(coordinator.onTimeout()) }
                if Int.random(in: 0..<6, using: &rng) == 0 {
                    absorb(coordinator.onFailure(from: node))
                } else {
                    let state: FakeState? = Bool.random(using: &rng) ? FakeState(version: Int.random(in: 1...4, using: &rng)) : nil
                    let fresh = !coordinator.replies.contains { $0.node == node } && !coordinator.failed.contains(node) && !coordinator.timedOut
                    if fresh { stateByNode[node] = .some(state) }
                    absorb(coordinator.onReply(from: node, state: state))
                }
            }
            absorb(coordinator.onTimeout())
            XCTAssertEqual(replies, 1, "seed \(seed): exactly one reply")
            XCTAssertLessThanOrEqual(repairs, 1, "seed \(seed): at most one repair batch")
            XCTAssertLessThanOrEqual(repliesAtReply, read.count, "seed \(seed)")
            XCTAssertTrue(coordinator.isFinished, "seed \(seed)")
            if case .value? = coordinator.reply { values += 1 } else { failures += 1 }
            repairBatches += repairs
        }
        // Not vacuous: values, failures and repairs all occurred many times.
        XCTAssertGreaterThan(values, 200)
        XCTAssertGreaterThan(failures, 200)
        XCTAssertGreaterThan(repairBatches, 200)
    }
}
