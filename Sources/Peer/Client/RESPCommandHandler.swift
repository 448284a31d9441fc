// The server's interface to the node: the handler, the reply token and per-connection state.
//
// Contract:
// - `handle` is called on the connection's loop thread, once per command, in request order.
//   It must not block: slow work (peer RPCs, disk) goes elsewhere and replies later.
// - Each command's `RESPReplyToken` must be used exactly once (`reply`, `replyEncoding`),
//   from any thread, at any time. Replies are written in request order whatever order the
//   tokens are used in; a token never used stalls that connection's later replies.
//   A second use of a token is ignored. Replies to a closed connection are dropped.
// - Replying on the loop thread to the oldest unanswered command appends straight into the
//   connection's output buffer (no copy, no lock, no thread hop).
// - `RESPConnectionContext.state` is guarded by a lock: safe from any thread.

import Net
import Synchronization

/// Receives parsed commands from the RESP server.
public protocol RESPCommandHandler: AnyObject, Sendable {
    /// A complete command (name first); answer through `reply`, now or later, from any thread.
    func handle(_ command: [[UInt8]], context: RESPConnectionContext, reply: RESPReplyToken)
    /// A connection was accepted (loop thread).
    func connectionOpened(_ context: RESPConnectionContext)
    /// A connection was closed (loop thread); replies still outstanding for it are dropped.
    func connectionClosed(_ context: RESPConnectionContext)
}

extension RESPCommandHandler {
    public func connectionOpened(_ context: RESPConnectionContext) {}
    public func connectionClosed(_ context: RESPConnectionContext) {}
}

/// Mutable per-connection state the node keeps (AUTH, NS.USE, CLIENT SETNAME, ...).
public struct RESPConnectionState: Sendable {
    public var authenticated = false
    public var namespace = "default"
    /// CLIENT SETNAME / HELLO SETNAME; empty = none.
    public var name = ""
    /// CLIENT SETINFO LIB-NAME / LIB-VER; empty = none.
    public var libName = ""
    public var libVersion = ""
    /// The last command's name (CLIENT LIST's `cmd`, lowercased there), and when it arrived.
    public var lastCommand = ""
    public var lastCommandMs: Int64 = 0  // EventLoop.nowMs (monotonic)
    /// Anything else, by name.
    public var values: [String: String] = [:]

    public init() {}
}

/// Identity and state of one client connection; shared by the server and the handler.
public final class RESPConnectionContext: Sendable {
    /// Unique per server, increasing from 1.
    public let id: UInt64
    /// `host:port` of the client.
    public let remoteAddress: String
    /// When the connection was accepted (EventLoop.nowMs, monotonic; CLIENT LIST's `age`).
    public let createdMs: Int64
    private let state = Mutex(RESPConnectionState())
    /// Orders this connection's commands that touch the same keys (KeyOrder.swift).
    public let keyOrder = KeyOrder()
    /// RESP2 until the client sends `HELLO 3`; read once per command, so an atomic, not the lock.
    private let protocolRaw = Atomic<UInt8>(RESPProtocolVersion.resp2.rawValue)

    init(id: UInt64, remoteAddress: String) {
        self.id = id
        self.remoteAddress = remoteAddress
        self.createdMs = EventLoop.nowMs()
    }

    /// The protocol this connection's replies are written in from now on.
    public var protocolVersion: RESPProtocolVersion {
        get { RESPProtocolVersion(rawValue: protocolRaw.load(ordering: .relaxed)) ?? .resp2 }
        set { protocolRaw.store(newValue.rawValue, ordering: .relaxed) }
    }

    /// Reads or changes the state under its lock; keep `body` short.
    public func withState<R>(_ body: (inout RESPConnectionState) -> R) -> R {
        state.withLock { value in body(&value) }
    }

    public var authenticated: Bool {
        get { withState { $0.authenticated } }
        set { withState { $0.authenticated = newValue } }
    }

    public var namespace: String {
        get { withState { $0.namespace } }
        set { withState { $0.namespace = newValue } }
    }
}

/// The right to answer one command; see the contract at the top of this file.
public struct RESPReplyToken: @unchecked Sendable {
    let connection: RESPServerConnection
    /// Position of the command on its connection (0, 1, 2, ...).
    public let sequence: UInt64
    /// The protocol `reply(_:)` writes in: the connection's when the command arrived (a
    /// handler sets it; a later `HELLO` does not change replies to earlier commands).
    public var protocolVersion: RESPProtocolVersion = .resp2
    /// Set by the handler at dispatch to time the command until its reply (CommandMetrics).
    public var meter: CommandMeter? = nil

    /// Sends `value` as this command's reply, in `protocolVersion`; with `thenClose`, the
    /// connection is closed once it is written (QUIT-like).
    public func reply(_ value: RESPValue, thenClose: Bool = false) {
        let version = protocolVersion
        replyEncoding(thenClose: thenClose) { RESPWriter.append(value, to: &$0, protocol: version) }
    }

    /// Called once this command's reply has been handed to the connection (a handler's hook:
    /// ClientCommands releases the command's keys in KeyOrder with it).
    public var onReply: (@Sendable () -> Void)?

    /// Sends already encoded RESP bytes as this command's reply.
    public func reply(encoded: [UInt8], thenClose: Bool = false) {
        meter?.finish(isError: RESPReplyToken.isError(encoded.first))
        send(encoded: encoded, thenClose: thenClose)
        onReply?()
    }

    /// Sends the reply `encode` appends (RESPWriter calls). On the loop thread, when this is
    /// the oldest unanswered command, `encode` writes straight into the output buffer.
    public func replyEncoding(thenClose: Bool = false, _ encode: (inout [UInt8]) -> Void) {
        if connection.loop.inLoop {
            if let meter {
                connection.deliver(sequence: sequence, close: thenClose) { out in
                    let start = out.count
                    encode(&out)
                    meter.finish(isError: RESPReplyToken.isError(out.count > start ? out[start] : nil))
                }
            } else {
                connection.deliver(sequence: sequence, close: thenClose, encode)
            }
        } else {
            var bytes: [UInt8] = []
            encode(&bytes)
            meter?.finish(isError: RESPReplyToken.isError(bytes.first))
            send(encoded: bytes, thenClose: thenClose)
        }
        onReply?()
    }

    private func send(encoded: [UInt8], thenClose: Bool) {
        if connection.loop.inLoop {
            connection.deliver(sequence: sequence, close: thenClose) { $0.append(contentsOf: encoded) }
        } else {
            let connection = self.connection, sequence = self.sequence
            connection.loop.execute {
                connection.deliver(sequence: sequence, close: thenClose) { $0.append(contentsOf: encoded) }
            }
        }
    }

    /// An error reply starts with `-` (RESP2) or `!` (a RESP3 blob error).
    @inline(__always) static func isError(_ first: UInt8?) -> Bool { first == 45 || first == 33 }
}
