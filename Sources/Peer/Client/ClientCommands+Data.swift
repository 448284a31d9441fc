import Ring

extension ClientCommands {
    /// Reads and writes of keys. Work runs on the engine's scheduler: it may fsync or wait for peers.
    func data(_ name: String, _ args: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        let ns = context.namespace
        let engine = self.engine
        switch name {
        case "SET" where args.count > 2 && !ClientCommands.plainSetOptions(args.dropFirst(2)):
            setWithOptions(args, context: context, reply: reply)  // NX, EX, GET...: a read-modify-write
        case "SET", "GET", "GETV":
            let positional = name == "SET" ? 2 : 1
            let split: (positional: ArraySlice<[UInt8]>, options: RequestOptions)
            do { split = try RequestOptions.split(args, positional: positional) } catch { return reply.reply(.error(error.message)) }
            guard split.positional.count == positional else { return reply.reply(wrongArity(name)) }
            let key = split.positional[split.positional.startIndex]
            if name == "SET" {
                let value = split.positional[split.positional.startIndex + 1]
                // Routing and forwarding start on the loop thread; the engine moves the local
                // store (which fsyncs) to a node queue.
                engine.write(ClientWrite(namespace: ns, key: key, value: value, context: nil, options: split.options)) { error in
                    reply.reply(error.map { .error($0.line) } ?? .ok)
                }
            } else {
                // Reads start on the loop thread: the local replica's read does not fsync, and
                // remote replies complete the request from the RPC threads.
                engine.read(namespace: ns, key: key, options: split.options) { result in
                    switch result {
                    case .failure(let e): reply.reply(.error(e.line))
                    case .success(let record): let now = engine.expiryNowMs
                        reply.reply(name == "GET" ? ClientCommands.getReply(record, atMs: now) : ClientCommands.getvReply(record, atMs: now))
                    }
                }
            }
        case "PUTV", "DELV":
            let positional = name == "PUTV" ? 3 : 2
            let split: (positional: ArraySlice<[UInt8]>, options: RequestOptions)
            do { split = try RequestOptions.split(args, positional: positional) } catch { return reply.reply(.error(error.message)) }
            guard split.positional.count == positional else { return reply.reply(wrongArity(name)) }
            let p = Array(split.positional)
            let value: [UInt8]? = name == "PUTV" ? p[2] : nil
            engine.write(ClientWrite(namespace: ns, key: p[0], value: value, context: p[1], options: split.options)) { error in
                reply.reply(error.map { .error($0.line) } ?? .ok)
            }
        case "DEL", "UNLINK", "EXISTS", "TOUCH", "MGET":
            let split = RequestOptions.splitVariadic(args, minimumPositional: 1)
            guard !split.positional.isEmpty else { return reply.reply(wrongArity(name)) }
            let keys = Array(split.positional)
            engine.scheduler.async {
                ClientCommands.multiKey(name, keys: keys, ns: ns, options: split.options, engine: engine, reply: reply)
            }
        case "MSET":
            let split = RequestOptions.splitVariadic(args, minimumPositional: 2)
            let pairs = Array(split.positional)
            guard !pairs.isEmpty, pairs.count % 2 == 0 else { return reply.reply(wrongArity(name)) }
            engine.scheduler.async {
                let group = Countdown(pairs.count / 2) { errors in
                    reply.reply(errors.first.map { .error($0.line) } ?? .ok)
                }
                for i in stride(from: 0, to: pairs.count, by: 2) {
                    engine.write(ClientWrite(namespace: ns, key: pairs[i], value: pairs[i + 1], context: nil, options: split.options)) { group.done($0) }
                }
            }
        default:
            reply.reply(.error("ERR unknown command"))
        }
    }

    /// DEL (and UNLINK), EXISTS (and TOUCH) and MGET: one read per key (and for DEL a delete
    /// of each key that exists).
    static func multiKey(_ name: String, keys: [[UInt8]], ns: String, options: RequestOptions, engine: NodeEngine, reply: RESPReplyToken) {
        let results = ResultSlots<RESPValue>(count: keys.count)
        let group = Countdown(keys.count) { errors in
            if let e = errors.first { return reply.reply(.error(e.line)) }
            let values = results.values
            switch name {
            case "MGET": reply.reply(.array(values))
            default:
                let n = values.reduce(Int64(0)) { acc, v in if case .integer(let i) = v { return acc + i } else { return acc } }
                reply.reply(.integer(n))
            }
        }
        for (i, key) in keys.enumerated() {
            engine.read(namespace: ns, key: key, options: options) { result in
                switch result {
                case .failure(let e): group.done(e)
                case .success(let record):
                    let now = engine.expiryNowMs
                    let exists = record.map { !$0.isAbsent(atMs: now) } ?? false
                    switch name {
                    case "MGET":
                        let v = ClientCommands.getReply(record, atMs: now)
                        // MGET answers nil for a key in conflict, as Redis does for wrong types.
                        if case .error = v { results.set(i, .nullBulk) } else { results.set(i, v) }
                        group.done(nil)
                    case "EXISTS", "TOUCH":
                        results.set(i, .integer(exists ? 1 : 0))
                        group.done(nil)
                    default:  // DEL, UNLINK
                        results.set(i, .integer(exists ? 1 : 0))
                        guard exists else { return group.done(nil) }
                        engine.write(ClientWrite(namespace: ns, key: key, value: nil, context: nil, options: options)) { group.done($0) }
                    }
                }
            }
        }
    }

    /// True when SET's words after key and value are quorum options only (or none): a plain
    /// write, with no read of the stored value.
    static func plainSetOptions(_ words: ArraySlice<[UInt8]>) -> Bool {
        (try? RequestOptions.parse(words)) != nil
    }

    /// GET's reply at `nowMs`: the value, nil (absent or expired), or the CONFLICT error when
    /// siblings disagree.
    static func getReply(_ record: KeyRecord?, atMs nowMs: UInt64) -> RESPValue {
        guard let record else { return .nullBulk }
        switch record {
        case .lww(let l):
            return l.read(atMs: nowMs).map { .bulk($0) } ?? .nullBulk
        case .siblings(let s):
            let read = s.read(atMs: nowMs)
            if read.values.isEmpty { return .nullBulk }
            if read.values.count == 1 { return .bulk(read.values[0]) }
            return .error("CONFLICT \(read.values.count) siblings, read them with GETV")
        }
    }

    /// GETV's reply at `nowMs`: [context, value1, value2, ...]; [context] when absent. Expired
    /// values are left out; the context still covers them.
    static func getvReply(_ record: KeyRecord?, atMs nowMs: UInt64) -> RESPValue {
        guard let record else { return .array([.bulk([])]) }
        switch record {
        case .lww(let l):
            return .array([.bulk([])] + (l.read(atMs: nowMs).map { [.bulk($0)] } ?? []))
        case .siblings(let s):
            let read = s.read(atMs: nowMs)
            return .array([.bulk(read.context.encodeContext())] + read.values.map { .bulk($0) })
        }
    }
}

/// Counts down completions of several sub-requests, then calls `finish` once with every error.
final class Countdown: @unchecked Sendable {
    private let lock = NSLockLike()
    private var remaining: Int
    private var errors: [ClientError] = []
    private let finish: @Sendable ([ClientError]) -> Void

    init(_ count: Int, finish: @escaping @Sendable ([ClientError]) -> Void) {
        remaining = count
        self.finish = finish
    }

    func done(_ error: ClientError?) {
        let last: Bool = lock.locked {
            if let error { errors.append(error) }
            remaining -= 1
            return remaining == 0
        }
        if last { finish(errors) }
    }
}

/// Result slots filled from several threads.
final class ResultSlots<T: Sendable>: @unchecked Sendable {
    private let lock = NSLockLike()
    private var slots: [T?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: T) { lock.locked { slots[i] = v } }
    var values: [T] { lock.locked { slots.compactMap { $0 } } }
}

import Synchronization

/// A tiny lock for the helpers above.
final class NSLockLike: Sendable {
    private let m = Mutex(())
    func locked<R>(_ body: () -> R) -> R { m.withLock { _ in body() } }
}
