/// HMAC-SHA256 (RFC 2104), tested against RFC 4231; authenticates gossip packets,
/// push-pull streams and (in the Peer layer) peer connections.
public enum HMACSHA256 {
    public static let macBytes = 32

    /// The 32-byte MAC of `message` under `key`.
    public static func authenticationCode<C: Collection>(key: [UInt8], message: C) -> [UInt8] where C.Element == UInt8 {
        var block = key.count > SHA256.blockBytes ? SHA256.hash(key) : key
        block += [UInt8](repeating: 0, count: SHA256.blockBytes - block.count)
        var inner = SHA256()
        inner.update(block.map { $0 ^ 0x36 })
        inner.update(message)
        let innerDigest = inner.finalize()
        var outer = SHA256()
        outer.update(block.map { $0 ^ 0x5c })
        outer.update(innerDigest)
        return outer.finalize()
    }

    /// Compares two MACs in time independent of where they differ, so a forger learns
    /// nothing from how fast a wrong guess is rejected.
    public static func constantTimeEqual<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool
    where A.Element == UInt8, B.Element == UInt8 {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for (x, y) in zip(a, b) { diff |= x ^ y }
        return diff == 0
    }
}
