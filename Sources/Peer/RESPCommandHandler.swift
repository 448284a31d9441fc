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
    public var name = ""
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
    private let state = Mutex(RESPConnectionState())

    init(id: UInt64, remoteAddress: String) {
        self.id = id
        self.remoteAddress = remoteAddress
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
    /// Set by the handler at dispatch to time the command until its reply (CommandMetrics).
    public var meter: CommandMeter? = nil

    /// Sends `value` as this command's reply; with `thenClose`, the connection is closed once
    /// it is written (QUIT-like).
    public func reply(_ value: RESPValue, thenClose: Bool = false) {
        replyEncoding(thenClose: thenClose) { RESPWriter.append(value, to: &$0) }
    }

    /// Sends already encoded RESP bytes as this command's reply.
    public func reply(encoded: [UInt8], thenClose: Bool = false) {
        meter?.finish(isError: RESPReplyToken.isError(encoded.first))
        if connection.loop.inLoop {
            connection.deliver(sequence: sequence, close: thenClose) { $0.append(contentsOf: encoded) }
        } else {
            let connection = self.connection, sequence = self.sequence
            connection.loop.execute {
                connection.deliver(sequence: sequence, close: thenClose) { $0.append(contentsOf: encoded) }
            }
        }
    }

    /// Sends the reply `encode` appends (RESPWriter calls). On the loop thread, when this is
    /// the oldest unanswered command, `encode` writes straight into the output buffer.
    public func replyEncoding(thenClose: Bool = false, _ encode: (inout [UInt8]) -> Void) {
        if connection.loop.inLoop {
            guard let meter else { return connection.deliver(sequence: sequence, close: thenClose, encode) }
            connection.deliver(sequence: sequence, close: thenClose) { out in
                let start = out.count
                encode(&out)
                meter.finish(isError: RESPReplyToken.isError(out.count > start ? out[start] : nil))
            }
        } else {
            var bytes: [UInt8] = []
            encode(&bytes)
            reply(encoded: bytes, thenClose: thenClose)
        }
    }

    /// An error reply starts with `-` (RESP2) or `!` (a RESP3 blob error).
    @inline(__always) static func isError(_ first: UInt8?) -> Bool { first == 45 || first == 33 }
}
