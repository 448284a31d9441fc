#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Net
import Synchronization

/// The thin shell around `SwimCore`: one UDP socket and one TCP listener (push-pull) on the
/// same port of this node's own host address, a receive thread, an accept thread and a
/// timer thread. It performs the core's actions and hands events to `onEvent`.
///
/// Threading: the core sits behind one `Mutex`, held only while a core function runs;
/// sends, push-pull connections and event callbacks happen outside it. `onEvent` is called
/// from the gossip threads, in order per thread; it must not block for long.
/// Lifecycle: `init` binds, `start` joins, `leave` announces and stops, `stop` stops
/// without a word (as a crash would). Both wait for every thread to finish.
public final class GossipNode: @unchecked Sendable {
    public let endpoint: Endpoint
    private let core: Mutex<SwimCore>
    private let codec: PacketCodec
    private let config: GossipConfig
    private let onEvent: @Sendable (GossipEvent) -> Void
    private let udp: Socket
    private let tcp: Socket
    /// The family of both sockets: every address they reach is resolved in it.
    private let family: SocketAddress.Family
    private let stopping = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let threads = DispatchGroup()
    private let outgoing = Atomic<Int>(0)
    private let roundTripHook = Mutex<(@Sendable (String, Double) -> Void)?>(nil)
    /// Incoming push-pull exchanges being served (acceptLoop).
    private let servingPushPulls = Atomic<Int>(0)

    /// Binds UDP and TCP on `me.gossip` (port 0 picks a free port for both). Without a
    /// cluster secret packets are not authenticated; the node layer logs that warning.
    public init(config: GossipConfig, me: Member, seed: UInt64? = nil,
                onEvent: @escaping @Sendable (GossipEvent) -> Void) throws(SocketError) {
        var me = me
        var bound: (udp: Socket, tcp: Socket)?
        // A name binds IPv4 when it has an IPv4 address, as the shell always did; else any.
        let address: SocketAddress
        if let v4 = try? me.gossip.socketAddress(family: .ipv4) { address = v4 } else { address = try me.gossip.socketAddress() }
        // With port 0 the kernel picks the UDP port; TCP must then get the same number,
        // which can be taken: try a few times.
        for attempt in 0..<8 {
            let (udp, local) = try Socket.bindUDP(address)
            let port = local.port
            do {
                // Non-blocking, so an accept after poll never waits (a connection reset in
                // between would otherwise hold the accept thread, and stop(), until the next).
                let tcp = try Socket.listenTCP(local, backlog: 64, nonBlocking: true).socket
                bound = (udp, tcp)
                if me.gossip.port == 0 {
                    me.gossip.port = port
                    if me.peer.port == 0 { me.peer = me.gossip }
                    if me.client.port == 0 { me.client = me.gossip }
                    if me.http.port == 0 { me.http = me.gossip }
                }
                break
            } catch {
                udp.close()
                if me.gossip.port != 0 || attempt == 7 { throw error }
            }
        }
        // Unreachable (the last attempt throws), but no force unwrap for it.
        guard let pair = bound else { throw SocketError.invalidAddress(me.gossip.description) }
        let (udp, tcp) = pair
        // The receive loop wakes this often to notice stop().
        do { try udp.setReceiveTimeout(ms: 50) } catch {
            udp.close()
            tcp.close()
            throw error
        }
        self.udp = udp
        self.tcp = tcp
        self.family = address.family
        self.endpoint = me.gossip
        self.config = config
        self.codec = PacketCodec(secret: config.secret, maxPacketBytes: config.maxPacketBytes, maxClockSkewMs: config.maxClockSkewMs)
        self.onEvent = onEvent
        let s = seed ?? UInt64(truncatingIfNeeded: GossipNode.wallClockNs()) ^ UInt64(me.gossip.port) << 48
        self.core = Mutex(SwimCore(config: config, me: me, seed: s))
    }

    deinit {
        stop()
    }

    // MARK: Node-layer API

    /// Starts the threads and joins through `seeds` (none: a new cluster).
    public func start(seeds: [Endpoint]) {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let actions = withCore { $0.start(seeds: seeds, now: $1) }
        spawn { self.receiveLoop() }
        spawn { self.acceptLoop() }
        spawn { self.timerLoop() }
        perform(actions)
    }

    /// Stops at once, as a crash would (no leave message). Idempotent.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = threads.wait(timeout: .now() + .seconds(10))
        udp.close()
        tcp.close()
    }

    /// Announces a graceful leave, then stops.
    public func leave() {
        let actions = withCore { $0.leave(now: $1) }
        perform(actions)
        stop()
    }

    /// Called with (member id, round trip in ms) for every directly acked probe, from a
    /// gossip thread; must not block. For the node layer's per-peer RTT estimates.
    public var onRoundTrip: (@Sendable (String, Double) -> Void)? {
        get { roundTripHook.withLock { $0 } }
        set { roundTripHook.withLock { $0 = newValue } }
    }

    /// Every sampled member's wall-clock offset from this node (positive: it runs ahead).
    public var clockOffsets: [String: ClockOffset] { core.withLock { $0.clockOffsets } }

    public var me: Member { core.withLock { $0.me } }
    public var members: [Member] { core.withLock { $0.members } }
    public func member(_ id: String) -> Member? { core.withLock { $0.member(id) } }
    public var counters: GossipCounters { core.withLock { $0.counters } }
    public var healthScore: Int { core.withLock { $0.healthScore } }
    public func stateValue(_ key: String) -> ClusterStateValue? { core.withLock { $0.stateValue(key) } }
    public var stateValues: [ClusterStateValue] { core.withLock { $0.stateValues } }

    public func setAdminState(_ admin: AdminState) {
        perform(withCore { $0.setAdminState(admin, now: $1) })
    }

    /// Gossips a cluster-state value; false (nothing sent) when it does not fit
    /// (`ClusterStateValue.fits`).
    @discardableResult
    public func publishState(key: String, version: UInt64, payload: [UInt8]) -> Bool {
        guard ClusterStateValue.fits(key: key, payloadBytes: payload.count) else { return false }
        perform(withCore { $0.publishState(key: key, version: version, payload: payload, now: $1) })
        return true
    }

    /// Operator command: remove another member for good.
    public func removeMember(_ id: String) {
        perform(withCore { $0.removeMember(id, now: $1) })
    }

    // MARK: Shell

    static func wallClockNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// The core's clock: monotonic, so a wall-clock step never fires or stalls a timer.
    private func now() -> UInt64 { MonotonicClock.nowNs() }

    /// Runs one core input under the lock, with the wall clock (packet timestamps, clock
    /// samples) and the monotonic clock (timers) read just before it.
    private func withCore<R>(_ body: (inout SwimCore, UInt64) -> R) -> R {
        core.withLock { c in
            let mono = now()
            c.setWallClock(ns: GossipNode.wallClockNs(), at: mono)
            return body(&c, mono)
        }
    }

    private func spawn(_ body: @escaping @Sendable () -> Void) {
        threads.enter()
        let t = Thread {
            body()
            self.threads.leave()
        }
        t.start()
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func perform(_ actions: [GossipAction]) {
        for action in actions {
            switch action {
            case let .send(to, bytes):
                // A name that does not resolve, or a full send buffer: the datagram is lost,
                // which SWIM tolerates (the probe times out).
                guard let address = try? to.socketAddress(family: family) else { continue }
                _ = try? udp.sendDatagram(bytes, to: address)
            case let .pushPull(to, bytes):
                guard !isStopping, outgoing.load(ordering: .relaxed) < config.maxConcurrentPushPulls else {
                    let more = withCore { $0.onPushPullFailed(to: to, now: $1) }
                    perform(more)
                    continue
                }
                outgoing.add(1, ordering: .relaxed)
                spawn {
                    self.pushPull(to: to, bytes: bytes)
                    self.outgoing.subtract(1, ordering: .relaxed)
                }
            case let .emit(event):
                onEvent(event)
            case let .roundTrip(member, rttNs):
                roundTripHook.withLock { $0 }?(member, Double(rttNs) / 1_000_000)
            }
        }
    }

    private func receiveLoop() {
        // One byte over the bound, so an oversized datagram arrives truncated to
        // `maxPacketBytes + 1` and the codec sees (and counts) it as oversized.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: config.maxPacketBytes + 1, alignment: 8)
        defer { buffer.deallocate() }
        while !isStopping {
            guard let received = try? udp.receiveDatagram(into: buffer) else { continue }
            let bytes = Array(buffer.prefix(received.count))
            let from = Endpoint(received.from)
            let actions = withCore { $0.onPacket(from: from, bytes: bytes, now: $1) }
            perform(actions)
        }
    }

    private func timerLoop() {
        while !isStopping {
            let t = now()
            let deadline = core.withLock { $0.nextDeadlineNs }
            if deadline <= t {
                let actions = withCore { $0.onTick(now: $1) }
                perform(actions)
                continue
            }
            // Sleep in short steps so stop() is prompt and new deadlines are noticed.
            let sleepNs = min(deadline - t, 10_000_000)
            usleep(useconds_t(max(1, sleepNs / 1000)))
        }
    }

    private var ioTimeoutMs: Int { Int(min(config.pushPullTimeoutMs, 10_000)) }

    private func acceptLoop() {
        while !isStopping {
            // Short waits, so stop() is prompt.
            guard (try? tcp.wait(for: Int16(POLLIN), timeoutMs: 50)) == true else { continue }
            guard case .connection(let conn, let remote) = tcp.accept() else { continue }
            // Each exchange on its own thread, at most `maxServedPushPulls` at once (more are
            // closed at once), each under the I/O timeout: one slow or silent stranger once
            // held every push-pull of this node for the whole timeout.
            guard servingPushPulls.add(1, ordering: .relaxed).newValue <= GossipNode.maxServedPushPulls else {
                servingPushPulls.subtract(1, ordering: .relaxed)
                conn.close()
                continue
            }
            let from = Endpoint(remote)
            spawn { [self] in
                if (try? conn.setTimeouts(receiveMs: ioTimeoutMs, sendMs: ioTimeoutMs)) != nil,
                   let request = readFrame(conn) {
                    let (reply, actions) = withCore { $0.onPushPullRequest(from: from, bytes: request, now: $1) }
                    if let reply { try? conn.writeAll(reply) }
                    perform(actions)
                }
                conn.close()
                servingPushPulls.subtract(1, ordering: .relaxed)
            }
        }
    }

    /// Incoming push-pull exchanges served at once.
    static let maxServedPushPulls = 8

    /// One push-pull frame from a stream, its length bounded before anything is allocated.
    private func readFrame(_ conn: Socket) -> [UInt8]? {
        let deadline = MonotonicClock.nowNs() + UInt64(ioTimeoutMs) * 1_000_000
        guard let header = try? conn.read(exactly: WireFormat.pushPullHeaderBytes, deadlineNs: deadline) else { return nil }
        let remaining: Int
        do {
            remaining = try codec.pushPullRemainingBytes(header: header)
        } catch {
            core.withLock { $0.counters.drop(error) }
            return nil
        }
        guard let rest = try? conn.read(exactly: remaining, deadlineNs: deadline) else { return nil }
        return header + rest
    }

    private func pushPull(to: Endpoint, bytes: [UInt8]) {
        var reply: [UInt8]? = nil
        // From this node's own host address, so the peer sees the push-pull come from it.
        if let source = try? SocketAddress(host: endpoint.host, port: 0, family: family),
           let target = try? to.socketAddress(family: family),
           let conn = try? Socket.connectTCP(to: target, from: source, timeoutMs: ioTimeoutMs) {
            if (try? conn.writeAll(bytes)) != nil { reply = readFrame(conn) }
            conn.close()
        }
        let actions = withCore { c, now in
            if let reply { return c.onPushPullReply(from: to, bytes: reply, now: now) }
            return c.onPushPullFailed(to: to, now: now)
        }
        perform(actions)
    }
}
