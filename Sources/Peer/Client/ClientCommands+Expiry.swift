// Expiry commands (SPEC section 3, "Expiry"):
//
//   EXPIRE key s [NX|XX|GT|LT] [W ..], PEXPIRE key ms, EXPIREAT key unix-s, PEXPIREAT key unix-ms
//   PERSIST key [W ..]
//   TTL key [R ..], PTTL, EXPIRETIME, PEXPIRETIME
//
// Setting or clearing an expiry is a read-modify-write at the key's coordinating primary
// (WriteTransform .expire / .persist): a new version of the value with the new expiry,
// replicated like any write. An expiry at or before now deletes the key (a tombstone), as
// Redis does. TTL and friends are quorum reads; they answer -2 for an absent (or expired)
// key, -1 for a key without an expiry, CONFLICT for a key with several live siblings.

extension ClientCommands {
    func expiryCommand(_ name: String, _ args: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        let a = Array(args)
        switch name {
        case "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME":
            guard a.count >= 1 else { return reply.reply(wrongArity(name)) }
            return ttl(name, key: a[0], options: args.dropFirst(), context: context, reply: reply)
        case "PERSIST":
            guard a.count >= 1 else { return reply.reply(wrongArity(name)) }
            return runTransform(name, key: a[0], .persist, options: args.dropFirst(), context: context, reply: reply)
        default:
            break
        }
        guard a.count >= 2 else { return reply.reply(wrongArity(name)) }
        guard let amount = RedisInteger.parse(a[1]) else { return reply.reply(.error("ERR value is not an integer or out of range")) }
        var rest = args.dropFirst(2)
        var flags: Set<String> = []
        var conditions: WriteTransform.ExpireConditions = []
        while let word = rest.first {
            let upper = ClientCommands.upper(word)
            guard ["NX", "XX", "GT", "LT"].contains(upper) else {
                // Not a condition: the rest must be quorum options, or it is Redis's error.
                if (try? RequestOptions.parse(rest)) == nil {
                    return reply.reply(.error("ERR Unsupported option \(String(decoding: word.prefix(64), as: UTF8.self))"))
                }
                break
            }
            flags.insert(upper)
            conditions.insert(upper == "NX" ? .nx : upper == "XX" ? .xx : upper == "GT" ? .gt : .lt)
            rest = rest.dropFirst()
        }
        if flags.contains("NX") && flags.count > 1 {
            return reply.reply(.error("ERR NX and XX, GT or LT options at the same time are not compatible"))
        }
        if flags.contains("GT") && flags.contains("LT") {
            return reply.reply(.error("ERR GT and LT options at the same time are not compatible"))
        }
        let seconds = name == "EXPIRE" || name == "EXPIREAT"
        guard let at = ClientCommands.expiryAt(amount, seconds: seconds, relative: !name.hasSuffix("AT"), nowMs: engine.expiryNowMs) else {
            return reply.reply(.error(ClientCommands.invalidExpire(name)))
        }
        runTransform(name, key: a[0], .expire(atMs: at, conditions: conditions), options: rest, context: context, reply: reply)
    }

    /// TTL, PTTL, EXPIRETIME, PEXPIRETIME: a quorum read of the key, judged at this peer's clock.
    func ttl(_ name: String, key: [UInt8], options words: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        let options: RequestOptions
        do { options = try RequestOptions.parse(words) } catch { return reply.reply(.error(error.message)) }
        if options.w != nil { return reply.reply(.error("ERR syntax W is not an option of \(name) (it reads; use R)")) }
        let engine = self.engine
        engine.read(namespace: context.namespace, key: key, options: options) { result in
            switch result {
            case .failure(let e): reply.reply(.error(e.line))
            case .success(let record):
                let now = engine.expiryNowMs
                let live = record?.live(atMs: now) ?? []
                guard let value = live.first else { return reply.reply(.integer(-2)) }
                if live.count > 1 { return reply.reply(.error("CONFLICT \(live.count) siblings, read them with GETV")) }
                reply.reply(.integer(ClientCommands.ttlReply(name, expiresAtMs: value.expiresAtMs, nowMs: now)))
            }
        }
    }

    /// Redis 7's ttlGenericCommand and expiretimeCommand for a present key: -1 without an
    /// expiry; TTL and EXPIRETIME round milliseconds to the nearest second, as Redis does
    /// (`(ms + 500) / 1000`), so a client sees the same second from either server.
    static func ttlReply(_ name: String, expiresAtMs: UInt64, nowMs: UInt64) -> Int64 {
        guard expiresAtMs != 0 else { return -1 }
        let remaining = Int64(expiresAtMs) - Int64(nowMs)
        switch name {
        case "TTL": return (max(0, remaining) + 500) / 1000
        case "PTTL": return max(0, remaining)
        case "EXPIRETIME": return (Int64(expiresAtMs) + 500) / 1000
        default: return Int64(expiresAtMs)
        }
    }
}
