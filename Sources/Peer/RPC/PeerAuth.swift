import Gossip

/// The connection handshake: both ends learn each other's node id and, with a cluster
/// secret, prove they hold it (mutual HMAC-SHA256 challenge). Pure state machines, no I/O:
/// the server and client shells feed frames in and send the frames that come out.
///
///     server -> client  hello   (server nonce, secret flag, server id)
///     client -> server  hello   (client nonce, client id, mac_c)
///     server -> client  accept  (mac_s)  |  reject (reason), then close
///
///     mac_c = HMAC(secret, "chorus-rpc-client" || server nonce || client id || client nonce)
///     mac_s = HMAC(secret, "chorus-rpc-server" || client nonce || server nonce || server id)
///
/// Both nonces are fresh per connection, so neither MAC can be replayed into another
/// connection. Without a secret on both ends the MACs are empty and the connection is
/// accepted but marked unauthenticated; a secret on one end only fails the handshake.
/// Layout of each step's payload is in RPC.md.
public enum PeerAuth {
    /// Handshake step numbers (the frame's type field). Frozen, append-only.
    public enum Step: UInt16, Sendable {
        case serverHello = 1
        case clientHello = 2
        case accept = 3
        case reject = 4
    }

    public static let nonceBytes = 32
    public static let maxNodeIDBytes = 255

    static let clientLabel = Array("chorus-rpc-client".utf8)
    static let serverLabel = Array("chorus-rpc-server".utf8)

    /// A fresh random nonce from the system generator (getrandom on Linux).
    public static func makeNonce() -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<nonceBytes).map { _ in UInt8.random(in: .min ... .max, using: &g) }
    }

    static func clientMAC(secret: [UInt8], serverNonce: [UInt8], clientID: [UInt8], clientNonce: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticationCode(key: secret, message: clientLabel + serverNonce + clientID + clientNonce)
    }

    static func serverMAC(secret: [UInt8], clientNonce: [UInt8], serverNonce: [UInt8], serverID: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticationCode(key: secret, message: serverLabel + clientNonce + serverNonce + serverID)
    }
}

/// A finished handshake, seen from either end.
public struct PeerAuthResult: Sendable, Equatable {
    /// The other end's node id.
    public var peerID: String
    /// True when both ends proved the cluster secret; false when neither has one.
    public var authenticated: Bool
}

/// Server side of the handshake.
public struct PeerAuthServer: Sendable {
    public let nodeID: String
    let secret: [UInt8]?
    let nonce: [UInt8]

    /// `secret` nil or empty means none configured. `nonce` must be fresh (`PeerAuth.makeNonce`).
    public init(nodeID: String, secret: [UInt8]?, nonce: [UInt8]) {
        self.nodeID = nodeID
        self.secret = (secret?.isEmpty ?? true) ? nil : secret
        self.nonce = nonce
    }

    /// The first frame, sent as soon as the connection is accepted.
    public func hello() -> Frame {
        var p = nonce
        p.append(secret == nil ? 0 : 1)
        let id = Array(nodeID.utf8.prefix(PeerAuth.maxNodeIDBytes))
        p.append(UInt8(id.count))
        p.append(contentsOf: id)
        return Frame(kind: .handshake, type: PeerAuth.Step.serverHello.rawValue, requestID: 0, payload: p)
    }

    /// What to do with the client's hello.
    public enum Outcome: Sendable, Equatable {
        /// Send `reply` (accept) and serve the connection.
        case accept(PeerAuthResult, reply: Frame)
        /// Send `reply` (reject) and close; count an authentication failure.
        case reject(reason: String, reply: Frame)
    }

    public func onClientHello(_ frame: Frame) -> Outcome {
        guard frame.kind == .handshake, frame.type == PeerAuth.Step.clientHello.rawValue else {
            return reject("expected client hello")
        }
        var r = AuthReader(frame.payload)
        guard let clientNonce = r.bytes(PeerAuth.nonceBytes), let idLen = r.byte(),
              let clientID = r.bytes(Int(idLen)), let macLen = r.byte(), let mac = r.bytes(Int(macLen)), r.atEnd
        else { return reject("malformed client hello") }
        guard !clientID.isEmpty else { return reject("empty node id") }
        let peerID = String(decoding: clientID, as: UTF8.self)
        guard let secret else {
            guard mac.isEmpty else { return reject("client has a cluster secret, this node has none") }
            let reply = Frame(kind: .handshake, type: PeerAuth.Step.accept.rawValue, requestID: 0, payload: [0])
            return .accept(PeerAuthResult(peerID: peerID, authenticated: false), reply: reply)
        }
        let expected = PeerAuth.clientMAC(secret: secret, serverNonce: nonce, clientID: clientID, clientNonce: clientNonce)
        guard HMACSHA256.constantTimeEqual(mac, expected) else { return reject("bad cluster secret") }
        let proof = PeerAuth.serverMAC(secret: secret, clientNonce: clientNonce, serverNonce: nonce,
                                       serverID: Array(nodeID.utf8.prefix(PeerAuth.maxNodeIDBytes)))
        let reply = Frame(kind: .handshake, type: PeerAuth.Step.accept.rawValue, requestID: 0, payload: [UInt8(proof.count)] + proof)
        return .accept(PeerAuthResult(peerID: peerID, authenticated: true), reply: reply)
    }

    private func reject(_ reason: String) -> Outcome {
        .reject(reason: reason, reply: Frame(kind: .handshake, type: PeerAuth.Step.reject.rawValue, requestID: 0, payload: Array(reason.utf8)))
    }
}

/// Client side of the handshake: `onServerHello` then `onServerReply`.
public struct PeerAuthClient: Sendable {
    public let nodeID: String
    let secret: [UInt8]?
    let nonce: [UInt8]
    private var serverNonce: [UInt8] = []
    private var serverID: [UInt8] = []

    public init(nodeID: String, secret: [UInt8]?, nonce: [UInt8]) {
        self.nodeID = nodeID
        self.secret = (secret?.isEmpty ?? true) ? nil : secret
        self.nonce = nonce
    }

    /// Reads the server's hello; returns the client hello to send.
    public mutating func onServerHello(_ frame: Frame) -> Result<Frame, RPCError> {
        guard frame.kind == .handshake, frame.type == PeerAuth.Step.serverHello.rawValue else {
            return .failure(.authenticationFailed("expected server hello"))
        }
        var r = AuthReader(frame.payload)
        guard let sNonce = r.bytes(PeerAuth.nonceBytes), let flag = r.byte(), flag <= 1, let idLen = r.byte(),
              let sID = r.bytes(Int(idLen)), r.atEnd, !sID.isEmpty
        else { return .failure(.authenticationFailed("malformed server hello")) }
        if (flag == 1) != (secret != nil) {
            return .failure(.authenticationFailed(secret == nil ? "peer requires a cluster secret" : "peer has no cluster secret"))
        }
        serverNonce = sNonce
        serverID = sID
        let id = Array(nodeID.utf8.prefix(PeerAuth.maxNodeIDBytes))
        var p = nonce
        p.append(UInt8(id.count))
        p.append(contentsOf: id)
        if let secret {
            let mac = PeerAuth.clientMAC(secret: secret, serverNonce: sNonce, clientID: id, clientNonce: nonce)
            p.append(UInt8(mac.count))
            p.append(contentsOf: mac)
        } else {
            p.append(0)
        }
        return .success(Frame(kind: .handshake, type: PeerAuth.Step.clientHello.rawValue, requestID: 0, payload: p))
    }

    /// Reads the server's accept or reject.
    public func onServerReply(_ frame: Frame) -> Result<PeerAuthResult, RPCError> {
        guard frame.kind == .handshake, !serverID.isEmpty else {
            return .failure(.authenticationFailed("unexpected frame during handshake"))
        }
        if frame.type == PeerAuth.Step.reject.rawValue {
            return .failure(.authenticationFailed("rejected: " + String(decoding: frame.payload.prefix(256), as: UTF8.self)))
        }
        guard frame.type == PeerAuth.Step.accept.rawValue else { return .failure(.authenticationFailed("malformed server reply")) }
        var r = AuthReader(frame.payload)
        guard let macLen = r.byte(), let mac = r.bytes(Int(macLen)), r.atEnd else {
            return .failure(.authenticationFailed("malformed accept"))
        }
        let peerID = String(decoding: serverID, as: UTF8.self)
        guard let secret else {
            guard mac.isEmpty else { return .failure(.authenticationFailed("unexpected server proof")) }
            return .success(PeerAuthResult(peerID: peerID, authenticated: false))
        }
        let expected = PeerAuth.serverMAC(secret: secret, clientNonce: nonce, serverNonce: serverNonce, serverID: serverID)
        guard HMACSHA256.constantTimeEqual(mac, expected) else { return .failure(.authenticationFailed("server failed to prove the cluster secret")) }
        return .success(PeerAuthResult(peerID: peerID, authenticated: true))
    }
}

/// Bounds-checked reads over a handshake payload; nil when bytes run out.
struct AuthReader {
    private let bytes: [UInt8]
    private var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var atEnd: Bool { offset == bytes.count }
    mutating func byte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }
    mutating func bytes(_ n: Int) -> [UInt8]? {
        guard n >= 0, n <= bytes.count - offset else { return nil }
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }
}
