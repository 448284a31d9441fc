/// A small versioned value carried by gossip (the ring, the namespace table). The Gossip
/// module never looks inside `payload`; the newest version wins, and equal versions with
/// different payloads are settled by `GossipConfig.stateResolver` or, by default, by
/// `defaultWinner` (a deterministic byte comparison every node agrees on).
public struct ClusterStateValue: Hashable, Sendable {
    /// Longest key, in UTF-8 bytes (one length byte on the wire).
    public static let maxKeyBytes = 255
    /// Largest payload: one value travels in one message, whose body length is 16 bits,
    /// with room left for the key and the message's own fields.
    public static let maxPayloadBytes = WireFormat.maxMessageBodyBytes - 300

    /// Whether a value with this key and payload can be gossiped at all.
    public static func fits(key: String, payloadBytes: Int) -> Bool {
        !key.isEmpty && key.utf8.count <= maxKeyBytes && payloadBytes <= maxPayloadBytes
    }

    public var key: String
    public var version: UInt64
    public var payload: [UInt8]

    public init(key: String, version: UInt64, payload: [UInt8]) {
        self.key = key
        self.version = version
        self.payload = payload
    }

    /// First 8 bytes of the payload's SHA-256, big-endian: equal on every machine.
    public var checksum: UInt64 {
        SHA256.hash(payload).prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The value every node picks between two with the same key, without a resolver:
    /// higher version, then the longer payload, then the lexicographically greater one.
    public static func defaultWinner(_ a: ClusterStateValue, _ b: ClusterStateValue) -> ClusterStateValue {
        if a.version != b.version { return a.version > b.version ? a : b }
        if a.payload.count != b.payload.count { return a.payload.count > b.payload.count ? a : b }
        return a.payload.lexicographicallyPrecedes(b.payload) ? b : a
    }
}
