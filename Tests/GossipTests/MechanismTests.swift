import Bytes
import XCTest
@testable import Gossip

/// The small mechanisms, each pinned on its own: the lattice, Lifeguard's suspicion curve
/// and health multiplier, the broadcast queue, cluster-state merging, the probe sequence.
final class MechanismTests: XCTestCase {
    private func m(_ inc: UInt64, _ status: MemberStatus) -> Member {
        Member(id: "x", gossip: Endpoint(host: "10.0.0.9", port: 1), peer: Endpoint(host: "10.0.0.9", port: 1),
               client: Endpoint(host: "10.0.0.9", port: 1), http: Endpoint(host: "10.0.0.9", port: 1), incarnation: inc, status: status)
    }

    func testLatticeOrdersStatusWithinIncarnationAndIncarnationAboveAll() {
        let table: [(Member, Member, Bool)] = [
            (m(1, .suspect), m(1, .alive), true),
            (m(1, .alive), m(1, .suspect), false),
            (m(1, .dead), m(1, .suspect), true),
            (m(1, .left), m(1, .dead), true),
            (m(2, .alive), m(1, .dead), true),
            (m(1, .dead), m(2, .alive), false),
            (m(1, .alive), m(1, .alive), false),
        ]
        for (news, current, expected) in table {
            XCTAssertEqual(news.supersedes(current), expected, "\(news.status)(\(news.incarnation)) over \(current.status)(\(current.incarnation))")
        }
    }

    func testSuspicionTimeoutFallsFromMaxToMinWithConfirmations() {
        let minNs: UInt64 = 4_000, maxNs: UInt64 = 24_000
        XCTAssertEqual(Suspicion.timeoutNs(confirmations: 0, k: 2, minNs: minNs, maxNs: maxNs), maxNs)
        let one = Suspicion.timeoutNs(confirmations: 1, k: 2, minNs: minNs, maxNs: maxNs)
        XCTAssertTrue(one > minNs && one < maxNs)
        XCTAssertEqual(Suspicion.timeoutNs(confirmations: 2, k: 2, minNs: minNs, maxNs: maxNs), minNs)
        XCTAssertEqual(Suspicion.timeoutNs(confirmations: 0, k: 0, minNs: minNs, maxNs: maxNs), minNs)
    }

    func testSuspicionCountsEachConfirmerOnceAndNotTheOriginator() {
        var s = Suspicion(incarnation: 1, from: "a", startNs: 0, minNs: 10, maxNs: 60, k: 2)
        XCTAssertFalse(s.confirm(from: "a"))
        XCTAssertTrue(s.confirm(from: "b"))
        XCTAssertFalse(s.confirm(from: "b"))
        XCTAssertTrue(s.confirm(from: "c"))
        XCTAssertFalse(s.confirm(from: "d"), "beyond k confirmations add nothing")
        XCTAssertEqual(s.deadlineNs, 10)
    }

    func testAwarenessStretchesTimeoutsAndIsBounded() {
        var a = Awareness(maxMultiplier: 8)
        XCTAssertEqual(a.scaled(100), 100)
        a.apply(delta: 3)
        XCTAssertEqual(a.scaled(100), 400)
        a.apply(delta: 100)
        XCTAssertEqual(a.score, 7)
        a.apply(delta: -100)
        XCTAssertEqual(a.score, 0)
    }

    func testBroadcastQueueSendsLeastSentFirstNewestAmongEqualsAndRetires() {
        var q = BroadcastQueue(capacity: 10)
        q.enqueue(subject: "a", message: .ack(seq: 1))
        q.enqueue(subject: "b", message: .ack(seq: 2))
        let size = GossipMessage.ack(seq: 1).encodedSize
        var r = ByteReader(q.take(budgetBytes: size, limit: 2))
        var skipped = 0
        XCTAssertEqual(try GossipMessage.decodeAll(&r, skipped: &skipped), [.ack(seq: 2)], "newest first")
        r = ByteReader(q.take(budgetBytes: size, limit: 2))
        XCTAssertEqual(try GossipMessage.decodeAll(&r, skipped: &skipped), [.ack(seq: 1)], "then the least sent")
        _ = q.take(budgetBytes: 100, limit: 2)
        XCTAssertTrue(q.isEmpty, "each retired after its limit")
    }

    func testBroadcastQueueReplacesOlderNewsAboutTheSameSubject() {
        var q = BroadcastQueue(capacity: 10)
        q.enqueue(subject: "a", message: .ack(seq: 1))
        q.enqueue(subject: "a", message: .ack(seq: 9))
        XCTAssertEqual(q.count, 1)
        var r = ByteReader(q.take(budgetBytes: 100, limit: 1))
        var skipped = 0
        XCTAssertEqual(try GossipMessage.decodeAll(&r, skipped: &skipped), [.ack(seq: 9)])
    }

    func testEqualVersionTieBreakIsSymmetricAndResolverIsUsed() {
        let a = ClusterStateValue(key: "ring", version: 3, payload: [1, 2])
        let b = ClusterStateValue(key: "ring", version: 3, payload: [1, 3])
        XCTAssertEqual(ClusterStateValue.defaultWinner(a, b), ClusterStateValue.defaultWinner(b, a))
        XCTAssertEqual(ClusterStateValue.defaultWinner(a, b), b)
        var c = GossipConfig()
        c.stateResolver = { x, y in ClusterStateValue(key: x.key, version: x.version, payload: x.payload + y.payload) }
        var core = SwimCore(config: c, me: Member(id: "n1", gossip: Endpoint(host: "10.0.0.1", port: 1)), seed: 1)
        _ = core.start(seeds: [], now: 0)
        _ = core.publishState(key: "ring", version: 3, payload: [1, 2], now: 0)
        _ = core.publishState(key: "ring", version: 3, payload: [1, 3], now: 0)
        XCTAssertEqual(core.stateValue("ring")?.payload, [1, 2, 1, 3])
        _ = core.publishState(key: "ring", version: 2, payload: [7], now: 0)
        XCTAssertEqual(core.stateValue("ring")?.version, 3, "an older version never wins")
    }

    /// Drives one core by hand through a probe that nobody answers.
    func testUnansweredProbeGoesIndirectThenSuspects() throws {
        var c = GossipConfig()
        c.gossipNodes = 0
        var core = SwimCore(config: c, me: Member(id: "n0", gossip: Endpoint(host: "10.0.0.0", port: 1)), seed: 3)
        let others = (1...4).map { Member(id: "n\($0)", gossip: Endpoint(host: "10.0.0.\($0)", port: 1)) }
        core.preload(others, now: 0)
        _ = core.start(seeds: [], now: 0)
        var now: UInt64 = 0
        var pings: [(Endpoint, UInt32)] = []
        var pingReqs = 0
        var suspected: Member?
        let codec = PacketCodec(secret: nil)
        for _ in 0..<100 where suspected == nil {
            now = core.nextDeadlineNs
            for action in core.onTick(now: now) {
                switch action {
                case let .send(to, bytes):
                    for msg in try codec.decodePacket(bytes, nowMs: now / 1_000_000) {
                        if case let .ping(seq, _, _) = msg, suspected == nil { pings.append((to, seq)) }
                        if case .pingReq = msg { pingReqs += 1 }
                    }
                case let .emit(.memberSuspect(m)): suspected = m
                default: break
                }
            }
        }
        XCTAssertEqual(pings.count, 1)
        XCTAssertEqual(pingReqs, 3, "k = 3 indirect probes")
        XCTAssertEqual(suspected?.gossip, pings.first?.0)
        XCTAssertEqual(core.counters.suspicions, 1)
        XCTAssertEqual(core.healthScore, 3, "no nacks from three relays: our own network is suspect")
    }

    func testSuspicionOfSelfIsRefutedWithHigherIncarnation() {
        var core = SwimCore(config: GossipConfig(), me: Member(id: "n0", gossip: Endpoint(host: "10.0.0.0", port: 1), incarnation: 4), seed: 3)
        _ = core.start(seeds: [], now: 0)
        var me = core.me
        me.status = .suspect
        var body = [UInt8]()
        GossipMessage.member(me, from: "n1").encode(into: &body)
        _ = core.onPacket(from: Endpoint(host: "10.0.0.1", port: 1), bytes: PacketCodec(secret: nil).packet(messages: body, timestampMs: 0), now: 0)
        XCTAssertEqual(core.me.incarnation, 5)
        XCTAssertEqual(core.me.status, .alive)
        XCTAssertEqual(core.counters.falseSuspicionsRefuted, 1)
        XCTAssertEqual(core.healthScore, 1)
    }
}
