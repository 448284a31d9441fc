// Gossip wire constants. The format is written down in PROTOCOL.md beside this file.
//
// APPEND-ONLY: never renumber or reuse a message type or flag bit. A retired number stays
// a gap, because old peers still send it and new peers must not misread it.

/// Constants of the gossip packet and push-pull stream formats (PROTOCOL.md).
enum WireFormat {
    /// "CG": a UDP gossip packet.
    static let packetMagic: (UInt8, UInt8) = (0x43, 0x47)
    /// "CP": a TCP push-pull frame.
    static let pushPullMagic: (UInt8, UInt8) = (0x43, 0x50)
    /// The header version byte, unchanged since protocol 1: protocol 2 only adds a message
    /// type, which protocol-1 peers skip by its length (PROTOCOL.md, "Versions"). Packets
    /// with any other header version are dropped and counted.
    static let version: UInt8 = 1

    /// Flag bit 0: a 32-byte HMAC-SHA256 trailer follows the body.
    static let flagAuthenticated: UInt8 = 0x01

    /// magic(2) version(1) flags(1) timestamp_ms(8)
    static let packetHeaderBytes = 12
    /// magic(2) version(1) flags(1) timestamp_ms(8) kind(1) body_length(4)
    static let pushPullHeaderBytes = 17
    /// type(1) length(2)
    static let messageHeaderBytes = 3

    // Message types (append-only).
    static let typePing: UInt8 = 1
    static let typePingReq: UInt8 = 2
    static let typeAck: UInt8 = 3
    static let typeNack: UInt8 = 4
    static let typeMember: UInt8 = 5
    static let typeState: UInt8 = 6
    static let typeStateDigest: UInt8 = 7
    /// Protocol 2: the responder's wall clock, beside the ack of a direct ping.
    static let typeClock: UInt8 = 8

    // Push-pull kinds (append-only).
    static let pushPullRequest: UInt8 = 1
    static let pushPullJoinRequest: UInt8 = 2
    static let pushPullReply: UInt8 = 3

    /// Largest message body (the length field is 16 bits); bounds a cluster-state payload.
    static let maxMessageBodyBytes = 65_535
    /// Largest push-pull body accepted from a peer.
    static let maxPushPullBodyBytes = 32 << 20
}
