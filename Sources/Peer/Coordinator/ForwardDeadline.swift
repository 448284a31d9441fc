import Gossip

/// When a coordinator must no longer apply a forwarded write (docs/FAULTS.md, "Late
/// forwards"). Pure: times and offsets come in as inputs.
///
/// The sender stops waiting for a forward at its hop deadline; from then on it may fail
/// over, have the write coordinated elsewhere and answer the client, who may delete or
/// overwrite the key at once. A coordinator that applied the forward after that (it was
/// paused, or the bytes sat in a cut connection) would make a new version concurrent with
/// the client's next write (siblings) or later than it (lww): the old value would come
/// back. So the forward carries the last moment the receiver may still apply it, in the
/// receiver's own wall clock. The sender converts its give-up time with the offset gossip
/// measured for the receiver, granting the measurement its error (the receiver refuses
/// early rather than late). Without a measurement (a member's first seconds) it grants the
/// cluster's clock-offset bound the other way: the receiver then refuses only forwards that
/// are late whatever the clocks, as a forward after a pause of seconds is.
public enum ForwardDeadline {
    /// Time granted between the receiver's check and the write's version (its dot): both
    /// run one after the other on the same node queue.
    public static let versioningMarginMs: Int64 = 10

    /// The receiver-clock time after which the write must not be applied.
    /// - Parameters:
    ///   - giveUpWallMs: the sender's wall clock when it stops waiting (now + hop deadline).
    ///   - receiverOffset: the receiver's clock minus the sender's, as gossip measured it.
    ///   - maxOffsetMs: the cluster's clock-offset bound (`--max-clock-offset`).
    public static func applyBy(giveUpWallMs: Int64, receiverOffset: ClockOffset?, maxOffsetMs: Int64) -> Int64 {
        guard let o = receiverOffset else { return giveUpWallMs + maxOffsetMs }
        let earliestUs = o.offsetUs - o.errorUs
        // Floor, not truncation: a negative offset must not round towards later.
        let earliestMs = earliestUs >= 0 ? earliestUs / 1_000 : -((-earliestUs + 999) / 1_000)
        return max(1, giveUpWallMs + earliestMs)
    }

    /// Whether a forward with this deadline (0: none) arrived too late to apply at `nowWallMs`.
    public static func isLate(applyByWallMs: Int64, nowWallMs: Int64) -> Bool {
        applyByWallMs > 0 && nowWallMs + versioningMarginMs >= applyByWallMs
    }
}
