// String read-modify-write commands (SPEC sections 3 and 5), each a WriteTransform that the
// key's coordinating primary runs on its stored state under the key's lock, then replicates
// to W like any write (NodeEngine+Transform.swift):
//
//   SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL] [W ..]
//   SETNX key value, SETEX key s value, PSETEX key ms value, GETSET key value
//   GETDEL key, GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]
//   APPEND key value, SETRANGE key offset value
//   MSETNX key value [key value ...] [W ..]
//
// Replies and error texts are Redis 7's. A command that needs the key's one current value
// (GET, GETSET, GETDEL, GETEX, APPEND, SETRANGE, KEEPTTL, EXPIRE...) on a key holding several
// siblings is refused with `-CONFLICT <n> siblings, read them with GETV`, as GET is, and
// writes nothing: resolve with PUTV first. SET NX/XX only ask whether the key exists.
//
// These run on the coordinator's own copy, so `R` is refused: it would promise a quorum read
// that does not happen. W, STRICT and TIMEOUT apply to the write.

extension ClientCommands {
    /// Whether `name` is one of the commands of this file or ClientCommands+Expiry.swift.
    static func isTransformCommand(_ name: String) -> Bool {
        switch name {
        case "SETNX", "SETEX", "PSETEX", "GETSET", "GETDEL", "GETEX", "APPEND", "SETRANGE", "MSETNX",
             "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "PERSIST", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME":
            return true
        default:
            return false
        }
    }

    func transformCommand(_ name: String, _ args: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        switch name {
        case "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "PERSIST", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME":
            return expiryCommand(name, args, context: context, reply: reply)
        case "MSETNX":
            return msetnx(args, context: context, reply: reply)
        default:
            break
        }
        let positional: Int
        switch name {
        case "GETDEL", "GETEX": positional = 1
        case "SETNX", "GETSET", "APPEND": positional = 2
        default: positional = 3  // SETEX, PSETEX, SETRANGE
        }
        let a = Array(args)
        guard a.count >= positional else { return reply.reply(wrongArity(name)) }
        let key = a[0]
        var rest = args.dropFirst(positional)
        let now = engine.expiryNowMs
        let transform: WriteTransform
        switch name {
        case "SETNX":
            transform = .set(value: a[1], condition: .ifAbsent, reply: .flag, expiry: .clear)
        case "GETSET":
            transform = .set(value: a[1], condition: .always, reply: .old, expiry: .clear)
        case "APPEND":
            transform = .append(a[1])
        case "GETDEL":
            transform = .getDel
        case "SETEX", "PSETEX":
            guard let amount = RedisInteger.parse(a[1]) else { return reply.reply(.error("ERR value is not an integer or out of range")) }
            guard let at = ClientCommands.expiryAt(amount, seconds: name == "SETEX", relative: true, nowMs: now), amount > 0 else {
                return reply.reply(.error(ClientCommands.invalidExpire(name)))
            }
            transform = .set(value: a[2], condition: .always, reply: .ok, expiry: .at(at))
        case "SETRANGE":
            guard let offset = RedisInteger.parse(a[1]) else { return reply.reply(.error("ERR value is not an integer or out of range")) }
            guard offset >= 0 else { return reply.reply(.error("ERR offset is out of range")) }
            guard offset <= Int64(Int32.max) else { return reply.reply(.error(WriteTransform.tooLarge)) }
            transform = .setRange(offset: Int(offset), bytes: a[2])
        default:  // GETEX
            var expiry = WriteTransform.Expiry.keep
            var chosen: String?
            while let word = rest.first, let option = ClientCommands.expiryWord(word) {
                // One of EX, PX, EXAT, PXAT, PERSIST (no amount); as Redis, the same word
                // twice is allowed (the last wins), two different ones are not.
                guard chosen == nil || chosen == option else { return reply.reply(.error("ERR syntax error")) }
                chosen = option
                rest = rest.dropFirst()
                if option == "PERSIST" { expiry = .clear; continue }
                guard let amountWord = rest.first else { return reply.reply(.error("ERR syntax error")) }
                rest = rest.dropFirst()
                guard let amount = RedisInteger.parse(amountWord) else { return reply.reply(.error("ERR value is not an integer or out of range")) }
                guard amount > 0, let at = ClientCommands.expiryAt(amount, seconds: option.hasPrefix("EX"), relative: !option.hasSuffix("AT"), nowMs: now) else {
                    return reply.reply(.error(ClientCommands.invalidExpire(name)))
                }
                expiry = .at(at)
            }
            transform = .getEx(expiry)
        }
        runTransform(name, key: key, transform, options: rest, context: context, reply: reply)
    }

    /// SET with any of NX, XX, GET, EX, PX, EXAT, PXAT, KEEPTTL (a plain SET stays a plain
    /// write: ClientCommands+Data). Options in any order, each at most once, as Redis 7.
    func setWithOptions(_ args: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        let a = Array(args)
        guard a.count >= 2 else { return reply.reply(wrongArity("SET")) }
        var rest = args.dropFirst(2)
        var condition = WriteTransform.Condition.always
        var returnOld = false
        var expiry = WriteTransform.Expiry.clear
        var expiryWord: String?  // as Redis 7: a repeated word is allowed, two different ones are not
        let now = engine.expiryNowMs
        while let word = rest.first {
            let upper = ClientCommands.upper(word)
            if upper == "NX" || upper == "XX" {
                let wanted: WriteTransform.Condition = upper == "NX" ? .ifAbsent : .ifPresent
                guard condition == .always || condition == wanted else { return reply.reply(.error("ERR syntax error")) }
                condition = wanted
                rest = rest.dropFirst()
            } else if upper == "GET" {
                returnOld = true
                rest = rest.dropFirst()
            } else if upper == "KEEPTTL" {
                guard expiryWord == nil || expiryWord == upper else { return reply.reply(.error("ERR syntax error")) }
                (expiry, expiryWord) = (.keep, upper)
                rest = rest.dropFirst()
            } else if let option = ClientCommands.expiryWord(word), option != "PERSIST" {
                guard expiryWord == nil || expiryWord == option else { return reply.reply(.error("ERR syntax error")) }
                rest = rest.dropFirst()
                guard let amountWord = rest.first else { return reply.reply(.error("ERR syntax error")) }
                rest = rest.dropFirst()
                guard let amount = RedisInteger.parse(amountWord) else { return reply.reply(.error("ERR value is not an integer or out of range")) }
                guard amount > 0, let at = ClientCommands.expiryAt(amount, seconds: option.hasPrefix("EX"), relative: !option.hasSuffix("AT"), nowMs: now) else {
                    return reply.reply(.error(ClientCommands.invalidExpire("SET")))
                }
                (expiry, expiryWord) = (.at(at), option)
            } else {
                break  // the rest must be quorum options
            }
        }
        let transform = WriteTransform.set(value: a[1], condition: condition, reply: returnOld ? .old : .ok, expiry: expiry)
        runTransform("SET", key: a[0], transform, options: rest, context: context, reply: reply)
    }

    /// Parses the trailing quorum options (R refused), runs the transform, replies.
    func runTransform(_ name: String, key: [UInt8], _ transform: WriteTransform, options words: ArraySlice<[UInt8]>,
                      context: RESPConnectionContext, reply: RESPReplyToken) {
        let options: RequestOptions
        do { options = try RequestOptions.parse(words) } catch { return reply.reply(.error(error.message)) }
        if options.r != nil { return reply.reply(.error(ClientCommands.noReadQuorum(name))) }
        engine.transform(namespace: context.namespace, key: key, transform, options: options) { result in
            switch result {
            case .failure(let e): reply.reply(.error(e.line))
            case .success(let r): reply.reply(ClientCommands.respValue(r))
            }
        }
    }

    /// MSETNX: 1 when every key was set, 0 otherwise. Keys live on different replica sets, so
    /// this is not atomic: it first reads every key (R of the namespace); if any exists it
    /// answers 0 and writes nothing. Otherwise it sets each key only if it is still absent at
    /// that key's coordinator (SETNX); if a concurrent writer created one in between, that key
    /// keeps the other value, the others are set, and the reply is 0.
    func msetnx(_ args: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        let split = RequestOptions.splitVariadic(args, minimumPositional: 2)
        let pairs = Array(split.positional)
        guard !pairs.isEmpty, pairs.count % 2 == 0 else { return reply.reply(wrongArity("MSETNX")) }
        let options = split.options
        if options.r != nil { return reply.reply(.error(ClientCommands.noReadQuorum("MSETNX"))) }
        let engine = self.engine, ns = context.namespace
        let keys = stride(from: 0, to: pairs.count, by: 2).map { pairs[$0] }
        let present = ResultSlots<Bool>(count: keys.count)
        let reads = Countdown(keys.count) { errors in
            if let e = errors.first { return reply.reply(.error(e.line)) }
            guard !present.values.contains(true) else { return reply.reply(.integer(0)) }
            let set = ResultSlots<Bool>(count: keys.count)
            let writes = Countdown(keys.count) { errors in
                if let e = errors.first { return reply.reply(.error(e.line)) }
                reply.reply(.integer(set.values.allSatisfy { $0 } ? 1 : 0))
            }
            for (i, key) in keys.enumerated() {
                engine.transform(namespace: ns, key: key, .set(value: pairs[2 * i + 1], condition: .ifAbsent, reply: .flag, expiry: .clear),
                                 options: options) { result in
                    switch result {
                    case .failure(let e): writes.done(e)
                    case .success(let r):
                        set.set(i, r == .integer(1))
                        writes.done(nil)
                    }
                }
            }
        }
        engine.scheduler.async {
            for (i, key) in keys.enumerated() {
                engine.read(namespace: ns, key: key, options: RequestOptions(strict: options.strict, timeoutMs: options.timeoutMs)) { result in
                    switch result {
                    case .failure(let e): reads.done(e)
                    case .success(let record):
                        present.set(i, !(record?.isAbsent(atMs: engine.expiryNowMs) ?? true))
                        reads.done(nil)
                    }
                }
            }
        }
    }

    static func respValue(_ r: TransformReply) -> RESPValue {
        switch r {
        case .ok: return .ok
        case .null: return .nullBulk
        case .integer(let i): return .integer(i)
        case .bulk(let b): return .bulk(b)
        }
    }

    static func noReadQuorum(_ name: String) -> String {
        "ERR syntax R is not an option of \(name) (it runs on the key's coordinating primary's copy; use W)"
    }

    static func invalidExpire(_ name: String) -> String { "ERR invalid expire time in '\(name.lowercased())' command" }

    /// EX, PX, EXAT, PXAT or PERSIST, uppercased; nil for any other word.
    static func expiryWord(_ word: [UInt8]) -> String? {
        let upper = ClientCommands.upper(word)
        return ["EX", "PX", "EXAT", "PXAT", "PERSIST"].contains(upper) ? upper : nil
    }

    /// An absolute expiry (wall-clock ms, at least 1) from Redis's amount, or nil when Redis
    /// says "invalid expire time" (overflow). A time at or before now means "already expired".
    static func expiryAt(_ amount: Int64, seconds: Bool, relative: Bool, nowMs: UInt64) -> UInt64? {
        var ms = amount
        if seconds {
            guard ms <= Int64.max / 1000, ms >= Int64.min / 1000 else { return nil }
            ms *= 1000
        }
        if relative {
            guard ms <= Int64.max - Int64(nowMs) else { return nil }
            ms += Int64(nowMs)
        }
        return UInt64(max(1, ms))
    }
}
