// Per-peer round-trip estimates and the deadlines derived from them: a pure value, no I/O,
// no clock (times come in as arguments). The node keeps one behind a lock and feeds it
// every peer RPC's outcome (MeasuredTransport) and the coordinators' missed deadlines.
//
// Estimates, per peer and per kind of request (a forwarded write includes the remote
// coordinator's own replication and fsync; a replica request is one hop and a store):
//   * SRTT and RTTVAR as TCP keeps them (RFC 6298: alpha 1/8, beta 1/4);
//   * p99 over the last `windowSamples` round trips, re-sorted every `resortEvery` samples.
// deadline = clamp(factor * max(SRTT + 4 * RTTVAR, p99), floorMs, ceilingMs); with no
// sample yet it is `initialMs`. A deadline is when the caller stops waiting and tries the
// next replica; the request's own TIMEOUT still bounds the whole request.
//
// Misses: a deadline that passed without an answer. `missesToDeprioritize` misses in a row
// make the peer "deprioritised" (passed over as a write coordinator) until any answer from
// it arrives again. Replica traffic keeps flowing to it, so a peer that comes back is
// noticed by its next reply, with no timer of its own.

/// Per-peer round-trip estimates, deadlines and deadline misses.
public struct PeerLatency: Sendable {
    /// What a round trip measured.
    public enum Kind: Int, Sendable, CaseIterable {
        /// A replica read, write, hint or repair: one hop and the replica's store.
        case replica
        /// A write forwarded to its coordinating primary: its whole coordination.
        case forward
        /// A gossip probe and its ack (UDP): shown, and evidence the peer is alive; no
        /// request deadline is derived from it (a probe does no disk work).
        case gossip
    }

    /// Bounds and weights of the estimates.
    public struct Config: Sendable, Equatable {
        /// 50 ms, not a few: on a loaded 2-core machine one fsync or a scheduling delay
        /// takes tens of ms, and a failover on a slow answer costs a second coordination.
        public var floorMs: Double = 50
        public var ceilingMs: Double = 250
        public var initialMs: Double = 250
        public var factor: Double = 2
        public var windowSamples = 128
        public var resortEvery = 16
        public var missesToDeprioritize = 2
        public init() {}
    }

    /// One peer's estimate for one kind of request.
    public struct Estimate: Sendable, Equatable {
        public private(set) var samples = 0
        public private(set) var srttMs: Double = 0
        public private(set) var rttvarMs: Double = 0
        public private(set) var p99Ms: Double = 0
        fileprivate var window: [Double] = []
        fileprivate var next = 0

        fileprivate mutating func observe(_ rtt: Double, config: Config) {
            if samples == 0 {
                srttMs = rtt
                rttvarMs = rtt / 2
            } else {
                rttvarMs = 0.75 * rttvarMs + 0.25 * abs(srttMs - rtt)
                srttMs = 0.875 * srttMs + 0.125 * rtt
            }
            samples += 1
            if window.count < config.windowSamples {
                window.append(rtt)
            } else {
                window[next] = rtt
                next = (next + 1) % config.windowSamples
            }
            if samples <= config.resortEvery || samples % config.resortEvery == 0 {
                let sorted = window.sorted()
                p99Ms = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
            }
        }

        func deadlineMs(_ config: Config) -> Double {
            guard samples > 0 else { return config.initialMs }
            let base = max(srttMs + 4 * rttvarMs, p99Ms)
            return min(config.ceilingMs, max(config.floorMs, config.factor * base))
        }
    }

    /// Everything kept about one peer.
    public struct Peer: Sendable, Equatable {
        public fileprivate(set) var estimates = [Estimate](repeating: Estimate(), count: Kind.allCases.count)
        /// Deadline misses since the last answer.
        public fileprivate(set) var consecutiveMisses = 0
        public fileprivate(set) var totalMisses: UInt64 = 0
        /// When the peer last answered anything (monotonic µs; 0: never).
        public fileprivate(set) var lastAnswerUs: Int64 = 0

        public func estimate(_ kind: Kind) -> Estimate { estimates[kind.rawValue] }
    }

    public let config: Config
    public private(set) var peers: [String: Peer] = [:]

    public init(config: Config = Config()) { self.config = config }

    /// A round trip to `peer` that got an answer (any answer: the peer is alive).
    // The mutations below go through `peers[peer, default:]` in place: a copy taken out and
    // stored back would copy the estimates and their sample windows on every round trip.
    public mutating func observe(_ peer: String, _ kind: Kind, rttMs: Double, atUs now: Int64 = 0) {
        let config = config
        Self.update(&peers[peer, default: Peer()]) { p in
            p.estimates[kind.rawValue].observe(max(0, rttMs), config: config)
            p.consecutiveMisses = 0
            p.lastAnswerUs = max(p.lastAnswerUs, now)
        }
    }

    private static func update(_ peer: inout Peer, _ body: (inout Peer) -> Void) { body(&peer) }

    /// `peer` answered a request whose time is no sample (a large batch, a scan): it is alive.
    public mutating func heard(_ peer: String, atUs now: Int64 = 0) {
        Self.update(&peers[peer, default: Peer()]) { p in
            p.consecutiveMisses = 0
            p.lastAnswerUs = max(p.lastAnswerUs, now)
        }
    }

    /// True when `peer` answered something since `sinceUs`: direct evidence that it is up,
    /// stronger than gossip's word (which may lag, or repeat a stale "dead" after a heal).
    public func answered(_ peer: String, sinceUs: Int64) -> Bool {
        guard let p = peers[peer], p.lastAnswerUs > 0 else { return false }
        return p.lastAnswerUs >= sinceUs && p.consecutiveMisses == 0
    }

    /// A deadline to `peer` passed without an answer.
    public mutating func missed(_ peer: String) {
        Self.update(&peers[peer, default: Peer()]) { p in
            p.consecutiveMisses += 1
            p.totalMisses += 1
        }
    }

    /// How long to wait for `peer` before trying the next replica, in whole ms (at least 1).
    public func deadlineMs(_ peer: String, _ kind: Kind) -> Int {
        let ms = peers[peer]?.estimate(kind).deadlineMs(config) ?? config.initialMs
        return max(1, Int(ms.rounded(.up)))
    }

    /// True while `peer` keeps missing deadlines: pass it over as a write coordinator.
    public func isDeprioritized(_ peer: String) -> Bool {
        (peers[peer]?.consecutiveMisses ?? 0) >= config.missesToDeprioritize
    }
}
