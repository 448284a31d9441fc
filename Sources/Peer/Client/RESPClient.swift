// A small blocking RESP2 client: the `chorus get/set/...` subcommands and tests use it.
// One connection, one thread at a time (not thread-safe). Pipelining: call `send` several
// times, then `readReply` as many times.

import Net

/// Why a client call failed.
public enum RESPClientError: Error, Equatable, Sendable, CustomStringConvertible {
    case socket(SocketError)
    case protocolError(RESPProtocolError)

    public var description: String {
        switch self {
        case .socket(let error): return error.description
        case .protocolError(let error): return "protocol error: \(error.message)"
        }
    }
}

/// A blocking connection to a RESP server.
public final class RESPClient {
    private var socket: Socket?
    private var input: [UInt8] = []
    private var inputStart = 0
    private var output: [UInt8] = []
    private let replyParser: RESPReplyParser
    /// recv() target; appended to `input` with one copy.
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)

    /// Connects to `host:port`, binding to `sourceHost` first when given (so traffic leaves from
    /// that address); `timeoutMs` bounds the connect and every later send and receive.
    public init(host: String, port: UInt16, sourceHost: String? = nil, timeoutMs: Int = 5000,
                replyParser: RESPReplyParser = RESPReplyParser()) throws(RESPClientError) {
        self.replyParser = replyParser
        do throws(SocketError) {
            socket = try Socket.connectTCP(host: host, port: port, sourceHost: sourceHost, timeoutMs: timeoutMs)
        } catch {
            throw .socket(error)
        }
    }

    deinit {
        close()
        scratch.deallocate()
    }

    public var isOpen: Bool { socket != nil }

    public func close() {
        socket?.close()
        socket = nil
    }

    /// Half-closes: the server sees EOF after what was sent, and still answers it.
    public func shutdownWrite() {
        socket?.shutdownWrite()
    }

    /// Sends one command (buffered until `flush` or the next read).
    public func send(_ arguments: [[UInt8]]) {
        RESPWriter.appendCommand(arguments, to: &output)
    }

    /// Queues raw bytes (tests of malformed input, inline commands).
    public func sendRaw(_ bytes: [UInt8]) {
        output.append(contentsOf: bytes)
    }

    /// Writes everything queued.
    public func flush() throws(RESPClientError) {
        guard let socket else { throw .socket(.connectionClosed) }
        guard !output.isEmpty else { return }
        let result = output.withUnsafeBytes { raw in
            Result { () throws(SocketError) in try socket.writeAll(raw) }
        }
        if case .failure(let error) = result { throw .socket(error) }
        output.removeAll(keepingCapacity: output.capacity <= 1 << 20)
    }

    /// Reads the next reply (flushing queued commands first).
    public func readReply() throws(RESPClientError) -> RESPValue {
        try flush()
        while true {
            if inputStart < input.count {
                let parsed: (value: RESPValue, consumed: Int)?
                do throws(RESPProtocolError) {
                    let start = inputStart
                    parsed = try input.withUnsafeBytes { raw in
                        Result { () throws(RESPProtocolError) in
                            try replyParser.parse(UnsafeRawBufferPointer(rebasing: raw[start...]))
                        }
                    }.get()
                } catch {
                    throw .protocolError(error)
                }
                if let parsed {
                    inputStart += parsed.consumed
                    if inputStart == input.count {
                        input.removeAll(keepingCapacity: input.capacity <= 1 << 20)
                        inputStart = 0
                    }
                    return parsed.value
                }
            }
            try receiveMore()
        }
    }

    /// Sends one command and reads its reply.
    public func command(_ arguments: [[UInt8]]) throws(RESPClientError) -> RESPValue {
        send(arguments)
        return try readReply()
    }

    /// Sends one command given as UTF-8 words and reads its reply.
    public func command(_ words: String...) throws(RESPClientError) -> RESPValue {
        try command(words.map { Array($0.utf8) })
    }

    private func receiveMore() throws(RESPClientError) {
        guard let socket else { throw .socket(.connectionClosed) }
        if inputStart > 0 && inputStart * 2 >= input.count {
            input.removeSubrange(0..<inputStart)
            inputStart = 0
        }
        let read: Int?
        do { read = try socket.read(into: scratch) } catch { throw .socket(error) }
        // nil: the receive timeout set at connect passed.
        guard let n = read else { throw .socket(.timedOut) }
        guard n > 0 else { throw .socket(.connectionClosed) }
        input.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
    }
}
