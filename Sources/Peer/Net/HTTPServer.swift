#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Net
import Synchronization

/// A minimal HTTP/1.0-style server for `GET /metrics` and `GET /status`: one accept thread,
/// each request answered and closed on a bounded number of worker threads. Requests are
/// bounded (8 KiB of head, 2 s to send it); anything else gets 400/404/405.
public final class HTTPServer: @unchecked Sendable {
    public typealias Route = @Sendable () -> (contentType: String, body: String)
    private let routes: [String: Route]
    private let listener: Socket
    public let port: UInt16
    private let stopping = Atomic<Bool>(false)
    private let active = Atomic<Int>(0)
    private let done = DispatchSemaphore(value: 0)
    static let maxActive = 16

    public init(host: String, port: UInt16, routes: [String: Route]) throws {
        self.routes = routes
        // Blocking: the accept thread waits in accept(); stop() wakes it with shutdown.
        let (socket, address) = try Socket.listenTCP(try SocketAddress(host: host, port: port), backlog: 64, nonBlocking: false)
        listener = socket
        self.port = address.port
    }

    public func start() {
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        listener.shutdown()
        listener.close()
        _ = done.wait(timeout: .now() + .seconds(2))
    }

    private func acceptLoop() {
        defer { done.signal() }
        while !stopping.load(ordering: .relaxed) {
            guard case .connection(let fd, _) = listener.accept() else {
                if stopping.load(ordering: .relaxed) { break }
                usleep(10_000)
                continue
            }
            if active.load(ordering: .relaxed) >= HTTPServer.maxActive {
                respond(fd, status: "503 Service Unavailable", type: "text/plain", body: "busy\n")
                fd.close()
                continue
            }
            active.wrappingAdd(1, ordering: .relaxed)
            DispatchQueue.global().async { [self] in
                serve(fd)
                fd.close()
                active.wrappingSubtract(1, ordering: .relaxed)
            }
        }
    }

    private func serve(_ fd: Socket) {
        try? fd.setTimeouts(receiveMs: 2_000, sendMs: 2_000)
        var head: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 2048)
        while head.count < 8192 {
            let read = buf.withUnsafeMutableBytes { raw in Result { () throws(SocketError) in try fd.read(into: raw) } }
            guard case .success(let got?) = read, got > 0 else { return }
            let n = got
            head.append(contentsOf: buf[0..<n])
            if head.count >= 4, containsBlankLine(head) { break }
        }
        let line = String(decoding: head.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2 else { return respond(fd, status: "400 Bad Request", type: "text/plain", body: "bad request\n") }
        guard parts[0] == "GET" else { return respond(fd, status: "405 Method Not Allowed", type: "text/plain", body: "GET only\n") }
        let path = String(parts[1].split(separator: "?").first ?? "")
        guard let route = routes[path] else { return respond(fd, status: "404 Not Found", type: "text/plain", body: "not found\n") }
        let (type, body) = route()
        respond(fd, status: "200 OK", type: type, body: body)
    }

    private func containsBlankLine(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 4 else { return false }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return true
        }
        return false
    }

    private func respond(_ fd: Socket, status: String, type: String, body: String) {
        // Head and body in one buffer, one copy of the body, one send.
        var body = body
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        var bytes = Array(head.utf8)
        body.withUTF8 { bytes.append(contentsOf: $0) }
        try? fd.writeAll(bytes)
    }
}
