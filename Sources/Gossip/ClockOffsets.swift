// Wall-clock offsets of the other members, measured on probe round trips (NTP's on-wire
// method, RFC 5905 section 8, with the clock filter of section 10 reduced to its core).
//
// A probe leaves at monotonic time t0; the target answers its ping with an ack and a
// `clock` message carrying its wall clock T when it answered; the ack arrives at t3, when
// our wall clock reads W. With the round trip rtt = t3 - t0 taken on the monotonic clock
// and the answer assumed half way, the target's offset from us is
//     offset = T - (W - rtt / 2)        with error at most rtt / 2
// (exact when both directions take equally long). Of the last `window` samples per member
// the one with the shortest round trip is the estimate: queueing only ever adds delay, so
// the fastest exchange is the least distorted. Pure: samples and time come in as inputs.

/// One member's estimated wall-clock offset from this node (positive: its clock is ahead).
public struct ClockOffset: Sendable, Equatable {
    /// Its wall clock minus ours, in microseconds.
    public var offsetUs: Int64
    /// Half the round trip of the sample the estimate comes from: the offset's error bound.
    public var errorUs: Int64
    /// The round trip of that sample, microseconds.
    public var rttUs: Int64
    /// Samples taken so far (the estimate uses the last `ClockOffsetTable.window`).
    public var samples: Int
    /// Monotonic time (ns) of the latest sample.
    public var lastSampleNs: UInt64

    public init(offsetUs: Int64, errorUs: Int64, rttUs: Int64, samples: Int, lastSampleNs: UInt64) {
        self.offsetUs = offsetUs
        self.errorUs = errorUs
        self.rttUs = rttUs
        self.samples = samples
        self.lastSampleNs = lastSampleNs
    }

    /// The offset in whole milliseconds, rounded towards zero.
    public var offsetMs: Int64 { offsetUs / 1_000 }
}

/// The offset estimates of every member sampled so far.
struct ClockOffsetTable: Sendable {
    /// Samples kept per member (NTP keeps 8).
    static let window = 8

    private struct Sample: Sendable {
        var offsetUs: Int64
        var rttUs: Int64
    }

    private var samples: [String: (recent: [Sample], count: Int, lastNs: UInt64)] = [:]

    /// Records one exchange with `member`: its wall clock `remoteWallUs` when it answered,
    /// ours `localWallUs` when the answer arrived, and the round trip `rttNs`.
    mutating func record(_ member: String, remoteWallUs: Int64, localWallUs: Int64, rttNs: UInt64, now: UInt64) {
        let rttUs = Int64(min(rttNs / 1_000, UInt64(Int64.max / 4)))
        let offset = remoteWallUs &- (localWallUs &- rttUs / 2)
        var entry = samples[member] ?? ([], 0, now)
        entry.recent.append(Sample(offsetUs: offset, rttUs: rttUs))
        if entry.recent.count > ClockOffsetTable.window { entry.recent.removeFirst() }
        entry.count += 1
        entry.lastNs = now
        samples[member] = entry
    }

    /// The estimate for every sampled member.
    var estimates: [String: ClockOffset] {
        var out: [String: ClockOffset] = [:]
        for (id, e) in samples {
            guard let best = e.recent.min(by: { $0.rttUs < $1.rttUs }) else { continue }
            out[id] = ClockOffset(offsetUs: best.offsetUs, errorUs: best.rttUs / 2, rttUs: best.rttUs,
                                  samples: e.count, lastSampleNs: e.lastNs)
        }
        return out
    }
}
